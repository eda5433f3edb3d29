"""skorch plumbing: the nets whose ``get_loss`` holds the objective, the
batch iterator they train with, and :func:`copy_net`. The dataset and the
validation split are in ``_data``, the callbacks in ``_callbacks``.

skorch runs the fit (callbacks, history, validation); everything here bends
it through skorch's public methods (``run_single_epoch`` and ``train_step``
for a training epoch at less cost per batch, ``get_loss``,
``train_step_single``, ``infer``, ``get_iterator``, ``train_split``,
callbacks). The one override of a private skorch method sits in
``_compat.py``.
"""

import copy
import math
from contextlib import nullcontext

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import TeeGenerator, to_tensor

# Pickles made before the base was recomposed name TrainingMonitor (every
# fitted net holds one) and ShuffledSplit (with early stopping) in this
# module: those names stay importable from here for them.
from ._callbacks import (  # noqa: F401
    EpochMean,
    TrainingDiverged,
    TrainingMonitor,
    batch_row,
)
from ._compat import FastTrainingMode
from ._data import (  # noqa: F401
    LazyRows,
    ShuffledSplit,
    TensorDataset,
    batch_weights,
    split_targets,
    training_batch_count,
    training_batches,
    with_targets,
)
from ._losses import gaussian_kl, target_loss, weighted_mean
from .nn import drawing_from

#: The per-batch events of a training step, in the order they fire.
BATCH_EVENTS = ("on_batch_begin", "on_grad_computed", "on_batch_end")


class TensorBatches:
    """Whole-tensor mini-batches: one slice or gather per batch.

    Replaces torch's ``DataLoader``: the default per-sample indexing and
    collation costs more than the step on a small net. Shuffling draws from
    ``generator`` (the fit's own), never from torch's global generator.
    Training epochs (``shuffle``) run the batches of
    :func:`~skae._data.training_batches`: a last batch of one row joins the
    one before it.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, steps=None):
        self.X = dataset.X
        self.y = dataset.y
        # skorch's own Dataset (a net trained on arrays directly) has none
        self.weights = getattr(dataset, "weights", None)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.steps = steps

    def __len__(self):
        if self.shuffle:
            if self.steps is not None:
                return self.steps
            return training_batch_count(len(self.X), self.batch_size)
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n, bs = len(self.X), self.batch_size
        if self.shuffle:
            # ``steps`` (a data-parallel fit's agreed count): further
            # shuffles of the rows until that many batches
            steps = training_batch_count(n, bs) if self.steps is None else self.steps
            device = self.generator.device if self.generator is not None else "cpu"
            while steps > 0:
                order = torch.randperm(n, generator=self.generator, device=device)
                for start, stop in training_batches(n, bs):
                    if steps == 0:
                        break
                    steps -= 1
                    rows = order[start:stop]
                    batch = self.X[rows]
                    yield batch, with_targets(batch, self.y, rows, self.weights)
        else:
            for start in range(0, n, bs):
                rows = slice(start, start + bs)
                batch = self.X[rows]
                yield batch, with_targets(batch, self.y, rows, self.weights)


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


def with_penalty(loss, penalty):
    """``loss + penalty``, without adding a penalty of 0 (a kernel per
    batch)."""
    return loss if isinstance(penalty, float) and penalty == 0 else loss + penalty


class AutoencoderNet(FastTrainingMode, NeuralNet):
    """The autoencoders' objective, made of the pieces of ``_objectives``:

        criterion(reconstruction, clean target) + alpha * penalty(code)
            [+ target_weight * target_loss(target_head(code), y)]

    the criterion being the likelihood's (squared error or binary
    cross-entropy, averaged over every entry), and the input corrupted by
    ``corruption`` in training steps only. The last term is the supervised
    option's, for batches whose target carries y (``(x, y)`` instead of
    ``x``, see :func:`~skae._data.with_targets`); validation batches too.
    A batch whose target carries sample weights (``(x, y, w)``) counts each
    row's terms by its weight: every mean over rows above (the criterion's,
    a per-row penalty's, the head's) becomes ``sum_i w_i l_i / sum_i w_i``
    over the batch (:func:`~skae._losses.weighted_mean`); a penalty of the
    batch as a whole weighs it as :meth:`CodePenalty.weighted
    <skae._objectives.CodePenalty.weighted>` says.
    Randomness in training (shuffling, corruption, the VAE's draws, the
    dropout of skae's blocks through :func:`skae.nn.drawing_from`) comes
    from ``generator_``, a ``torch.Generator`` seeded with ``seed`` when
    training begins. A module
    that may draw from torch's global generator (a user's) trains each step
    on ``global_rng_``, its fit's stream of that generator, when the
    estimator sets one (``skae._random.GlobalStream``).
    """

    #: The fit's stream of torch's global generator, set for a training run
    #: whose module may draw from it; None otherwise.
    global_rng_ = None

    #: The processes of a data-parallel run (``strategy="ddp"``, a
    #: :class:`skae._ddp.Ranks` with the agreed ``steps`` per epoch and the
    #: ``ddp`` wrapper training steps run the module through), set for the
    #: run only; None otherwise.
    ranks_ = None

    #: A table's numeric columns' hold (:class:`skae._pca_start.NumericHold`)
    #: for a fit started at PCA: their terms of the criterion weighted by its
    #: multiplier, which moves after each training batch; None otherwise.
    hold_ = None

    def __init__(
        self,
        *args,
        likelihood=None,
        penalty=None,
        alpha=0.0,
        target_weight=0.0,
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
        self.target_weight = target_weight
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
        ranks = self.ranks_
        return TensorBatches(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=getattr(self, "generator_", None) if training else None,
            steps=ranks.steps if training and ranks is not None else None,
        )

    def trained_module(self):
        """The module a forward pass runs: in a data-parallel training step
        (gradients on), its ``DistributedDataParallel`` wrapper, which
        averages the gradients over the ranks; ``module_`` otherwise."""
        ranks = self.ranks_
        if ranks is not None and ranks.ddp is not None and torch.is_grad_enabled():
            return ranks.ddp
        return self.module_

    def _global_rng(self):
        stream = self.global_rng_
        return nullcontext() if stream is None else stream.drawing()

    def train_step_single(self, batch, **fit_params):
        Xi, yi = batch
        if self.corruption is not None:
            Xi = self.corruption(Xi, self.generator_)
        weights = batch_weights(yi)
        if weights is not None and getattr(self.module_, "takes_weights", False):
            # the batch statistics inside skae's module weighted too
            fit_params = {**fit_params, "weights": weights}
        # skae's dropout draws its masks from the fit's generator
        try:
            with drawing_from(self.generator_), self._global_rng():
                return super().train_step_single((Xi, yi), **fit_params)
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise ValueError(
                f"A training batch of {len(Xi)} row(s) reached a batch "
                f"normalisation layer that has one value per channel ({exc}). "
                "skae merges a last batch of one row into the one before it, "
                "but cannot when the epoch has one row (partial_fit on one "
                "row, or one training row left after the validation split) "
                "or batch_size=1. Train on at least 2 rows with batch_size>=2, "
                "or a network without batch normalisation (for skae's "
                "ConvEncoder, batch_norm=False; in your own module, a norm that "
                "works on one row, such as LayerNorm)."
            ) from exc

    def validation_step(self, batch, **fit_params):
        with self._global_rng():
            return super().validation_step(batch, **fit_params)

    def infer(self, x, **fit_params):
        if not isinstance(x, torch.Tensor):
            # skae's batches are tensors on the device already: skorch's
            # ``to_tensor`` and its checks would be a no-op, paid every batch
            x = to_tensor(x, device=self.device)
        return self.trained_module()(self.module_input(x), **fit_params)

    def module_input(self, x):
        """The batch as the module receives it: a tensor of its own, which
        it may write to (a first layer ``nn.ReLU(inplace=True)``). ``x`` is
        also the loss's target (and the penalty's input, and in validation
        a view of the held-out rows), which must not change: one copy of
        the batch, unless filling in missing entries made one already."""
        if self.missing is not None:
            return self.missing.fill_in(x)  # a new tensor
        return x.clone()

    def code_penalty(self, code, X, weights=None):
        """alpha * R(code), or 0 without a penalty; with ``weights`` (the
        rows' sample weights), the penalty's weighted form."""
        if self.penalty is None or self.alpha == 0:
            return 0.0
        if self.missing is not None:
            X = self.missing.fill_in(X)  # the input as the network saw it
        if weights is not None:
            return self.alpha * self.penalty.weighted(code, X, self.module_, weights)
        return self.alpha * self.penalty(code, X, self.module_)

    def supervised(self, loss, code, y_true):
        """``loss`` plus ``target_weight`` times the head's loss on ``code``
        (:func:`~skae._losses.target_loss`, its rows counted by the batch's
        sample weights), when the batch's target carries the supervised
        option's targets; ``loss`` otherwise."""
        _, targets = split_targets(y_true)
        if targets is None:
            return loss
        head = self.module_.target_head(code)
        weights = batch_weights(y_true)
        return loss + self.target_weight * target_loss(head, targets, weights)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, code = y_pred
        weights = batch_weights(y_true)
        loss = self.reconstruction_loss(
            reconstruction, split_targets(y_true)[0], weights
        )
        if training and self.hold_ is not None:
            self.hold_.step()
        return self.supervised(
            with_penalty(loss, self.code_penalty(code, X, weights)), code, y_true
        )

    def reconstruction_loss(self, reconstruction, X, weights=None):
        """The likelihood's criterion between the reconstruction and the
        clean rows ``X`` (over the observed entries, with missing ones),
        each row counted by its sample weight when ``weights`` are given."""
        if self.missing is not None:
            return self.missing.loss(self.likelihood, reconstruction, X, weights)
        if self.hold_ is not None:
            return self.hold_.loss(self.likelihood, reconstruction, X, weights)
        if weights is not None:
            return self.likelihood.weighted_loss(reconstruction, X, weights)
        return self.criterion_(reconstruction, X)


class VAENet(AutoencoderNet):
    """Negative ELBO of a :class:`~skae._modules.VariationalAutoencoder`, per
    sample, plus ``alpha`` times the code penalty on the posterior mean.

    For a batch of n rows, the loss is

        (1/n) sum_i [ -log p(x_i | z_i) + w * KL(q(z|x_i) || N(0, I)) ]

    (with sample weights s_i, the weighted mean: 1/n becomes s_i / sum s)
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
        x = self.module_input(x)
        eps = None
        if getattr(self, "generator_", None) is not None:
            eps = torch.randn(
                (x.shape[0], self.module_.n_components),
                generator=self.generator_,
                device=x.device,
                dtype=x.dtype,
            )
        return self.trained_module()(x, eps=eps)

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
        weights = batch_weights(y_true)  # the rows' sample weights, or None
        reconstruction = weighted_mean(
            self.likelihood.negative_log_likelihood(
                split_targets(y_true)[0], output, module.output_log_var()
            ),
            weights,
        )
        kl = weighted_mean(gaussian_kl(mu, log_var), weights)
        weight = self.kl_weight_ if training else self.beta
        prefix = "train" if training else "valid"
        if getattr(self, "terms_", None) is not None:  # in an epoch
            self._record_terms(prefix, reconstruction, kl)
        return self.supervised(
            with_penalty(
                reconstruction + weight * kl, self.code_penalty(mu, X, weights)
            ),
            mu,
            y_true,
        )
