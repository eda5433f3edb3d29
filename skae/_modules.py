"""The networks skae trains: an encoder and a decoder (any modules keeping the
contract of :mod:`skae.nn`) joined by skae's code head and output head.

Pure PyTorch: nothing here imports scikit-learn or skorch.
"""

import torch
from torch import nn

from ._losses import row_mean
from .nn import LazyLinear, activation_layer


class RunningRMSNorm(nn.Module):
    """Divide each unit by its root mean square, pinning its scale to 1.

    In training the RMS is the batch's (gradients flow through it) and a
    running estimate is updated; in eval mode the running estimate is used, so
    each row's output does not depend on the rest of its batch. No centring and
    no learned affine part: a penalty on the output cannot be lowered by
    shrinking the whole unit. ``weights`` (the rows' sample weights, in
    training): the batch's weighted mean square.
    """

    def __init__(self, n_units, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_ms", torch.ones(n_units))

    def forward(self, z, weights=None):
        if self.training:
            ms = row_mean(z.pow(2), weights)
            with torch.no_grad():
                self.running_ms.lerp_(ms.detach(), self.momentum)
        else:
            ms = self.running_ms
        return z / torch.sqrt(ms + self.eps)


class RunningStandardise(nn.Module):
    """Centre each unit and divide it by its standard deviation.

    A batch normalisation without learned scale or shift: in training the
    batch's mean and variance (gradients flow through them) and running
    estimates are updated; in eval mode, and for a batch of one row (which
    has no spread), the running estimates are used. Put in front of a ReLU,
    each unit is positive on part of every batch: it cannot die.
    ``weights`` (the rows' sample weights, in training): the batch's
    weighted mean and variance.
    """

    def __init__(self, n_units, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(n_units))
        self.register_buffer("running_var", torch.ones(n_units))

    def forward(self, h, weights=None):
        if self.training and h.shape[0] > 1:
            if weights is None:
                mean = h.mean(dim=0)
                var = h.var(dim=0, unbiased=False)
            else:
                mean = row_mean(h, weights)
                var = row_mean((h - mean) ** 2, weights)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (h - mean) / torch.sqrt(var + self.eps)


def _with_weights(layer, z, weights):
    """``layer(z)``, given the rows' ``weights`` when it takes them (skae's
    code normalisations) and there are any."""
    if weights is not None and isinstance(layer, RunningRMSNorm | RunningStandardise):
        return layer(z, weights=weights)
    return layer(z)


#: Every log-variance (the encoder's and the Gaussian decoder's) is clamped to
#: this range, so ``exp`` can neither overflow nor vanish during training.
LOG_VAR_RANGE = (-10.0, 10.0)


def _flat(t):
    return t.reshape(t.shape[0], -1)


def _check_rows(body, what, given, returned):
    """Raise unless ``returned`` (flattened) has a row for each row given."""
    if returned.shape[0] != given.shape[0]:
        raise ValueError(
            f"The {body} returned {returned.shape[0]} rows for {what} of "
            f"{given.shape[0]} rows (shape {tuple(given.shape)}): it must keep "
            "the batch dimension, one output row per input row, (batch, ...) "
            "out for (batch, ...) in. Reshape with x.reshape(x.shape[0], ...) "
            "and reduce over other dimensions, not over the batch."
        )


class _EncoderDecoder(nn.Module):
    """An encoder, a code head of ``head_width`` outputs, and a decoder with
    an output head when its output is not ``n_features`` wide.

    The lazy layers (skae's heads and any in the blocks) are materialised by
    one forward pass of a few zero rows at construction, in eval mode and
    without gradients, so the module is complete (and its parameters can be
    handed to an optimizer) as soon as it exists. The same pass checks the
    contract: each body keeps the batch dimension (one output row per input
    row). The bodies are first converted to torch's default dtype (the
    probe's), so a float64 body trains in float32 like skae's own blocks.
    """

    def __init__(self, encoder, decoder, n_features, n_components, head_width):
        super().__init__()
        self.encoder = encoder
        self.code_head = LazyLinear(head_width)
        self.decoder = decoder
        self.output_head = None
        self.n_features = n_features
        self.n_components = n_components

    def _materialise(self):
        # rows that no width equals, so that an output whose rows are not
        # the batch's (a transpose, a reduction over the batch) shows
        rows = next(
            r for r in (2, 3, 4) if r not in (self.n_features, self.n_components)
        )
        x = torch.zeros(rows, self.n_features)
        # skae trains in float32 (the whole module is made float32 once
        # built): a float64 body is converted now, for the probe
        self.encoder.to(x.dtype)
        self.decoder.to(x.dtype)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                try:
                    hidden = _flat(self.encoder(x))
                except Exception as exc:
                    raise ValueError(
                        f"The encoder failed on a batch of shape {tuple(x.shape)} "
                        f"(rows of n_features={self.n_features}): {exc}. An encoder "
                        "receives (batch, n_features) and returns (batch, ...)."
                    ) from exc
                _check_rows("encoder", "a batch", x, hidden)
                self.code_head(hidden)
                z = torch.zeros(rows, self.n_components)
                try:
                    out = _flat(self.decoder(z))
                except Exception as exc:
                    raise ValueError(
                        f"The decoder failed on codes of shape {tuple(z.shape)}: "
                        f"{exc}. A decoder receives (batch, n_components) and "
                        "returns (batch, ...)."
                    ) from exc
                _check_rows("decoder", "codes", z, out)
                if out.shape[1] != self.n_features:
                    self.output_head = LazyLinear(self.n_features)
                    self.output_head(out)
        finally:
            self.train(was_training)

    def decode(self, z):
        """The decoder's raw output ``(batch, n_features)`` (before the
        loss's output map: logits for binary cross-entropy)."""
        out = _flat(self.decoder(z))
        return out if self.output_head is None else self.output_head(out)


class Autoencoder(_EncoderDecoder):
    """encoder -> code head -> [standardisation] -> [code activation] ->
    [RMS pinning] = code; code -> decoder -> [output head] = raw
    reconstruction.

    With RMS pinning, a nonlinear code activation receives the code head's
    output standardised per unit (:class:`RunningStandardise`): divided by
    its own RMS after a ReLU, a unit would lower an L1 penalty most by
    switching off for good; standardised first, it is positive on part of
    every batch.

    ``forward`` returns ``(reconstruction, code)``. ``weights`` (of
    ``encode`` and ``forward``; the rows' sample weights, in training):
    the code normalisations' batch statistics are weighted.

    Parameters
    ----------
    encoder, decoder : torch.nn.Module
        Bodies keeping the contract of :mod:`skae.nn`.
    n_features : int
        Width of the input and of the reconstruction.
    n_components : int
        Width of the code.
    code_activation : str, torch.nn.Module or None
        Activation applied to the code (None: a linear code, like PCA), by
        name or as a module (skae's TopK layer).
    code_rms_norm : bool
        Follow the code with :class:`RunningRMSNorm` (and, with a
        ``code_activation``, precede the activation with
        :class:`RunningStandardise`).
    """

    def __init__(
        self,
        encoder,
        decoder,
        n_features,
        n_components,
        code_activation=None,
        code_rms_norm=False,
    ):
        super().__init__(encoder, decoder, n_features, n_components, n_components)
        if isinstance(code_activation, nn.Module):
            self.code_activation = code_activation
        else:
            self.code_activation = (
                activation_layer(code_activation) if code_activation else nn.Identity()
            )
        nonlinear = not isinstance(self.code_activation, nn.Identity)
        self.code_standardise = (
            RunningStandardise(n_components)
            if code_rms_norm and nonlinear
            else nn.Identity()
        )
        self.code_norm = (
            RunningRMSNorm(n_components) if code_rms_norm else nn.Identity()
        )
        self._materialise()

    #: ``forward`` takes the rows' sample weights (``weights=``).
    takes_weights = True

    def encode(self, x, weights=None):
        """The code ``(batch, n_components)`` of normalised rows ``x``."""
        head = self.code_head(_flat(self.encoder(x)))
        if weights is None:
            return self.code_norm(self.code_activation(self.code_standardise(head)))
        code = self.code_activation(_with_weights(self.code_standardise, head, weights))
        return _with_weights(self.code_norm, code, weights)

    def forward(self, x, weights=None):
        z = self.encode(x, weights)
        # the decoder gets its own copy of the code: a first layer that
        # writes to its input (ReLU(inplace=True)) must not change the code
        # the penalty reads, nor an output autograd keeps (a sigmoid's)
        return self.decode(z.clone()), z


#: The VAE likelihoods with a learned Gaussian variance: "gaussian", and a
#: table's ("table"), whose numeric columns share it.
SCALED_LIKELIHOODS = ("gaussian", "table")


class VariationalAutoencoder(_EncoderDecoder):
    """A variational autoencoder with a diagonal Gaussian posterior.

    The code head outputs the mean and log-variance of q(z|x) side by side
    (``2 * n_components`` outputs, the means first). The decoder's output is
    the mean of a Gaussian p(x|z) (``likelihood="gaussian"``, with one learned
    global log-variance :attr:`log_var` shared by all features) or the logits
    of independent Bernoullis (``likelihood="bernoulli"``).

    ``forward(x, eps=None)`` returns ``(decoder_output, mu, log_var)`` for
    z = mu + sigma * eps (the reparameterisation; eps from torch's global
    generator when not given); ``encode`` returns the posterior mean mu.
    """

    def __init__(self, encoder, decoder, n_features, n_components, likelihood):
        super().__init__(encoder, decoder, n_features, n_components, 2 * n_components)
        self.likelihood = likelihood
        if likelihood in SCALED_LIKELIHOODS:
            self.log_var = nn.Parameter(torch.zeros(()))
        self._materialise()

    def posterior(self, x):
        """Mean and (clamped) log-variance of q(z|x)."""
        mu, log_var = self.code_head(_flat(self.encoder(x))).chunk(2, dim=-1)
        return mu, log_var.clamp(*LOG_VAR_RANGE)

    def output_log_var(self):
        """The Gaussian decoder's clamped log-variance; None for Bernoulli."""
        if self.likelihood not in SCALED_LIKELIHOODS:
            return None
        return self.log_var.clamp(*LOG_VAR_RANGE)

    def encode(self, x):
        """The posterior mean mu ``(batch, n_components)``."""
        return self.posterior(x)[0]

    def forward(self, x, eps=None):
        mu, log_var = self.posterior(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * log_var) * eps
        return self.decode(z), mu, log_var


def add_target_head(module, n_outputs):
    """Give ``module`` (an :class:`Autoencoder` or
    :class:`VariationalAutoencoder`) the supervised option's head: a linear
    layer ``target_head`` from the code (``(batch, n_components)``, the
    posterior mean for the VAE) to ``(batch, n_outputs)`` (logits of the
    classes, or the standardised targets). It is part of the module, so the
    state dict, pickles and model files carry it. Returns ``module``."""
    module.target_head = LazyLinear(n_outputs)
    with torch.no_grad():
        module.target_head(torch.zeros(2, module.n_components))
    return module
