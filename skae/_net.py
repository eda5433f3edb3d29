"""skorch plumbing: the net whose ``get_loss`` holds the objective, plus the
tensor dataset, batch iterator, validation split and training monitor it uses.

skorch runs the fit (callbacks, history, validation); everything here bends
it through skorch's public methods (``run_single_epoch`` and ``train_step``
for a training epoch at less cost per batch, ``get_loss``,
``train_step_single``, ``infer``, ``get_iterator``, ``train_split``,
callbacks). The one override of a private skorch method sits in
``_compat.py``.
"""

import copy
import math

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.utils import TeeGenerator, to_tensor

from ._compat import FastTrainingMode
from ._losses import gaussian_kl

#: The per-batch events of a training step, in the order they fire.
BATCH_EVENTS = ("on_batch_begin", "on_grad_computed", "on_batch_end")


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

    Same dtype: one copy, computed in it as ``X / scale - offset / scale``
    (``X - offset`` with float64 statistics would first make two float64
    copies of a float32 X; dividing first cannot overflow where the result
    does not, as ``X - offset`` can for float32 data near ±3e38). A float64
    X into float32: computed in float64 a chunk at a time, then narrowed, so
    values beyond float32's range (1e39, say) stay finite.
    """
    if X.dtype == dtype:
        out = np.divide(X, scale, dtype=dtype)
        out -= (offset / scale).astype(dtype, copy=False)
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
    """Per-feature (variance, mean) of the normalised training rows, over
    their observed (non-NaN) entries."""
    if isinstance(X_train, LazyRows):
        return X_train.moments()
    mean = torch.nan_to_num(torch.nanmean(X_train, dim=0))
    var = torch.nan_to_num(torch.nanmean((X_train - mean) ** 2, dim=0))
    return var, mean


class TensorBatches:
    """Whole-tensor mini-batches: one slice or gather per batch.

    Replaces torch's ``DataLoader``: the default per-sample indexing and
    collation costs more than the step on a small net. Shuffling draws from
    ``generator`` (the fit's own), never from torch's global generator.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.X = dataset.X
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n, bs = len(self.X), self.batch_size
        if self.shuffle:
            device = self.generator.device if self.generator is not None else "cpu"
            order = torch.randperm(n, generator=self.generator, device=device)
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

    @staticmethod
    def held_out(fraction, n):
        """The number of the ``n`` rows held out for validation."""
        return math.ceil(fraction * n)

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = self.held_out(self.fraction, n)
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


def copy_net(net):
    """An independent copy of a net, for this process: its attributes
    deep-copied together, so that the optimizer's state stays keyed by the
    copied parameters.

    ``copy.deepcopy(net)`` would go through skorch's pickling (made for
    moving nets between processes and devices), 8 times slower on
    MNIST's default net (20 ms against 2.5), and its unpickler is left in a
    reference cycle holding the pickled weights, which only a full
    ``gc.collect()`` frees: 200 ms in a process with torch, scikit-learn and
    MNIST loaded, paid by every ``partial_fit`` call.

    The history's list is copied, and its last epoch (a callback's
    ``on_train_begin`` may still record into it); the epochs before it are
    finished, nothing in skorch or skae writes to them again, and the copy
    shares them. A stream's history grows by an epoch a call, and copying
    every epoch at every call grew with it: a deep copy took 4 µs an epoch
    (4 ms of a tiny net's 11 ms ``partial_fit`` after 1000 calls), and even
    a shallow one left Python's collector more objects to walk at each call.
    """
    history = net.history
    copied = type(history)(history)
    if copied:
        last = copied[-1] = dict(copied[-1])
        if "batches" in last:
            last["batches"] = list(last["batches"])
    new = object.__new__(type(net))
    # a callback that keeps the net it was handed gets the copy, not a
    # deep copy of the original (which would go through skorch's pickling)
    memo = {id(history): copied, id(net): new}
    new.__dict__.update(copy.deepcopy(net.__dict__, memo))
    return new


def history_column(history, key):
    """``history[:, key]`` as floats: the values of ``key`` in the epochs
    that have it, a KeyError when none has, without skorch's ``History``
    indexing (about 1 µs an epoch, paid at the end of every call of a
    stream, whose history grows by an epoch a call)."""
    values = [float(epoch[key]) for epoch in history if key in epoch]
    if history and not values:
        raise KeyError(f"Key {key!r} was not found in history.")
    return values


def batch_row(net):
    """The history row of the batch in progress, in constant time.

    ``net.history[-1]["batches"][-1]``, without skorch's ``History`` indexing,
    which copies the list of epochs on every call (``History.to_list``): read
    once a batch, that copy would grow with the epochs so far (0.7 µs a read
    after 20 epochs, 6 µs after 2000; 0.1 µs this way).
    """
    return list.__getitem__(net.history, -1)["batches"][-1]


class EpochMean(PassthroughScoring):
    """skorch's ``PassthroughScoring`` (an epoch's batch-size weighted mean
    of a batch score, and whether it is the best yet), reading the epoch's
    batch rows directly: the history's column indexing that skorch's own
    does, and numpy's average, cost as much as a small net's batch."""

    def on_epoch_end(self, net, **kwargs):
        size = ("train" if self.on_train else "valid") + "_batch_size"
        rows = [row for row in net.history[-1]["batches"] if self.name in row]
        if not rows:  # no validation data, say
            return
        # the weighted mean, in exactly rounded sums (numpy's average of a
        # few dozen numbers costs more than a small net's batch)
        score = math.fsum(row[size] * row[self.name] for row in rows) / math.fsum(
            row[size] for row in rows
        )
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


class TrainingDiverged(ValueError):
    """The loss or the weights became non-finite during training."""


class TrainingMonitor(Callback):
    """Divergence guard, stopping rule, best-weights restore and epoch count.

    A non-finite training or validation loss raises :class:`TrainingDiverged`
    in the batch it appears in; non-finite weights raise it when training
    ends. A non-finite gradient behind a finite loss (``sqrt`` at 0, say) is
    caught one of these two ways: the optimizer's step carries it into the
    weights, which make the next batch's loss non-finite, or, after the last
    step, are the weights the fit would return. The guard reads the loss the
    history records anyway and the weights once a fit, so it adds nothing to
    a training step (a check of the gradients before every step cost small
    nets 3% of their training time); the estimator trains a copy, so the
    weights a failed fit leaves are thrown away with it.

    Watches ``monitor`` (``"train_loss"`` or ``"valid_loss"``) at the end of
    each epoch. When it has not improved by at least ``tol`` for ``patience``
    epochs in a row, training stops; with ``restore_best`` the weights of the
    best epoch are loaded back when training ends. Epochs before ``start``
    (counted in the net's history, so across warm starts) are not judged: the
    loss of a warm-up is not comparable with the loss that follows it.

    It stops training the way skorch's callbacks do, by raising
    ``KeyboardInterrupt``, and records that it did (``converged_``); the
    estimator tells a user's Ctrl-C apart by the signal itself.
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
        self.best_epoch_ = None
        self.misses_ = 0
        self.best_state_ = None
        self.epochs_ = 0
        self.converged_ = False
        self.params_ = [p for _, p in net.get_all_learnable_params()]

    def on_batch_end(self, net, training=False, **kwargs):
        # the net has just recorded the batch loss as a Python float (read
        # from the row itself: the history's column indexing costs more)
        name = "train_loss" if training else "valid_loss"
        loss = batch_row(net)[name]
        if not math.isfinite(loss):
            self._diverged(net, name.replace("_", " "), loss)

    def _check_weights(self, net):
        # one fused kernel: the sum of the norms is finite iff every weight is
        with torch.no_grad():
            total = torch.stack(torch._foreach_norm(self.params_)).sum().item()
        if not math.isfinite(total):
            self._diverged(net, "weights' norm", total)

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
            self.best_epoch_ = len(net.history)
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
        self.restored_ = self.best_state_ is not None
        if self.restored_:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # a fitted model keeps no copies
        self._check_weights(net)  # the weights the fit returns
        self.params_ = None


def with_penalty(loss, penalty):
    """``loss + penalty``, without adding a penalty of 0 (a kernel per
    batch)."""
    return loss if isinstance(penalty, float) and penalty == 0 else loss + penalty


class AutoencoderNet(FastTrainingMode, NeuralNet):
    """The autoencoders' objective, made of the pieces of ``_objectives``:

        criterion(reconstruction, clean target) + alpha * penalty(code)

    the criterion being the likelihood's (squared error or binary
    cross-entropy, averaged over every entry), and the input corrupted by
    ``corruption`` in training steps only. Randomness in training (shuffling,
    corruption, the VAE's draws) comes from ``generator_``, a
    ``torch.Generator`` seeded with ``seed`` when training begins.
    """

    def __init__(
        self,
        *args,
        likelihood=None,
        penalty=None,
        alpha=0.0,
        corruption=None,
        missing=None,
        noise=None,
        noise_level=0.0,
        seed=0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.likelihood = likelihood
        self.penalty = penalty
        self.alpha = alpha
        self.corruption = corruption
        self.missing = missing
        self.noise = noise  # what ``corruption`` was built from
        self.noise_level = noise_level
        self.seed = seed

    @classmethod
    def scoring_callbacks(cls, validating):
        """Extra per-epoch scores this objective records (name, callback)."""
        return []

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.generator_ = torch.Generator(device=self.device).manual_seed(self.seed)
        self.batch_hooks_ = {event: self._listeners(event) for event in BATCH_EVENTS}

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.generator_ = None  # a fitted model holds no random state
        self.batch_hooks_ = None

    def _listeners(self, event):
        """The bound ``event`` methods of this net and its callbacks that do
        something: skorch's ``notify`` calls every one, most of them the
        base classes' empty methods, at a cost per batch that small nets
        feel. The net's own ``on_batch_begin`` (opening the batch's history
        row) is done by :meth:`run_single_epoch` itself."""
        hooks = []
        if getattr(type(self), event) is not getattr(NeuralNet, event):
            hooks.append(getattr(self, event))
        for _, callback in self.callbacks_:
            base = getattr(Callback, event)
            if getattr(type(callback), event, None) is not base:
                hooks.append(getattr(callback, event))
        return hooks

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """A training epoch: skorch's, at less cost per batch.

        The same events in the same order, with the same arguments, reach
        every callback that defines them (and only those), and the history
        gets the same batch rows (``train_loss``, ``train_batch_size``) and
        ``train_batch_count``. What it saves over skorch's loop is what a
        small net's step cannot hide: the calls of empty callback methods and
        the history's indexing, three times a batch. Validation epochs are
        skorch's own.
        """
        if not training or iterator is None:
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        hooks = self.batch_hooks_
        begin, end = hooks["on_batch_begin"], hooks["on_batch_end"]
        rows = self.history[-1]["batches"]
        count = 0
        for batch in iterator:
            row = {}
            rows.append(row)  # what the net's own on_batch_begin does
            for hook in begin:
                hook(self, batch=batch, training=True)
            step = step_fn(batch, **fit_params)
            row[prefix + "_loss"] = step["loss"].item()
            row[prefix + "_batch_size"] = len(batch[0])
            for hook in end:
                hook(self, batch=batch, training=True, **step)
            count += 1
        self.history.record(prefix + "_batch_count", count)

    def train_step(self, batch, **fit_params):
        """One optimizer step: skorch's ``train_step`` without its closure
        and step accumulator (Adam, skae's optimizer, evaluates no closure).

        Zero the gradients, :meth:`train_step_single` (forward, loss,
        backward), ``on_grad_computed`` to the callbacks that define it,
        then ``optimizer_.step()``.
        """
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        hooks = self.batch_hooks_["on_grad_computed"]
        if hooks:
            params = TeeGenerator(self.get_all_learnable_params())
            for hook in hooks:
                hook(self, named_parameters=params, batch=batch, training=True)
        self.optimizer_.step()
        return step

    def get_iterator(self, dataset, training=False):
        return TensorBatches(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=getattr(self, "generator_", None) if training else None,
        )

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        if self.corruption is not None:
            Xi = self.corruption(Xi, self.generator_)
        return super().train_step_single((Xi, yi), **fit_params)

    def infer(self, x, **fit_params):
        if not isinstance(x, torch.Tensor):
            # skae's batches are tensors on the device already: skorch's
            # ``to_tensor`` and its checks would be a no-op, paid every batch
            x = to_tensor(x, device=self.device)
        if self.missing is not None:
            x = self.missing.fill_in(x)
        return self.module_(x, **fit_params)

    def code_penalty(self, code, X):
        """alpha * R(code), or 0 without a penalty."""
        if self.penalty is None or self.alpha == 0:
            return 0.0
        if self.missing is not None:
            X = self.missing.fill_in(X)  # the input as the network saw it
        return self.alpha * self.penalty(code, X, self.module_)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, code = y_pred
        if self.missing is not None:
            fit = self.missing.loss(self.likelihood, reconstruction, y_true)
        else:
            fit = self.criterion_(reconstruction, y_true)
        return with_penalty(fit, self.code_penalty(code, X))


class VAENet(AutoencoderNet):
    """Negative ELBO of a :class:`~skae._modules.VariationalAutoencoder`, per
    sample, plus ``alpha`` times the code penalty on the posterior mean.

    For a batch of n rows, the loss is

        (1/n) sum_i [ -log p(x_i | z_i) + w * KL(q(z|x_i) || N(0, I)) ]

    with log p(x|z) summed over the features (one reparameterised draw z_i per
    row, eps from the fit's generator) and the KL summed over the latent
    dimensions, in closed form: the scaling of the VAE and beta-VAE papers.
    The KL weight w is ``beta`` once the warm-up is over; during epoch
    e < ``kl_warmup`` (counted in the net's history, so a warm start continues
    the ramp) it is ``beta * e / kl_warmup``. Validation batches always use
    ``beta``, so the validation loss is the final objective from the first
    epoch on.

    The criterion is not used. Besides ``train_loss`` and ``valid_loss`` the
    history holds, per epoch, ``kl_weight`` and the batch-size weighted means
    ``train_reconstruction`` (minus log p(x|z)) and ``train_kl`` (and their
    ``valid_`` counterparts when there is a validation split).
    """

    def __init__(self, *args, beta=1.0, kl_warmup=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.kl_warmup = kl_warmup

    @classmethod
    def scoring_callbacks(cls, validating):
        names = ["train_reconstruction", "train_kl"]
        if validating:
            names += ["valid_reconstruction", "valid_kl"]
        return [
            (name, EpochMean(name=name, on_train=name.startswith("train")))
            for name in names
        ]

    def kl_weight(self, epoch):
        """The KL weight of (0-based) ``epoch``: the warm-up ramp, then beta."""
        if epoch < self.kl_warmup:
            return self.beta * epoch / self.kl_warmup
        return self.beta

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.kl_weight_ = self.kl_weight(len(self.history) - 1)
        self.history.record("kl_weight", self.kl_weight_)
        self.terms_ = []  # (batch row, prefix, the two terms) kept for the end

    def on_epoch_end(self, net, **kwargs):
        # on an accelerator the batch rows get their terms now, in one
        # conversion (before the callbacks that average them run: the net
        # hears every event first); on the CPU they have them already
        if self.terms_:
            terms = [term for *_, pair in self.terms_ for term in pair]
            values = torch.stack(terms).view(-1, 2).tolist()
            for (row, prefix, _), (reconstruction, kl) in zip(self.terms_, values):
                row[f"{prefix}_reconstruction"] = reconstruction
                row[f"{prefix}_kl"] = kl
        self.terms_ = None
        super().on_epoch_end(net, **kwargs)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        # a callback may end training in the middle of an epoch: a fitted
        # model keeps none of its terms
        self.terms_ = None

    def infer(self, x, **fit_params):
        if self.missing is not None:
            raise ValueError("VAETransformer does not train on missing values.")
        eps = None
        if getattr(self, "generator_", None) is not None:
            eps = torch.randn(
                (x.shape[0], self.module_.n_components),
                generator=self.generator_,
                device=x.device,
                dtype=x.dtype,
            )
        return self.module_(x, eps=eps)

    #: Devices whose batch terms become numbers at once. Elsewhere (a GPU)
    #: they are kept as tensors and converted in one copy at the epoch's
    #: end, instead of two device-to-host copies a batch.
    TERMS_AT_ONCE_ON = frozenset({"cpu"})

    def _record_terms(self, prefix, reconstruction, kl):
        """The batch's two loss terms, into its history row."""
        row = batch_row(self)
        if reconstruction.device.type in self.TERMS_AT_ONCE_ON:
            # on the CPU a number now costs less (0.2 µs) than a tensor kept
            # for a stack at the epoch's end (60 µs an epoch of 15 batches)
            row[f"{prefix}_reconstruction"] = reconstruction.item()
            row[f"{prefix}_kl"] = kl.item()
        else:
            self.terms_.append((row, prefix, (reconstruction.detach(), kl.detach())))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        output, mu, log_var = y_pred
        module = self.module_
        reconstruction = self.likelihood.negative_log_likelihood(
            y_true, output, module.output_log_var()
        ).mean()
        kl = gaussian_kl(mu, log_var).mean()
        weight = self.kl_weight_ if training else self.beta
        prefix = "train" if training else "valid"
        if getattr(self, "terms_", None) is not None:  # in an epoch
            self._record_terms(prefix, reconstruction, kl)
        return with_penalty(reconstruction + weight * kl, self.code_penalty(mu, X))
