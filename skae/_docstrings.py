"""Parameter and attribute text shared by every estimator's docstring.

Written once here (imbalanced-learn's way) and spliced into each class
docstring by :func:`fill_doc`, which lists the parameters in the order of the
class's signature and writes each ``default=`` from it, so the text cannot
drift from the code. A class overrides a parameter's text with a
``_param_docs`` dict.
"""

import inspect

#: name -> (type, description); descriptions are indented by 4 spaces.
PARAM_DOCS = {
    "n_components": (
        "int",
        """Width of the code (the number of output features of ``transform``).""",
    ),
    "encoder": (
        "torch.nn.Module or None",
        """Your own encoder body (see :mod:`skae.nn` for the contract): it
    receives ``(batch, n_features)`` rows in the network's units and
    returns ``(batch, ...)``; skae adds the code head. None builds
    :class:`skae.nn.MLPEncoder` from ``hidden_layer_sizes``, ``activation``
    and ``dropout``. The module is copied for each fit, never changed.""",
    ),
    "decoder": (
        "torch.nn.Module or None",
        """Your own decoder body: it receives codes ``(batch, n_components)``
    and returns ``(batch, ...)``; skae adds a linear output layer when that
    is not ``n_features`` wide, then the loss's output map. None builds
    :class:`skae.nn.MLPDecoder` from ``decoder_layer_sizes``.""",
    ),
    "hidden_layer_sizes": (
        "array-like of int",
        """Widths of the default encoder's hidden layers, from the input towards
    the code. ``()`` gives a single linear layer each way (then
    ``activation`` has no layer to act on and must keep its default).""",
    ),
    "decoder_layer_sizes": (
        "array-like of int or None",
        """Widths of the default decoder's hidden layers, from the code towards
    the output; None mirrors ``hidden_layer_sizes`` (an asymmetric decoder,
    e.g. ``hidden_layer_sizes=(128, 64), decoder_layer_sizes=(256,)``).""",
    ),
    "activation": (
        '{"elu", "gelu", "identity", "leaky_relu", "logistic", "prelu", "relu", '
        '"selu", "sigmoid", "silu", "tanh"}',
        """Activation after every hidden layer of the default encoder and decoder.
    ``"logistic"`` is an alias of ``"sigmoid"``; ``"identity"`` makes those
    layers linear.""",
    ),
    "code_activation": (
        "str or None",
        """Activation applied to the code itself (any name of ``activation``);
    None keeps a linear code, like PCA's. ``"relu"`` with ``penalty="l1"``
    is the textbook sparse code, with exact zeros: under ``"l1"`` each unit
    is standardised (centred, unit variance over the batch) before the
    activation, so that no ReLU unit can switch off for good
    (``n_dead_components_`` counts those that did).""",
    ),
    "init": (
        '{"auto", "pca", "random"}',
        """How the network starts. ``"random"``: skae's MLP blocks with
    random weights. ``"pca"``: the same blocks beside a linear path
    (:class:`skae.nn.Shortcut`: the code head reads the input, the output
    head the code, each beside the hidden layers' features), started at
    PCA of the training rows: the path maps a row onto its first
    ``n_components`` principal axes and back, the hidden layers' weights
    in the two heads start at 0, so the untrained network reconstructs as
    ``PCA(n_components)`` does on the rows in the network's units (the
    Gaussian outputs exactly; the others read PCA's values through their
    output map: ``"bce"``'s sigmoid, a categorical column's softmax; a
    ``code_activation``, or the ``"kl"`` penalty's sigmoid, acts on PCA's
    coordinates, so that start is not PCA's), and training goes on from
    there. On a table fitted without ``noise`` (not by the VAE), the
    numeric columns are then held at 60% of the squared error PCA leaves of
    them on the training rows: their loss is weighted by a multiplier that
    rises while they are above it and falls below, and the rest of the code
    goes to the categorical columns (see the user guide's "Tables").
    ``"auto"``: ``"pca"`` on a table reconstructed by skae's own blocks
    without ``noise`` or ``penalty`` (not for the VAE), else ``"random"``.
    ``"pca"`` needs skae's blocks: with your own ``encoder`` or ``decoder``
    it is an error.""",
    ),
    "loss": (
        '{"auto", "mse", "bce"}',
        """Reconstruction loss. ``"mse"``: squared error on the data centred per
    feature and divided by one global scale, with a linear output.
    ``"bce"``: binary cross-entropy between a sigmoid output and the data
    mapped (by its global minimum and maximum) onto [0, 1]; suits pixel
    intensities, binary features and other data with a floor and a ceiling.
    ``"auto"`` picks ``"bce"`` when at least 10% of X's entries sit at X's
    global minimum or maximum and each of the two holds at least 0.1% of
    them (raw MNIST pixels: 81% at 0, 0.6% at 255), else ``"mse"``
    (standardised or heavy-tailed data, where ``"bce"`` loses to PCA). The
    choice is stored in ``loss_``.""",
    ),
    "categorical_features": (
        '"from_dtype", array-like of int, str or bool, or None',
        """Which columns of a table are categorical, as in
    :class:`~sklearn.ensemble.HistGradientBoostingRegressor`: ``"from_dtype"``
    takes the columns of a pandas or polars DataFrame whose dtype holds
    labels (``category``, ``object``, ``string``; booleans are read as
    Bernoulli columns), ``None`` none, else the columns' indices, names (a
    DataFrame's) or a boolean mask. A table (a DataFrame with such columns,
    or any X with ``categorical_features`` selecting a column or with
    ``column_likelihoods``) is encoded inside the estimator: numeric columns
    standardised robustly (median, interquartile range), a categorical column
    as a one-hot block read by a softmax likelihood (two levels: one
    Bernoulli entry); the loss has one term a column, its negative
    log-likelihood relative to its value at the column's marginal (each
    column counting once, whatever its kind or number of levels), and
    ``inverse_transform``
    returns the original columns and dtypes (see the user guide's "Tables"
    section; the fitted encoding is ``table_``). A numeric array or a
    numeric-only DataFrame takes the numeric path, as without it.""",
    ),
    "column_likelihoods": (
        "dict or None",
        """The likelihood of chosen columns of a table, a dict mapping column
    (name, or index for an array) to ``"gaussian"``, ``"bernoulli"`` (two
    levels), ``"categorical"`` or ``"poisson"`` (counts: non-negative
    integers); the other columns get theirs from their dtype and
    ``categorical_features``. Setting it makes X a table. ``None``: every
    column from its dtype.""",
    ),
    "penalty": (
        "str or None",
        """Penalty R(z) on the code, added to the loss with weight ``alpha``:
    ``"l1"`` (mean ``|z|`` on the code divided by each unit's running RMS:
    sparsity that shrinking cannot fake), ``"l2"`` (mean z² on the raw
    code: small, smooth codes), ``"kl"`` (a sigmoid code and the mean over
    units of KL(ρ ‖ ρ̂ⱼ), ρ = ``sparsity_target``: the classic sparse
    autoencoder), ``"contractive"`` (the mean squared Frobenius norm of the
    encoder's Jacobian, see :class:`ContractiveAutoencoder`), ``"topk"``
    and ``"batchtopk"`` (a linear TopK autoencoder with
    ``n_nonzero_coefs`` active units per row, see :class:`SparseAutoencoder`;
    not for the VAE), or None. For the VAE it applies to the posterior
    mean.""",
    ),
    "alpha": (
        "float",
        """The strength λ of ``penalty``; for ``"topk"`` and ``"batchtopk"``,
    the weight of the auxiliary loss AuxK on dead code units (Gao et al.
    use 1/32; 0 turns it off). With ``penalty=None`` it has no effect,
    and a value other than the default or 0.0 is an error.""",
    ),
    "target_weight": (
        "float",
        """The supervised option: the weight of a target's loss beside the
    reconstruction's. 0 (the default) fits unsupervised codes and ignores
    ``y``. Above 0, ``fit(X, y)`` also trains a linear head on the code
    (the posterior mean for the VAE) to predict ``y``: a softmax over
    ``classes_`` for labels (integers, booleans, strings), the squared
    error on the standardised target for a float ``y`` (one column or
    several); the loss is the reconstruction's (plus any penalty) +
    ``target_weight`` × the head's, the validation loss of
    ``early_stopping`` included. Rows whose target is unknown (NaN, or
    None in an object ``y``) train the reconstruction only. ``transform``
    never needs ``y``. Tune it like ``alpha`` (``GridSearchCV`` over
    ``[0, 0.3, 1, 3]``, say) so the search chooses between unsupervised
    and supervised codes. Switching it between 0 and above 0 on a fitted
    model changes the network: a warm start or ``partial_fit`` refuses
    it.""",
    ),
    "sparsity_target": (
        "float",
        """The target mean activation ρ of each code unit for ``penalty="kl"``;
    with any other penalty, a value other than the default is an error.""",
    ),
    "n_nonzero_coefs": (
        "int or None",
        """The number k of active code units per row for ``penalty="topk"``
    (scikit-learn's name in ``OrthogonalMatchingPursuit``): at least 1,
    below ``n_components`` and at most ``n_features``. None takes 10% of
    ``n_components`` (at least 1). With ``"batchtopk"``, k is the mean per
    row. With any other penalty, a value other than the default is an
    error.""",
    ),
    "sparse_output": (
        "bool",
        """Whether ``transform`` returns a ``scipy.sparse`` CSR matrix of the
    code's non-zero entries (made a batch at a time, so that no dense
    n_samples x n_components array exists), as ``OneHotEncoder``'s
    parameter does; for TopK codes. ``inverse_transform`` accepts either.""",
    ),
    "noise": (
        '{"gaussian", "masking"} or None',
        """Corruption of the training inputs (the target stays clean):
    ``"gaussian"`` adds independent normal noise to every entry,
    ``"masking"`` replaces a random subset of entries by their feature's
    mean over the training data; None trains on the inputs as given.
    ``transform`` never corrupts.""",
    ),
    "noise_level": (
        "float",
        """For ``noise="gaussian"``, the noise's standard deviation as a
    fraction of the training data's global standard deviation (over all
    entries); for ``"masking"``, the fraction of entries replaced (below
    1). With ``noise=None`` it has no effect, and a value other than the
    default or 0.0 is an error.""",
    ),
    "dropout": (
        "float",
        """Dropout probability after every hidden activation of the default
    encoder and decoder (training only). Where no such layer is built, a
    value other than the default or 0.0 is an error.""",
    ),
    "weight_decay": (
        "float",
        """L2 penalty on the weights (Adam's ``weight_decay``).""",
    ),
    "batch_size": (
        "int",
        """Mini-batch size; more than ``n_samples`` simply means one batch.""",
    ),
    "learning_rate": (
        "{'one_cycle', 'constant'}",
        """The learning-rate schedule of ``fit``. ``"one_cycle"``: torch's
    ``OneCycleLR`` over the fit's epochs, stepped every batch; the rate
    rises from ``learning_rate_init / 25`` to ``learning_rate_init`` over
    the first 30% of the steps, then falls along a cosine to almost 0
    (Adam's β₁ moves between 0.95 and 0.85 the other way). ``"constant"``:
    ``learning_rate_init`` throughout. ``partial_fit`` always trains at
    ``learning_rate_init``. A skorch ``LRScheduler`` in ``callbacks`` takes
    the place of this schedule.""",
    ),
    "learning_rate_init": (
        "float",
        """Adam's learning rate: the peak of the ``"one_cycle"`` schedule, the
    rate throughout for ``"constant"`` and for ``partial_fit``.""",
    ),
    "max_iter": (
        "int or 'auto'",
        """Maximum number of epochs of ``fit``. ``"auto"``: about 2500
    optimizer steps, ``ceil(2500 / batches per epoch)`` epochs, at most 200
    (at ``batch_size=128``: 200 epochs up to 1536 rows, 79 on 4000 rows, 6
    on 60000).""",
    ),
    "early_stopping": (
        "bool",
        """Hold out ``validation_fraction`` of the training rows (shuffled, seeded
    by ``random_state``), stop when the validation loss has not improved by
    ``tol`` for ``n_iter_no_change`` epochs, and restore the weights of the
    best epoch. When False, training stops on the same rule applied to the
    training loss, and keeps the last weights.""",
    ),
    "validation_fraction": (
        "float",
        """Fraction of rows held out when ``early_stopping=True``; without
    early stopping, a value other than the default is an error.""",
    ),
    "n_iter_no_change": (
        "int",
        """Epochs without an improvement of at least ``tol`` before stopping.""",
    ),
    "tol": (
        "float",
        """Minimum improvement of the monitored loss (in normalised units).""",
    ),
    "callbacks": (
        "list of skorch callbacks or None",
        """Skorch callbacks added to skae's own for every fit: instances of
    ``skorch.callbacks.Callback`` or ``(name, callback)`` pairs, e.g.
    ``LRScheduler``, ``Checkpoint``, ``ProgressBar``, ``EarlyStopping`` or
    your own. Each fit trains with deep copies (never shared between fits
    or clones). A callback may stop training early (as ``EarlyStopping``
    does, by raising ``KeyboardInterrupt``): the fit then ends normally,
    without a ConvergenceWarning, keeping the epochs it completed; a real
    Ctrl-C still reaches you. A callback that monitors a validation score
    (``EarlyStopping`` and ``Checkpoint`` at their defaults) needs
    ``early_stopping=True``; without it the fit raises a ValueError saying
    so. skae's divergence guard keeps running.""",
    ),
    "device": (
        "str or torch.device",
        """``"auto"`` (a CUDA GPU when torch sees one, else an Apple MPS device,
    else the CPU), or any device torch accepts, as a string or a
    ``torch.device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``,
    ``"xpu"``, ... Asking for a device this machine lacks, or one torch
    does not know, raises a ValueError at ``fit``.""",
    ),
    "strategy": (
        '{"ddp"} or None',
        """How ``fit`` and ``partial_fit`` spread the training over processes
    (PyTorch Lightning's name). None trains in this process. ``"ddp"``:
    data-parallel training over the processes of a torch.distributed
    process group (started by ``torchrun``, ``accelerate launch``, Ray
    Train or Spark's ``TorchDistributor``; see :mod:`skae.distributed`),
    every process calling the same method with its own rows and the same
    parameters (``verbose``, ``random_state`` and a GPU's index may
    differ): the normalisation, ``loss="auto"``, the epochs, the schedule
    and each epoch's losses (so early stopping) are agreed over all ranks'
    rows, gradients are averaged by ``DistributedDataParallel`` (gloo on
    the CPU, NCCL on CUDA, where each process trains on
    ``cuda:LOCAL_RANK``), and every rank ends with the same fitted
    estimator (rank 0's), a plain one that pickles and transforms without
    a group. ``batch_size`` is per process (a step sees ``batch_size``
    times the number of processes rows) and the learning rate is not
    scaled; a process with fewer rows reshuffles its rows to make as many
    steps per epoch as the one with the most. Without a process group
    (nor torchrun's environment variables, from which ``fit`` starts one),
    a RuntimeError names ``torchrun --nproc_per_node=N script.py``. With
    ``target_weight > 0``, ``classes_`` are the union of every rank's
    labels and a regression target's standardisation is pooled over every
    rank's known targets; in :class:`AutoencoderImputer`, the
    statistics of the observed entries are pooled over every rank's
    rows.""",
    ),
    "random_state": (
        "int, RandomState instance or None",
        """Seeds weight initialisation, shuffling, corruption, dropout, the
    VAE's draws and the validation split, and the draws of your own
    ``encoder`` or ``decoder`` from torch's global generator. An int gives
    bit-identical results on the CPU, also for fits running in parallel
    threads. The caller's global torch and numpy random states are left
    untouched.""",
    ),
    "verbose": (
        "int",
        """0 is silent. 1: a progress bar over the epochs on a terminal (tqdm),
    else one plain line per epoch (``epoch k/N``, the losses, the time left
    at most); 2: plain lines with every recorded term. Both print a header
    and a closing line saying why training stopped (and which epoch's
    weights early stopping restored). No colour codes.""",
    ),
    "warm_start": (
        "bool",
        """When True and already fitted, ``fit`` continues training the fitted
    network (same architecture and normalisation) for up to ``max_iter``
    more epochs; a parameter that would change the network (its layers,
    activations, code width, penalty kind, loss, device) is a ValueError,
    the others take effect. Adam's moment estimates start afresh: a
    fitted model keeps no optimizer state.""",
    ),
}

_ATTRIBUTES = """\
n_components_ : int
        Width of the code.

    n_features_in_ : int
        Number of features seen during fit (a table's columns).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    loss_ : {"mse", "bce", "table"}
        The loss trained with (``loss`` with ``"auto"`` resolved; ``"table"``
        for a table, whose columns' likelihoods ``table_`` holds).

    table_ : TableEncoding or None
        The fitted encoding of a table (see ``categorical_features``): each
        column's kind (``table_.columns``) and the likelihood of the
        encoded matrix; None for numeric input.

    offset_ : ndarray of shape (`n_features_in_`,)
        Per-feature shift of the internal normalisation (the feature means for
        ``loss="mse"``; the global minimum for ``loss="bce"``).

    scale_ : float
        Global scale of the internal normalisation (the root mean square of
        the centred data for ``"mse"``; max - min for ``"bce"``).

    net_ : skorch.NeuralNet
        The trained skorch net; its ``module_`` is the torch module and its
        ``history`` the per-epoch log.

    n_iter_ : int
        Number of epochs trained (accumulates over warm starts and
        ``partial_fit`` calls, one epoch each).

    n_samples_seen_ : int
        Rows trained on: by the last ``fit``, or summed over the
        ``partial_fit`` calls since the first (rows of ``sample_weight`` 0
        left out; the others count once, whatever their weight).

    loss_curve_ : list of float
        Mean training loss per epoch, on the normalised data.

    n_dead_components_ : int
        Code units that are exactly zero on every row of the data of the
        last ``fit`` or ``partial_fit`` call (the chunk), for the network as
        it is after that call: they carry nothing about the data. For a
        ReLU code, the units never positive on those rows; a linear code or
        a smooth activation is exactly zero on every row only when its unit
        is cut off (its weights vanished, a sigmoid saturated), so this is
        0 for them in practice. ``fit`` warns when it is not 0.

    validation_scores_ : list of float or None
        Minus the validation loss per epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best of ``validation_scores_``.

    target_type_ : {"binary", "multiclass", "continuous", \
"continuous-multioutput"}
        The supervised option's task (scikit-learn's names); set only by a
        fit with ``target_weight > 0``, as are the three below.

    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted, of a classification target.

    target_mean_ : ndarray of shape (n_targets,)
        Per-target mean of the known values of a regression target ...

    target_scale_ : ndarray of shape (n_targets,)
        ... and their standard deviation (1 for a constant target): the
        head predicts ``(y - target_mean_) / target_scale_``."""


def _render_params(cls):
    docs = {**PARAM_DOCS, **getattr(cls, "_param_docs", {})}
    entries = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        kind, text = docs[name]
        entries.append(f"{name} : {kind}, default={param.default!r}\n    {text}")
    # the class docstring indents this block by 4 spaces after its first line
    return "\n\n".join(entries).replace("\n", "\n    ")


def fill_doc(cls):
    """Substitute ``{params}`` (every parameter, in signature order) and
    ``{base_attributes}`` in a class docstring."""
    cls.__doc__ = cls.__doc__.format(
        params=_render_params(cls), base_attributes=_ATTRIBUTES
    )
    return cls
