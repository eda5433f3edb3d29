"""skorch plumbing: the nets whose ``get_loss`` holds each objective, plus the
tensor dataset, batch iterator, validation split and training monitor they use.

skorch runs the loop; everything here bends it through skorch's own hooks
(``get_loss``, ``train_split``, ``iterator_train``, callbacks).
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring

from ._losses import gaussian_kl, reconstruction_log_likelihood


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
        order = torch.from_numpy(order).to(dataset.X.device)
        return (
            TensorDataset(dataset.X[order[n_valid:]]),
            TensorDataset(dataset.X[order[:n_valid]]),
        )


class TrainingMonitor(Callback):
    """Stopping rule, best-weights restore and epoch count, as a callback.

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


class VAENet(NeuralNet):
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
        callbacks = super()._default_callbacks
        return callbacks[:-1] + terms + callbacks[-1:]  # print_log stays last

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
