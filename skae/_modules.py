"""Pure PyTorch modules: MLP encoders and decoders, plain and variational.

Nothing here imports scikit-learn or skorch, so the modules can be used, tested
and exported on their own.
"""

import torch
from torch import nn

#: Activation names accepted by the estimators, mapped to torch modules.
#: ``"logistic"`` is scikit-learn's name for the sigmoid.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_mlp(sizes, activation, dropout=0.0):
    """Linear layers through ``sizes``; activation (+ dropout) between them.

    No activation follows the last layer: callers add what the output needs.
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class RunningRMSNorm(nn.Module):
    """Divide each unit by its root mean square, pinning its scale to 1.

    In training the RMS is the batch's (gradients flow through it) and a
    running estimate is updated; in eval mode the running estimate is used, so
    each row's output does not depend on the rest of its batch. No centring and
    no learned affine part: a penalty on the output cannot be lowered by
    shrinking the whole unit.
    """

    def __init__(self, n_units, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("running_ms", torch.ones(n_units))

    def forward(self, z):
        if self.training:
            ms = z.pow(2).mean(dim=0)
            with torch.no_grad():
                self.running_ms.lerp_(ms.detach(), self.momentum)
        else:
            ms = self.running_ms
        return z / torch.sqrt(ms + self.eps)


class AutoencoderModule(nn.Module):
    """An MLP autoencoder whose decoder mirrors the encoder.

    ``forward`` returns ``(reconstruction, code)``; the reconstruction is the
    decoder's raw output (logits when the loss is binary cross-entropy).

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    n_components : int
        Width of the code.
    hidden_layer_sizes : sequence of int
        Encoder widths between input and code; the decoder uses them reversed.
    activation : str
        A key of :data:`ACTIVATIONS`, used after every hidden layer.
    dropout : float
        Dropout probability after every hidden activation.
    code_activation : str or None
        Activation applied to the code itself (None: a linear code, like PCA).
    code_rms_norm : bool
        Follow the code with :class:`RunningRMSNorm` (after ``code_activation``).
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        code_activation=None,
        code_rms_norm=False,
    ):
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.encoder = make_mlp(
            [n_features, *hidden, n_components], activation, dropout
        )
        self.code_activation = (
            ACTIVATIONS[code_activation]() if code_activation else nn.Identity()
        )
        self.code_norm = (
            RunningRMSNorm(n_components) if code_rms_norm else nn.Identity()
        )
        self.decoder = make_mlp(
            [n_components, *reversed(hidden), n_features], activation, dropout
        )

    def encode(self, x):
        return self.code_norm(self.code_activation(self.encoder(x)))

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


#: Every log-variance (the encoder's and the Gaussian decoder's) is clamped to
#: this range, so ``exp`` can neither overflow nor vanish during training.
LOG_VAR_RANGE = (-10.0, 10.0)


class VAEModule(nn.Module):
    """An MLP variational autoencoder with a diagonal Gaussian posterior.

    The encoder maps x to the mean and log-variance of q(z|x): its last linear
    layer holds both heads side by side (``2 * n_components`` outputs, the
    means first). The decoder mirrors the encoder and outputs the mean of a
    Gaussian p(x|z) (``likelihood="gaussian"``, with one learned global
    log-variance :attr:`log_var` shared by all features) or the logits of
    independent Bernoullis (``likelihood="bernoulli"``).

    ``forward`` draws z = mu + sigma * eps (the reparameterisation, eps from
    torch's global generator) and returns ``(decoder_output, mu, log_var)``;
    ``encode`` returns the posterior mean mu.

    Parameters
    ----------
    n_features : int
        Width of the input and of the decoder's output.
    n_components : int
        Dimension of the latent space.
    hidden_layer_sizes : sequence of int
        Encoder widths between input and heads; the decoder uses them reversed.
    activation : str
        A key of :data:`ACTIVATIONS`, used after every hidden layer.
    dropout : float
        Dropout probability after every hidden activation.
    likelihood : {"gaussian", "bernoulli"}
        The decoder's distribution.
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        likelihood="gaussian",
    ):
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.likelihood = likelihood
        self.encoder = make_mlp(
            [n_features, *hidden, 2 * n_components], activation, dropout
        )
        self.decoder = make_mlp(
            [n_components, *reversed(hidden), n_features], activation, dropout
        )
        if likelihood == "gaussian":
            self.log_var = nn.Parameter(torch.zeros(()))

    def posterior(self, x):
        """Mean and (clamped) log-variance of q(z|x)."""
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var.clamp(*LOG_VAR_RANGE)

    def output_log_var(self):
        """The Gaussian decoder's clamped log-variance; None for Bernoulli."""
        if self.likelihood != "gaussian":
            return None
        return self.log_var.clamp(*LOG_VAR_RANGE)

    def encode(self, x):
        return self.posterior(x)[0]

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, log_var = self.posterior(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decode(z), mu, log_var
