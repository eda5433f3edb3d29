"""Batched evaluation of a fitted network: ``transform``, the scores and
``inverse_transform`` run through :func:`run_batches`, the codes of the
training rows through :func:`training_code_batches` (eval mode, no
gradients, a batch of rows at a time).
Also the float64 copy of a network that float64 input runs through on the
CPU, the snapshot that inference methods read the fitted state from, the
limits of ``scale_`` that ``score_samples`` can score in float64, and
:class:`Reconstruction`, a mixin of the estimators' base (``score`` and the
imputer's reconstruction).
"""

import copy
import functools
import threading
import weakref

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_is_fitted

from ._data import Normalisation

#: Rows per forward pass in transform / inverse_transform / score_samples ...
INFERENCE_BATCH_SIZE = 4096
#: ... and at most this many entries (rows x features) per pass, so that a
#: wide input (a sparse matrix with 50k columns, say) is densified in batches
#: of tens of MB, not GB.
INFERENCE_BATCH_ENTRIES = 2**22

#: Beyond this scale_, a squared error in X's units overflows float64.
LARGEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).max))
#: Below this scale_, scale_**2 is no normal float64 (subnormal or zero) ...
SMALLEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).tiny))
#: ... and below this one, a squared error the size of the data's own
#: variance (scale_**2) is a subnormal float64 with fewer significant bits
#: than float32 (the network's precision) has, and zero below ~2e-162.
SMALLEST_SCORABLE = float(
    np.sqrt(np.finfo(np.float64).smallest_subnormal / np.finfo(np.float32).eps)
)


def inference_batch_rows(n_features):
    """Rows per inference batch for inputs of ``n_features`` columns."""
    by_entries = INFERENCE_BATCH_ENTRIES // max(n_features, 1)
    return max(1, min(INFERENCE_BATCH_SIZE, by_entries))


#: Process-wide: module -> (parameter versions, its float64 copy), for
#: float64 inference on the CPU. A cache so that the copy is made once per
#: trained network, not once per call; weak keys, so it is dropped with the
#: module; never pickled. The lock makes it safe for threads that transform
#: with one model at once.
_FLOAT64_COPIES = weakref.WeakKeyDictionary()
_FLOAT64_LOCK = threading.Lock()


def _float64_copy(module):
    """A float64 copy of ``module``, cached while its weights are unchanged
    (torch's version counters tell an in-place update)."""
    versions = tuple(t._version for t in module.state_dict().values())
    with _FLOAT64_LOCK:
        cached = _FLOAT64_COPIES.get(module)
        if cached is not None and cached[0] == versions:
            return cached[1]
    double = copy.deepcopy(module).double().eval()
    with _FLOAT64_LOCK:
        _FLOAT64_COPIES[module] = (versions, double)
    return double


def view(estimator):
    """A new instance of the estimator's class whose ``__dict__`` is a copy of
    the estimator's (one C-level copy, atomic under the GIL)."""
    snapshot = object.__new__(type(estimator))
    snapshot.__dict__ = estimator.__dict__.copy()
    return snapshot


def reads_fitted_state(method):
    """Run an inference method on a snapshot of the fitted state, so that a
    concurrent refit cannot mix an old network with new statistics."""

    @functools.wraps(method)
    def on_snapshot(self, *args, **kwargs):
        return method(view(self), *args, **kwargs)

    return on_snapshot


def run_batches(estimator, fn, X, normalise=False, dtype=None, sparse=False):
    """Apply ``fn(module, batch)`` to X in eval mode, without gradients,
    with the fitted ``estimator``'s network.

    With ``normalise``, each batch is first mapped into the units the net
    trained in (one batch at a time: no full-size copy of X; sparse X is
    densified a batch at a time). ``fn`` receives a tensor of its own,
    never X's memory: a module may write to its input, X stays as it was
    (an ``fn`` that reads its batch after the module ran must keep a copy
    first). The result has X's dtype unless
    ``dtype`` says otherwise. On the CPU,
    float64 input runs through a float64 copy of the module, so each
    row's result does not depend on which rows share its batch (float32
    matrix products do, in the last bit); otherwise float32. With
    ``sparse``, the result is a CSR matrix of the non-zero entries, each
    batch's made as it comes: no dense result of all the rows exists.
    Batches hold at most :data:`INFERENCE_BATCH_ENTRIES` entries of the
    input and of the code.
    """
    module = estimator.net_.module_
    device = torch.device(estimator.net_.device)
    offset, scale = estimator.offset_, estimator.scale_
    out_dtype = X.dtype if dtype is None else dtype
    if X.dtype == np.float64 and device.type == "cpu":
        module = _float64_copy(module)
        dtype = np.float64
    else:
        dtype = np.float32
    # x / scale - offset / scale: no overflow where the result has none
    shift = torch.as_tensor((offset / scale).astype(dtype), device=device)
    module.eval()
    parts = []
    with torch.inference_mode():
        rows = inference_batch_rows(
            max(X.shape[1], estimator.n_features_in_, estimator.n_components_)
        )
        for start in range(0, X.shape[0], rows):
            batch = X[start : start + rows]
            owned = sp.issparse(batch)  # an array of ours, not the caller's
            if owned:
                batch = batch.toarray()
            scaled = normalise and batch.dtype == np.float64 and dtype != batch.dtype
            if scaled:
                # float64 X for a float32 network (on a GPU): normalise in
                # float64 first, so values beyond float32's range survive
                batch = Normalisation(offset, scale).apply(batch, dtype)
                owned = True
            if not (
                batch.dtype == dtype
                and batch.flags.writeable
                and batch.flags.c_contiguous
            ):
                # torch warns about (and must not write to) read-only
                # memory, e.g. the memmaps joblib hands its workers, and
                # cannot wrap negative strides
                batch = np.array(batch, dtype=dtype, order="C")
                owned = True
            batch = torch.from_numpy(batch).to(device)
            if normalise and not scaled:
                batch = batch.div(scale).sub_(shift)  # one temporary
            elif not owned and device.type == "cpu":
                # the caller's memory, which a module may write to (a first
                # layer nn.ReLU(inplace=True)): a copy of the batch (on an
                # accelerator, .to(device) made one)
                batch = batch.clone()
            part = fn(module, batch).cpu().numpy()
            if sparse:
                part = sp.csr_matrix(part.astype(out_dtype, copy=False))
            parts.append(part)
    if not parts:
        return np.empty((0, 0), dtype=out_dtype)
    if sparse:
        out = sp.vstack(parts, format="csr")
        finite = np.isfinite(out.data).all()
    else:
        out = np.concatenate(parts).astype(out_dtype, copy=False)
        finite = np.isfinite(out).all()
    if not finite:
        if normalise:
            # inference skips validate_data's finiteness pass over all of
            # X (a float64 sum, as long as the encoder on 784 columns):
            # NaN and inf propagate through the network, so they are
            # looked for, with scikit-learn's messages, only here
            assert_all_finite(
                X, input_name="X", estimator_name=type(estimator).__name__
            )
        raise ValueError(
            "The network's output overflowed (non-finite values): the input "
            "has values far outside the range of the training data. Check X "
            "for extreme values."
        )
    return out


def training_row_batches(estimator, X_train):
    """The normalised float32 rows the network trained on, ``X_train``, a
    batch at a time and as the network saw them (missing entries filled
    in), with the network in eval mode: batches whose codes hold at most
    :data:`INFERENCE_BATCH_ENTRIES` entries, so that no code of all the rows
    need exist at once (a wide code on many rows would not fit in memory).
    Iterate inside ``torch.inference_mode()``."""
    net = estimator.net_
    net.module_.eval()
    rows = inference_batch_rows(max(estimator.n_features_in_, estimator.n_components_))
    for start in range(0, len(X_train), rows):
        batch = X_train[start : start + rows]
        yield batch if net.missing is None else net.missing.fill_in(batch)


def training_code_batches(estimator, X_train):
    """The trained network's codes of ``X_train`` (see
    :func:`training_row_batches`), a batch of rows at a time: float32
    tensors on the network's device, without gradients.

    Cheaper than ``transform`` on the raw X: no second normalisation
    and, for float64 X on the CPU, no float64 copy of the network.
    """
    module = estimator.net_.module_
    with torch.inference_mode():
        for batch in training_row_batches(estimator, X_train):
            yield estimator._encode(module, batch)


class Reconstruction:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: the reconstruction's
    uses beside the public transforms, the imputer's engine
    (:meth:`_reconstruct_missing`) and :meth:`score`."""

    @reads_fitted_state
    def _reconstruct_missing(self, X):
        """The reconstruction of X in X's units, NaN entries of X treated as
        missing (fed as their feature's mean); the imputer's engine. For a
        table, a pandas DataFrame of its columns and fitted dtypes (a
        categorical column's most likely level), its missing entries (NaN,
        None, pd.NA) fed as the encoded column's mean over the observed
        training rows (a one-hot block: the levels' frequencies)."""
        check_is_fitted(self)
        X_given = X
        X = self._inference_input(
            X, missing=True, ensure_all_finite="allow-nan", accept_sparse=False
        )
        missing = self.net_.missing

        def reconstruct(module, x):
            if missing is not None:
                x = missing.fill_in(x)
            return self._decode_mean(module, self._encode(module, x))

        out = run_batches(self, reconstruct, X, normalise=True)
        table = getattr(self, "table_", None)
        if table is not None:
            return table.decode(out, index=getattr(X_given, "index", None))
        return Normalisation(self.offset_, self.scale_).invert(out)

    def score(self, X, y=None):
        """Return minus the mean squared reconstruction error per entry of X.

        With no ``scoring``, cross-validated search therefore selects the
        model that reconstructs held-out data best, as with PCA's ``score``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data in the units the model was fitted on.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Higher is better.
        """
        return float(np.mean(self.score_samples(X)))
