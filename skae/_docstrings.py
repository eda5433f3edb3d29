"""Parameter and attribute text shared by every estimator's docstring.

Written once here (imbalanced-learn's way) and spliced into each class
docstring with :func:`fill_doc`.
"""

_SHARED = {
    "base_params": """\
hidden_layer_sizes : array-like of int, default=(256,)
        Widths of the encoder's hidden layers, from the input towards the code;
        the decoder mirrors them. ``()`` gives a single linear layer each way.

    activation : {"relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", \
"tanh", "sigmoid", "logistic", "identity"}, default="relu"
        Activation after every hidden layer. ``"logistic"`` is an alias of
        ``"sigmoid"``; ``"identity"`` makes the whole network linear.

    loss : {"auto", "mse", "bce"}, default="auto" ("mse" for SparseAutoencoder)
        Reconstruction loss. ``"mse"``: squared error on the data centred per
        feature and divided by one global scale, with a linear output.
        ``"bce"``: binary cross-entropy between a sigmoid output and the data
        mapped (by its global minimum and maximum) onto [0, 1]; suits pixel
        intensities, binary features and other data with a floor and a
        ceiling. ``"auto"`` picks ``"bce"`` when at least 10% of X's entries
        sit at X's global minimum or maximum and each of the two holds at
        least 0.1% of them (raw MNIST pixels: 81% at 0, 0.6% at 255), else
        ``"mse"`` (standardised or heavy-tailed data, where ``"bce"`` loses
        to PCA). The choice is stored in ``loss_``. ``SparseAutoencoder``
        defaults to ``"mse"``: the scale of its ``alpha`` and its measured
        sparsity curve are for squared error (with ``"bce"`` on the digits,
        L1 sparsity fell again as ``alpha`` rose past 1).

    dropout : float, default=0.0
        Dropout probability after every hidden activation (training only).

    weight_decay : float, default=0.0
        L2 penalty on the weights (Adam's ``weight_decay``).

    batch_size : int, default=128
        Mini-batch size; more than ``n_samples`` simply means one batch.

    learning_rate_init : float, default=1e-3
        Adam's learning rate.

    max_iter : int, default=200
        Maximum number of epochs.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (shuffled, seeded
        by ``random_state``), stop when the validation loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and restore the weights of the
        best epoch. When False, training stops on the same rule applied to the
        training loss, and keeps the last weights.

    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Minimum improvement of the monitored loss (in normalised units).

    device : str or torch.device, default="auto"
        ``"auto"`` (a CUDA GPU when torch sees one, else an Apple MPS device,
        else the CPU), or any device torch accepts, as a string or a
        ``torch.device``: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``,
        ``"xpu"``, ... Asking for a device this machine lacks, or one torch
        does not know, raises a ValueError at ``fit``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. An
        int gives bit-identical results on the CPU. The caller's global torch
        and numpy random states are left untouched.

    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch progress table.

    warm_start : bool, default=False
        When True and already fitted, ``fit`` continues training the fitted
        network (same architecture and normalisation) for up to ``max_iter``
        more epochs. Adam's moment estimates start afresh: a fitted model
        keeps no optimizer state.""",
    "base_attributes": """\
n_components_ : int
        Width of the code.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    loss_ : {"mse", "bce"}
        The loss trained with (``loss`` with ``"auto"`` resolved).

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
        ``partial_fit`` calls since the first.

    loss_curve_ : list of float
        Mean training loss per epoch, on the normalised data.

    validation_scores_ : list of float or None
        Minus the validation loss per epoch when ``early_stopping=True``.

    best_validation_score_ : float or None
        The best of ``validation_scores_``.""",
}


def fill_doc(cls):
    """Substitute the shared ``{base_params}``-style fields in a docstring."""
    cls.__doc__ = cls.__doc__.format(**_SHARED)
    return cls
