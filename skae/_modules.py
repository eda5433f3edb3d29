"""Pure PyTorch modules: MLP encoders and decoders.

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
