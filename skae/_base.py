"""The shared base of every skae estimator: the public face (``fit``,
``partial_fit``, ``transform``, ``inverse_transform``, ``score_samples``),
the parameter constraints, the tags and the hooks a variant overrides.

The work happens in rooms of its own, some as mixins of
:class:`BaseAutoencoder` (one concern each, holding no state of their own):

- ``_training``: the one training path (``_fit``) and its steps, the update
  made atomic, the data prepared, the fitted attributes published (the
  mixin ``TrainingSteps``), and a training run (epochs, seeding, callbacks,
  the one net builder);
- ``_data``: validation, normalisation, the training rows;
- ``_inference``: batched evaluation; ``score`` and the imputer's
  reconstruction (``Reconstruction``);
- ``_params``: the parameter table and its checks; another library's
  parameter names refused (``ParameterNames``);
- ``_tabular``: a mixed-type table's path, ``table_`` (``TableInput``);
- ``_target``: the supervised option's targets (``SupervisedTargets``);
- ``_topk``: ``components_`` (``DictionaryAtoms``);
- ``_pickling``: a pickle read back, older ones included (``PickleState``).

A variant is a small class that writes its ``__init__`` out
(``tests/test_signatures.py`` checks it against the table in ``_params``)
and overrides, where it needs them, the hooks at the bottom of
:class:`BaseAutoencoder`. Its objective is a choice of the pieces in
``_objectives`` (likelihood, code penalty, corruption), which every
estimator accepts.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, _fit_context, _get_container_adapter
from ._data import Normalisation, validate_X
from ._inference import (
    LARGEST_SQUARABLE,
    SMALLEST_SCORABLE,
    SMALLEST_SQUARABLE,
    Reconstruction,
    reads_fitted_state,
    run_batches,
    training_code_batches,
)
from ._modules import Autoencoder
from ._net import AutoencoderNet
from ._objectives import likelihood, penalty_from_params
from ._params import ParameterNames, check_params
from ._pickling import PickleState
from ._tabular import TableInput
from ._target import SupervisedTargets
from ._topk import DictionaryAtoms
from ._training import TrainingSteps


class BaseAutoencoder(
    ParameterNames,
    TableInput,
    SupervisedTargets,
    TrainingSteps,
    PickleState,
    DictionaryAtoms,
    Reconstruction,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared machinery of the skae estimators; not public.

    Subclasses write their ``__init__`` out (the parameters of
    ``_params.BASE_PARAMS``, then their own) and may override the hooks at
    the bottom: ``_requested_likelihood``, ``_likelihood_label``,
    ``_make_module``, ``_net_class``, ``_net_params``, ``_warmup_epochs``,
    ``_check_params``, ``_after_training`` and ``_record_history``.
    The fitted ``loss_`` ("mse" or "bce") names the likelihood piece, which
    picks the normalisation, the criterion and the output map.

    :class:`~skae.AutoencoderImputer` drives its estimator through two
    hooks: :meth:`_fit_missing` (fit on the observed entries) and
    :meth:`_reconstruct_missing` (reconstruct rows with missing entries).
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "hidden_layer_sizes": ["array-like"],
        "decoder_layer_sizes": ["array-like", None],
        "activation": [str],
        "code_activation": [str, None],
        "init": [StrOptions({"auto", "pca", "random"})],
        "loss": [StrOptions({"auto", "mse", "bce"})],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "column_likelihoods": [dict, None],
        "penalty": [str, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "target_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "n_nonzero_coefs": [Interval(Integral, 1, None, closed="left"), None],
        "sparse_output": ["boolean"],
        "noise": [StrOptions({"gaussian", "masking"}), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"one_cycle", "constant"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "strategy": [StrOptions({"ddp"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the autoencoder to X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; at least 2 samples. Sparse matrices (CSR or CSC)
            and ``np.memmap`` arrays are read one mini-batch at a time. A
            table (a pandas or polars DataFrame with categorical or boolean
            columns, see ``categorical_features``) is encoded inside, one
            likelihood a column; the encoding is ``table_``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
default=None
            The target of the supervised option (``target_weight > 0``): a
            head on the code learns to predict it beside the reconstruction.
            Labels (integers, booleans, strings) train a softmax over
            ``classes_``; floats a regression on the standardised target. An
            unknown target is NaN (None in an object ``y``): its row trains
            the reconstruction only. Ignored when ``target_weight=0`` (the
            default), as by any unsupervised transformer.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows: a row of weight 2 counts as that row twice,
            a row of weight 0 as removed (it is left out first). Each row's
            loss terms (its reconstruction error, the VAE's ELBO terms, the
            supervised head's loss, a per-row code penalty) are multiplied
            by its weight, a mini-batch's loss being the weighted mean
            ``sum w_i l_i / sum w_i``; the rows held out by
            ``early_stopping`` keep theirs. The normalisation (``offset_``,
            ``scale_``) and ``loss="auto"``'s choice are weighted too; a
            table's encoding (``table_``) and the target's classes and
            standardisation are not. None, or equal weights, train exactly
            as without weights. The user guide's *Sample weights* says
            what the penalties and the stochastic batches make of them.
            Not with ``strategy="ddp"`` (a ValueError).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._atomic(X, incremental=False, y=y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Train on one chunk of data: one epoch over X.

        Like ``IncrementalPCA.partial_fit``, for data that arrive in chunks
        or do not fit in memory at once (dask-ml's ``Incremental`` calls it
        once per block). The first call, on an unfitted estimator, builds
        the network and fixes the normalisation and the loss from that
        chunk; each call then trains one epoch over its chunk, in
        mini-batches of ``batch_size``, keeping Adam's state between calls.
        ``max_iter``, ``early_stopping`` and the stopping rule do not apply.
        Called on an estimator fitted by ``fit``, it continues training that
        network. Parameters that shape the network cannot change between
        calls (a ValueError names them); the others (learning rate, weight
        decay, alpha, beta, noise) take effect.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data; the first chunk needs at least 2
            samples and should span the data's range (its statistics fix
            the normalisation).
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
default=None
            The chunk's targets for the supervised option (``target_weight >
            0``), as for :meth:`fit`; the first call fixes the task, the
            classes and the target's standardisation. Ignored when
            ``target_weight=0``.
        classes : array-like of shape (n_classes,), default=None
            Every class label, for a classification target on the first call
            (as ``SGDClassifier.partial_fit`` takes them); None takes the
            classes of the first chunk's labels, and a later chunk with
            another label is refused. Ignored when ``target_weight=0``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the chunk's rows, as for :meth:`fit`; on the first
            call they weight the statistics that fix the normalisation.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._atomic(
            X, incremental=True, y=y, classes=classes, sample_weight=sample_weight
        )

    def _fit_missing(self, X, warn_cut_short=True, sample_weight=None):
        """Fit on X whose NaN entries are missing values (the imputer's
        engine): left out of the statistics and of the loss, and fed to the
        network as their feature's mean. ``warn_cut_short=False`` leaves out
        the ConvergenceWarning of a fit that ``max_iter`` cut short (for a
        default whose epochs are chosen for the imputation, not the loss),
        without touching the process's warning filters, which
        ``warnings.catch_warnings`` would, for every thread.
        ``sample_weight``: the rows' weights, as for :meth:`fit`."""
        return self._atomic(
            X,
            False,
            missing=True,
            warn_cut_short=warn_cut_short,
            sample_weight=sample_weight,
        )

    # ------------------------------------------------------------ inference

    @reads_fitted_state
    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data in the units the model was fitted on; for a model fitted on
            a table, a table with the same columns (levels unseen in fit,
            missing values and changed dtypes are refused, naming the
            column).

        Returns
        -------
        X_new : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_components)
            The codes, in X's float dtype (float32 stays float32); a CSR
            matrix of the non-zero entries with ``sparse_output=True``.
        """
        return self._transform(X, sparse=self.sparse_output)

    def _transform(self, X, sparse=False):
        """``transform`` without the ``set_output`` wrapping: an array, or
        with ``sparse`` a CSR matrix."""
        check_is_fitted(self)
        X = self._inference_input(X, ensure_all_finite=False)
        return run_batches(self, self._encode, X, normalise=True, sparse=sparse)

    @reads_fitted_state
    def inverse_transform(self, X):
        """Decode codes back to the input space, in the units of the fitted data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_components)
            Codes, e.g. the output of :meth:`transform` (a CSR matrix with
            ``sparse_output=True``).

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            The decoder's mean reconstruction, in the input's float dtype. A
            DataFrame (pandas or polars) when ``set_output`` (or scikit-learn's
            global ``transform_output``) asks for one, with the fitted
            feature names as columns (``x0``, ``x1``, ... without them) and
            the index of ``X`` when it has one. For a model fitted on a
            table, a DataFrame of its columns with their dtypes (categories
            as labels, the most likely level; polars for a polars table).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], accept_sparse="csr")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self.n_components_} features "
                "(the code width, n_components) as input."
            )
        out = Normalisation(self.offset_, self.scale_).invert(
            run_batches(self, self._decode_mean, Z)
        )
        # like transform, follow set_output: columns are the input features
        adapter = _get_container_adapter("transform", self)
        if getattr(self, "table_", None) is not None:
            return self._table_output(out, X, adapter)
        if adapter is None:
            return out
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.asarray(
                [f"x{i}" for i in range(self.n_features_in_)], dtype=object
            )
        return adapter.create_container(out, X, columns=names)

    @reads_fitted_state
    def score_samples(self, X):
        """Compute minus the mean squared reconstruction error of each sample.

        The error is measured in X's own units and averaged over features;
        higher is better, so low values flag unusual samples. For a model
        fitted on a table: minus the mean over columns of each column's
        negative log-likelihood above its floor, divided by its value at
        the column's marginal (about -1 for a row reconstructed no better
        than the column means and frequencies, 0 for an exact one): the
        training loss, but with the numeric columns read at their marginal
        variance, so that a row's score depends on that row only.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.

        Raises
        ------
        ValueError
            When squared errors in X's units overflow or underflow float64
            (``scale_`` above ~1e154 or below ~6e-159): rescale X.
        """
        check_is_fitted(self)
        if getattr(self, "table_", None) is not None:
            return self._table_scores(X)
        X = validate_X(self, X, reset=False, ensure_all_finite=False)

        if self.scale_ > LARGEST_SQUARABLE:
            raise ValueError(
                f"score_samples measures squared errors in X's units, and X's "
                f"spread (scale_={self.scale_:g}) makes them overflow float64. "
                "Rescale X (for example divide it by its largest absolute "
                "value) before fitting, or compare transforms instead."
            )

        if self.scale_ < SMALLEST_SCORABLE:
            raise ValueError(
                f"score_samples measures squared errors in X's units, and X's "
                f"spread (scale_={self.scale_:g}) makes them underflow float64 "
                "(their squares are below its smallest numbers, so every "
                "score would be about 0 and no sample would stand out). "
                "Rescale X (for example divide it by its largest absolute "
                "value) before fitting, or compare transforms instead."
            )
        scale = self.scale_
        tiny_scale = scale < SMALLEST_SQUARABLE

        def squared_error(module, x):
            # the input as given (a float64 copy), before a module that
            # writes to its input (nn.ReLU(inplace=True)) can change it
            target = x.to(torch.float64, copy=True)
            recon = self._decode_mean(module, self._encode(module, x))
            # in X's units: x - x̂ = scale_ · (x_n - x̂_n)
            mse = (target - recon.double()).pow(2).mean(dim=1)
            if tiny_scale:
                # scale_**2 is subnormal: one factor at a time, so that the
                # score is rounded once, not scale_**2 first
                return mse * scale * scale
            return mse * scale**2

        return -run_batches(self, squared_error, X, normalise=True, dtype=np.float64)

    @reads_fitted_state
    def _score_samples_per_feature(self, X):
        """``score_samples(X)`` split by feature, (n_samples, n_features)
        float64: minus each entry's squared reconstruction error in X's
        units over ``n_features`` (for a table, each column's weighted term
        over the number of columns), so a row sums to its score; None for a
        subclass whose ``score_samples`` is another score (the VAE's ELBO).
        The outlier detector's breakdown."""
        if type(self).score_samples is not BaseAutoencoder.score_samples:
            return None
        check_is_fitted(self)
        if getattr(self, "table_", None) is not None:
            # a table's score is minus its weighted column terms' mean
            return self._table_scores(X, per_column=True)
        X = validate_X(self, X, reset=False, ensure_all_finite=False)
        factor = self.scale_ / X.shape[1]  # times scale_ after: no overflow first

        def squared_errors(module, x):
            target = x.to(torch.float64, copy=True)  # before an in-place module
            recon = self._decode_mean(module, self._encode(module, x))
            return (target - recon.double()).pow(2)

        errors = run_batches(self, squared_errors, X, normalise=True, dtype=np.float64)
        return -(errors * factor) * self.scale_

    # ------------------------------------------------------------- helpers

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    # --------------------------------------------------------------- hooks

    def _check_params(self, X, incremental):
        """Checks that ``_parameter_constraints`` cannot express (a variant
        adds its own after these); with X=None, those that need no data."""
        check_params(self, X, incremental)

    #: Whether the objective itself keeps the code from copying the input
    #: (the VAE's KL term does): no overcomplete warning then.
    _regularised_code = False

    #: Whether ``init="auto"`` starts this estimator's network at PCA on a
    #: table (see :func:`skae._pca_start.uses_pca_start`).
    _table_start = True

    def _requested_likelihood(self):
        """The likelihood piece the parameters ask for, None for "auto"."""
        return None if self.loss == "auto" else likelihood(self.loss)

    def _likelihood_label(self, lik):
        """How error messages name a likelihood."""
        return f"loss={lik.loss!r}"

    def _make_module(self, encoder, decoder, n_features, params, lik):
        """The torch module around the encoder and decoder bodies (the
        penalty's, which may build its own network)."""
        penalty = penalty_from_params(params)
        if penalty is not None:
            return penalty.build_module(encoder, decoder, n_features, params, lik)
        return Autoencoder(
            encoder,
            decoder,
            n_features,
            params["n_components"],
            code_activation=params["code_activation"],
        )

    def _net_class(self):
        return AutoencoderNet

    def _net_params(self):
        """Extra keyword arguments of the net (the VAE's beta, ...)."""
        return {}

    def _warmup_epochs(self):
        """Epochs, counted over the net's whole history, whose loss is not yet
        the final objective (e.g. a KL warm-up): the stopping rule and the
        best-weights restore ignore them."""
        return 0

    def _encode(self, module, x):
        return module.encode(x)

    def _decode_mean(self, module, z):
        return self._fitted_likelihood().mean(module.decode(z))

    def _after_training(self, X_train):
        """Fitted diagnostics computed on the rows just trained on
        (``X_train``: the normalised rows, see
        :func:`~skae._data.training_rows`), one batch of codes at a time
        (a wide code on a large chunk would not fit in memory whole);
        called after ``fit`` and after every ``partial_fit``."""
        nonzero = torch.zeros(self.n_components_, dtype=torch.bool)
        for codes in training_code_batches(self, X_train):
            nonzero |= (codes != 0).any(dim=0).cpu()
        self.n_dead_components_ = int((~nonzero).sum())

    def _record_history(self, history):
        """Fitted attributes (a dict) read off the history beyond the
        training loss."""
        return {}
