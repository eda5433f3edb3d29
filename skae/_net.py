"""skorch plumbing: the nets whose ``get_loss`` holds each objective, plus the
tensor dataset, batch iterator, validation split and training monitor they use.

skorch runs the loop; everything here bends it through skorch's own hooks
(``get_loss``, ``train_split``, ``iterator_train``, callbacks).
"""

import math

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring

from ._losses import (
    gaussian_kl,
    kl_sparsity_penalty,
    l1_penalty,
    l2_penalty,
    reconstruction_log_likelihood,
)


class TensorDataset(torch.utils.data.Dataset):
    """The (already normalised, already on-device) training matrix.

    Items are ``(x, x)``: an autoencoder's target is its input.
    """

    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.X[i]


#: Rows per chunk when normalising a float64 X into float32.
_NORMALISE_CHUNK = 8192


def normalise(X, offset, scale, dtype):
    """``(X - offset) / scale`` as a new ``dtype`` array, X left untouched.

    Same dtype: one copy, computed in it (``X - offset`` with float64
    statistics would first make two float64 copies of a float32 X). A float64
    X into float32: computed in float64 a chunk at a time, then narrowed, so
    values beyond float32's range (1e39, say) stay finite.
    """
    if X.dtype == dtype:
        out = np.array(X, dtype=dtype, copy=True)
        out -= offset.astype(dtype, copy=False)
        out /= scale
        return out
    out = np.empty(X.shape, dtype=dtype)
    for start in range(0, X.shape[0], _NORMALISE_CHUNK):
        chunk = X[start : start + _NORMALISE_CHUNK].astype(np.float64) - offset
        chunk /= scale
        out[start : start + _NORMALISE_CHUNK] = chunk
    return out


class LazyRows:
    """Training rows normalised on demand, one batch at a time.

    Stands in for the normalised training tensor when X must not be copied
    whole: a scipy.sparse CSR matrix (densified a batch at a time) or an
    ``np.memmap`` (read a batch at a time). Indexing it with a slice or an
    index tensor returns the normalised float32 rows on ``device``, exactly
    what indexing the normalised tensor would return.
    """

    def __init__(self, X, offset, scale, device, rows=None):
        self.source = X
        self.rows = np.arange(X.shape[0]) if rows is None else rows
        self.offset = np.asarray(offset, dtype=np.float64)
        self.scale = scale
        self.device = torch.device(device)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, key):
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        block = self.source[np.atleast_1d(self.rows[key])]
        dense = block.toarray() if sp.issparse(block) else block
        # exactly as the estimator normalises a dense X
        rows = normalise(dense, self.offset, self.scale, np.float32)
        batch = torch.from_numpy(rows).to(self.device)
        return batch[0] if np.ndim(key) == 0 and not isinstance(key, slice) else batch

    def subset(self, rows):
        """The same source restricted to ``rows`` (positions in this one)."""
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return LazyRows(
            self.source, self.offset, self.scale, self.device, self.rows[rows]
        )

    def moments(self, entries=2**22):
        """Per-feature variance and mean of the normalised rows (float32
        tensors on the device, like ``torch.var_mean`` of the tensor), read
        in chunks of about ``entries`` values."""
        n = len(self)
        chunk = max(1, entries // self.source.shape[1])
        total = np.zeros(self.source.shape[1])
        squares = np.zeros(self.source.shape[1])
        for start in range(0, n, chunk):
            batch = self[start : start + chunk].double().cpu().numpy()
            total += batch.sum(axis=0)
            squares += np.einsum("ij,ij->j", batch, batch)
        mean = total / n
        var = np.maximum(squares / n - mean**2, 0.0)
        to = lambda a: torch.as_tensor(a, dtype=torch.float32).to(self.device)  # noqa: E731
        return to(var), to(mean)


def feature_moments(X_train):
    """Per-feature (variance, mean) of the normalised training rows."""
    if isinstance(X_train, LazyRows):
        return X_train.moments()
    return torch.var_mean(X_train, dim=0, unbiased=False)


class TensorBatches:
    """Whole-tensor mini-batches: one slice or gather per batch.

    Replaces torch's ``DataLoader`` for ``iterator_train``/``iterator_valid``;
    the default per-sample indexing and collation costs more than the step on a
    small net. Shuffling draws from torch's global generator, which the
    estimator seeds (inside ``fork_rng``) for the whole fit.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.X = dataset.X
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n, bs = len(self.X), self.batch_size
        if self.shuffle:
            order = torch.randperm(n).to(self.X.device)
            for start in range(0, n, bs):
                batch = self.X[order[start : start + bs]]
                yield batch, batch
        else:
            for start in range(0, n, bs):
                batch = self.X[start : start + bs]
                yield batch, batch


class ShuffledSplit:
    """``train_split`` that holds out a shuffled, seeded fraction.

    skorch's default ``ValidSplit`` takes the last rows unshuffled; this draws
    the held-out rows with ``np.random.RandomState(seed)``, like scikit-learn's
    ``MLPRegressor``, and holds out ``ceil(fraction * n_samples)`` of them.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = math.ceil(self.fraction * n)
        order = np.random.RandomState(self.seed).permutation(n)
        X = dataset.X
        if isinstance(X, LazyRows):  # split the row indices, copy nothing
            return TensorDataset(X.subset(order[n_valid:])), TensorDataset(
                X.subset(order[:n_valid])
            )
        order = torch.from_numpy(order).to(X.device)
        return (
            TensorDataset(X[order[n_valid:]]),
            TensorDataset(X[order[:n_valid]]),
        )


class TrainingDiverged(ValueError):
    """The loss or a gradient became non-finite during training."""


class TrainingMonitor(Callback):
    """Divergence guard, stopping rule, best-weights restore and epoch count.

    A non-finite training or validation loss, or a non-finite gradient, raises
    :class:`TrainingDiverged` at once, before the optimizer applies it.

    Watches ``monitor`` (``"train_loss"`` or ``"valid_loss"``) at the end of
    each epoch. When it has not improved by at least ``tol`` for ``patience``
    epochs in a row, training stops; with ``restore_best`` the weights of the
    best epoch are loaded back when training ends. Epochs before ``start``
    (counted in the net's history, so across warm starts) are not judged: the
    loss of a warm-up is not comparable with the loss that follows it.

    skorch stops training by catching ``KeyboardInterrupt``, so a user's Ctrl-C
    looks like a stop too: the monitor records whether it stopped the run, and
    :meth:`check_finished` re-raises an interrupt it did not cause.
    """

    def __init__(
        self,
        monitor="train_loss",
        patience=10,
        tol=1e-4,
        restore_best=False,
        start=0,
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best
        self.start = start

    def on_train_begin(self, net, **kwargs):
        self.best_ = math.inf
        self.misses_ = 0
        self.best_state_ = None
        self.epochs_ = 0
        self.converged_ = False
        # held for the run: walking ``named_parameters`` every batch costs
        # more than the small nets' steps themselves
        self.params_ = [p for _, p in net.get_all_learnable_params()]

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for p in self.params_ if p.grad is not None]
        if grads:
            # one fused kernel and one sync: the sum is finite iff every
            # gradient is
            total = torch.stack(torch._foreach_norm(grads)).sum().item()
            if not math.isfinite(total):
                self._diverged(net, "gradient norm", total)

    def on_batch_end(self, net, training=False, **kwargs):
        # skorch has just recorded the batch loss as a Python float
        name = "train_loss" if training else "valid_loss"
        loss = net.history[-1, "batches", -1, name]
        if not math.isfinite(loss):
            self._diverged(net, name.replace("_", " "), loss)

    def _diverged(self, net, what, value):
        raise TrainingDiverged(
            f"Training diverged in epoch {len(net.history)}: the {what} became "
            f"{value}. The estimator was left as it was before this fit. Lower "
            f"learning_rate_init (now {net.lr}), or look for extreme values in X."
        )

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        if len(net.history) <= self.start:
            return
        loss = net.history[-1, self.monitor]
        if loss < self.best_ - self.tol:
            self.best_ = loss
            self.misses_ = 0
            if self.restore_best:
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        else:
            self.misses_ += 1
        if self.misses_ >= self.patience:
            self.converged_ = True
            raise KeyboardInterrupt  # skorch's way to end the loop

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # a fitted model keeps no copies
        self.params_ = None

    def check_finished(self, max_epochs):
        """Re-raise a user's interrupt that skorch swallowed."""
        if not self.converged_ and self.epochs_ < max_epochs:
            raise KeyboardInterrupt("training was interrupted")


class AutoencoderNet(NeuralNet):
    """Reconstruction loss: the criterion between the reconstruction and the
    (clean) target, averaged over every entry of the batch."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, _ = y_pred
        return self.criterion_(reconstruction, y_true)

    @property
    def _default_callbacks(self):
        # the estimator adds validation scoring and printing when they are used
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]

    def _set_training(self, training=True):
        # skorch calls this before every batch, and ``Module.train`` walks the
        # whole module tree each time; skip it when nothing would change
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                return super()._set_training(training)
        return None


class SparseAutoencoderNet(AutoencoderNet):
    """Reconstruction loss plus ``alpha`` times a penalty on the code."""

    def __init__(self, *args, penalty="l1", alpha=0.0, sparsity_target=0.05, **kwargs):
        super().__init__(*args, **kwargs)
        self.penalty = penalty
        self.alpha = alpha
        self.sparsity_target = sparsity_target

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, code = y_pred
        loss = self.criterion_(reconstruction, y_true)
        if self.alpha == 0:
            return loss
        if self.penalty == "l1":
            penalty = l1_penalty(code)
        elif self.penalty == "l2":
            penalty = l2_penalty(code)
        else:
            penalty = kl_sparsity_penalty(code, self.sparsity_target)
        return loss + self.alpha * penalty


class DenoisingAutoencoderNet(AutoencoderNet):
    """Trains on corrupted inputs against clean targets.

    Corruption happens in ``train_step_single`` only: validation and inference
    see the inputs as given. For ``noise="gaussian"``, ``amount`` is the noise's
    standard deviation; for ``"masking"``, the fraction of entries replaced by
    ``fill`` (each feature's mean). Both are in the normalised units the net
    trains in.
    """

    def __init__(self, *args, noise="gaussian", amount=0.1, fill=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = noise
        self.amount = amount
        self.fill = fill

    def corrupt(self, X):
        if self.noise == "gaussian":
            return X + self.amount * torch.randn_like(X)
        masked = torch.rand_like(X) < self.amount
        return torch.where(masked, self.fill.expand_as(X), X)

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        return super().train_step_single((self.corrupt(Xi), yi), **fit_params)


class VAENet(AutoencoderNet):
    """Negative ELBO of a :class:`~skae._modules.VAEModule`, per sample.

    For a batch of n rows, the loss is

        (1/n) sum_i [ -log p(x_i | z_i) + w * KL(q(z|x_i) || N(0, I)) ]

    with log p(x|z) summed over the features (one reparameterised draw z_i per
    row) and the KL summed over the latent dimensions, in closed form: the
    scaling of the VAE and beta-VAE papers. The KL weight w is ``beta`` once the
    warm-up is over; during epoch e < ``kl_warmup`` (counted in the net's
    history, so a warm start continues the ramp) it is ``beta * e / kl_warmup``.
    Validation batches always use ``beta``, so the validation loss is the
    final objective from the first epoch on.

    The criterion is not used. Besides ``train_loss`` and ``valid_loss`` the
    history holds, per epoch, ``kl_weight`` and the batch-size weighted means
    ``train_reconstruction`` (minus log p(x|z)) and ``train_kl`` (and their
    ``valid_`` counterparts when there is a validation split).
    """

    def __init__(self, *args, beta=1.0, kl_warmup=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.kl_warmup = kl_warmup

    @property
    def _default_callbacks(self):
        terms = [
            (name, PassthroughScoring(name=name, on_train=name.startswith("train")))
            for name in (
                "train_reconstruction",
                "train_kl",
                "valid_reconstruction",
                "valid_kl",
            )
        ]
        return super()._default_callbacks + terms

    def kl_weight(self, epoch):
        """The KL weight of (0-based) ``epoch``: the warm-up ramp, then beta."""
        if epoch < self.kl_warmup:
            return self.beta * epoch / self.kl_warmup
        return self.beta

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.history.record("kl_weight", self.kl_weight(len(self.history) - 1))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        output, mu, log_var = y_pred
        module = self.module_
        reconstruction = -reconstruction_log_likelihood(
            module.likelihood, y_true, output, module.output_log_var()
        ).mean()
        kl = gaussian_kl(mu, log_var).mean()
        weight = self.history[-1, "kl_weight"] if training else self.beta
        prefix = "train" if training else "valid"
        values = torch.stack([reconstruction, kl]).detach().tolist()  # one sync
        self.history.record_batch(f"{prefix}_reconstruction", values[0])
        self.history.record_batch(f"{prefix}_kl", values[1])
        return reconstruction + weight * kl
