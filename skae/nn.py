"""Encoders and decoders for skae's estimators: pure PyTorch, no sklearn.

Every skae estimator takes ``encoder`` and ``decoder`` parameters. ``None``
(the default) builds the blocks below from ``hidden_layer_sizes`` and
``activation``; any ``torch.nn.Module`` that keeps this contract may take
their place:

- The **encoder** receives a float tensor of shape ``(batch, n_features)``:
  rows of X in the units the network trains in (see the user guide's
  "Normalisation"). It returns a tensor of shape ``(batch, ...)``; skae
  flattens it to ``(batch, n_hidden)`` and adds the **code head** itself: a
  linear layer to ``n_components`` (the code) for the deterministic
  autoencoders, or to the mean and log-variance of q(z|x) for
  :class:`~skae.VAETransformer`. So one encoder serves every estimator.
- The **decoder** receives a code of shape ``(batch, n_components)`` and
  returns a tensor of shape ``(batch, ...)``, flattened by skae. If that has
  ``n_features`` values per row it is the reconstruction; otherwise skae adds
  a linear **output head** to ``n_features``. skae then applies the loss's
  **output map** (identity for ``loss="mse"``, a sigmoid for ``"bce"``).

The blocks here use torch's lazy layers, so none needs ``n_features``: their
weights are drawn when the network is built, from the estimator's
``random_state``. A module you pass is trained as a copy (the estimator's
parameter is never changed), starting from the weights it holds; lazy layers
in it are initialised from ``random_state`` like skae's own.

Randomness: inside :func:`drawing_from` (skae uses it while it builds and
trains a network), the blocks here draw their initial weights and their
dropout masks from the given ``torch.Generator``, never from torch's global
generator; outside it they behave exactly as torch's own layers.
"""

import math
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "ConvDecoder",
    "ConvEncoder",
    "Dropout",
    "MLPDecoder",
    "MLPEncoder",
    "Shortcut",
    "drawing_from",
]

#: The generator skae's blocks draw from in the current thread (a context
#: variable: each thread, and each fit in it, sees its own), or None.
_GENERATOR = ContextVar("skae_generator", default=None)


@contextmanager
def drawing_from(generator):
    """Within the block, in this thread, the blocks of :mod:`skae.nn`
    (:class:`Dropout`, the lazy layers' initialisation) draw from
    ``generator`` (a ``torch.Generator`` on the device of their tensors)
    instead of torch's global generator."""
    token = _GENERATOR.set(generator)
    try:
        yield generator
    finally:
        _GENERATOR.reset(token)


class Dropout(nn.Dropout):
    """``torch.nn.Dropout`` that, inside :func:`drawing_from`, draws its
    mask from that generator: the same zeroing with probability ``p`` and
    scaling by ``1 / (1 - p)`` in training, the identity in eval mode.
    Shapes: any in, the same out."""

    def forward(self, x):
        generator = _GENERATOR.get()
        if generator is None or not self.training or self.p == 0:
            return super().forward(x)
        if self.p == 1:
            return torch.zeros_like(x)
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=generator)
        return x * mask.div_(keep)


def _initialise(layer):
    """torch's default initialisation of a linear or convolution layer
    (Kaiming-uniform weights with a=sqrt(5), a uniform bias within
    1/sqrt(fan_in)), drawn from the :func:`drawing_from` generator;
    False when there is none (torch's own initialisation then runs)."""
    generator = _GENERATOR.get()
    if generator is None:
        return False
    weight = layer.weight
    with torch.no_grad():
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        if layer.bias is not None:
            fan_in = weight.shape[1] * math.prod(weight.shape[2:])
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return True


class _FitGeneratorInit:
    """Mixin for torch's lazy layers: once their shape is known, the weights
    are drawn from the :func:`drawing_from` generator when there is one (by
    torch's own rule when there is none). The layer then becomes torch's
    plain class, as torch's lazy layers do."""

    _inputs = "in_features"  # the attribute that is 0 until the shape is known

    def reset_parameters(self):
        if self.has_uninitialized_params() or getattr(self, self._inputs) == 0:
            return
        if not _initialise(self):
            super().reset_parameters()


class LazyLinear(_FitGeneratorInit, nn.LazyLinear):
    """``torch.nn.LazyLinear`` drawing its weights from the fit's generator;
    it becomes a plain ``torch.nn.Linear``."""


class LazyConv2d(_FitGeneratorInit, nn.LazyConv2d):
    """``torch.nn.LazyConv2d`` drawing its weights like :class:`LazyLinear`;
    it becomes a plain ``torch.nn.Conv2d``."""

    _inputs = "in_channels"


class LazyConvTranspose2d(_FitGeneratorInit, nn.LazyConvTranspose2d):
    """``torch.nn.LazyConvTranspose2d`` drawing its weights like
    :class:`LazyLinear`; it becomes a plain ``torch.nn.ConvTranspose2d``."""

    _inputs = "in_channels"


#: Activation names accepted by the estimators and the blocks, mapped to torch
#: modules. ``"logistic"`` is scikit-learn's name for the sigmoid.
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


def activation_layer(name):
    """A new torch module for the activation ``name`` (a key of ACTIVATIONS)."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}."
        )
    return ACTIVATIONS[name]()


def _dense_stack(widths, activation, dropout, last=None):
    """Lazy linear layers of ``widths``, each followed by the activation (and
    dropout); then, if ``last`` is given, a plain lazy linear layer to it."""
    layers = []
    for width in widths:
        layers += [LazyLinear(int(width)), activation_layer(activation)]
        if dropout > 0:
            layers.append(Dropout(dropout))
    if last is not None:
        layers.append(LazyLinear(int(last)))
    return layers


class MLPEncoder(nn.Sequential):
    """Fully connected encoder body: linear layers and activations.

    Each linear layer is followed by the activation (and dropout).
    Shapes: ``(batch, n_features)`` in, ``(batch, hidden_layer_sizes[-1])``
    out (the input itself when ``hidden_layer_sizes`` is empty). skae adds
    the code head.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256,)
        Widths of the layers, from the input towards the code.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after every activation.
    """

    def __init__(self, hidden_layer_sizes=(256,), activation="relu", dropout=0.0):
        super().__init__(*_dense_stack(hidden_layer_sizes, activation, dropout))
        self.hidden_layer_sizes = tuple(int(w) for w in hidden_layer_sizes)
        self.activation = activation
        self.dropout = dropout


class MLPDecoder(nn.Sequential):
    """Fully connected decoder body: linear layers and activations.

    Each linear layer is followed by the activation (and dropout), then
    optionally comes a linear output layer. Shapes: ``(batch,
    n_components)`` in; ``(batch, n_features)`` out when ``n_features`` is
    given, else ``(batch, hidden_layer_sizes[-1])`` and skae adds the
    output head.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256,)
        Widths of the layers, from the code towards the output.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after every activation.
    n_features : int or None, default=None
        Width of a final linear layer (the reconstruction). None leaves it to
        skae, which adds it when the output is not ``n_features`` wide.
    """

    def __init__(
        self, hidden_layer_sizes=(256,), activation="relu", dropout=0.0, n_features=None
    ):
        super().__init__(
            *_dense_stack(hidden_layer_sizes, activation, dropout, last=n_features)
        )
        self.hidden_layer_sizes = tuple(int(w) for w in hidden_layer_sizes)
        self.activation = activation
        self.dropout = dropout
        self.n_features = n_features


class Shortcut(nn.Module):
    """A body beside a linear path: the input next to the body's output.

    ``(batch, ...)`` in, ``(batch, n_in + n_body)`` out: the input
    (flattened) followed by the body's output (flattened). The linear layer
    that reads it (skae's code head after an encoder, its output head after
    a decoder) then adds a linear map of the input to one of the body's
    features, as a wide-and-deep network does: the network
    holds the linear autoencoder (PCA's solution) as well as the deep one.
    ``init="pca"`` builds skae's MLP blocks inside it and starts that
    linear path at PCA's axes.

    Parameters
    ----------
    body : torch.nn.Module
        The block beside the linear path (an :class:`MLPEncoder` or
        :class:`MLPDecoder`).
    """

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        """Run the body on ``x`` and put ``x`` before its output.

        Parameters
        ----------
        x : torch.Tensor
            A batch, ``(batch, ...)``.

        Returns
        -------
        torch.Tensor
            ``(batch, n_in + n_body)``: ``x`` flattened, then the body's
            output flattened.
        """
        return torch.cat(
            [x.reshape(x.shape[0], -1), self.body(x).reshape(x.shape[0], -1)], dim=1
        )


def _positive_int(value):
    """Whether ``value`` is an integer >= 1 (numpy's too), not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _check_image_shape(image_shape):
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(_positive_int(s) for s in shape):
        raise ValueError(
            f"image_shape must be (channels, height, width) of positive ints, e.g. "
            f"(1, 28, 28); got {image_shape!r}."
        )
    return tuple(int(s) for s in shape)


def _check_channels(channels, block):
    channels = tuple(channels)
    if not all(_positive_int(c) for c in channels):
        raise ValueError(
            f"{block}'s channels must be positive ints, one per stage, e.g. "
            f"(32, 32); got {channels!r}."
        )
    if block == "ConvDecoder" and not channels:
        raise ValueError(
            "ConvDecoder needs at least one stage: channels=() leaves no "
            "feature map to map the code onto. Pass the encoder's channels, "
            "e.g. channels=(32, 32), or use MLPDecoder for a decoder without "
            "convolutions."
        )
    return tuple(int(c) for c in channels)


#: Kernel size of the convolutional blocks' strided stages: even, so a stride-2
#: transposed convolution covers every output pixel equally often (a 3x3
#: kernel leaves a checkerboard of pixels covered once or twice).
_KERNEL_SIZE = 4


def _downsampled(size, n):
    """Spatial sizes after each of n stride-2 stages: ceil(size / 2) each."""
    sizes = [size]
    for _ in range(n):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _stage_padding(height, width):
    """Padding of a 4x4 stride-2 stage on a ``height x width`` map: 1 on even
    sides, 2 on odd ones, so the stage's output is ceil(size / 2) on each."""
    return (1 + height % 2, 1 + width % 2)


class _Image(nn.Module):
    """Reshape flat rows ``(batch, C*H*W)`` into images ``(batch, C, H, W)``."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class _ConvBody(nn.Module):
    """Stores the shared parameters of the convolutional blocks; ``layers``
    (a Sequential) is set by the subclass."""

    def __init__(self, image_shape, channels, activation, batch_norm):
        super().__init__()
        self.image_shape = _check_image_shape(image_shape)
        self.channels = _check_channels(channels, type(self).__name__)
        self.activation = activation
        self.batch_norm = batch_norm

    def forward(self, x):
        """Run the block on ``x`` (shapes: see the class docstring)."""
        return self.layers(x)


class ConvEncoder(_ConvBody):
    """Convolutional encoder body for images given as flat rows.

    Each stage is a 4x4 convolution with stride 2 (height and width become
    ``ceil(size / 2)``), followed by batch normalisation and the activation;
    the last feature map is flattened and passed through dropout. skae adds
    the code head.

    Shapes: ``(batch, C*H*W)`` in (rows of pixels, as every sklearn
    transformer takes them, in C, H, W order), ``(batch, channels[-1] * h * w)``
    out, with h and w the height and width after the strided stages (7 x 7
    for 28 x 28 images and two stages).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image; the input has
        ``channels * height * width`` features.
    channels : sequence of int, default=(32, 32)
        Output channels of the convolution stages, from the image inwards.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    batch_norm : bool, default=True
        Batch normalisation after every convolution.
    dropout : float, default=0.2
        Dropout probability on the flattened feature map, the inputs of
        skae's code head (32 x 7 x 7 = 1568 of them for 28 x 28 images).
        Without it, a conv autoencoder trained on 4000 MNIST digits fits its
        training images ever closer while its held-out error rises (see the
        benchmarks page).
    """

    def __init__(
        self,
        image_shape,
        channels=(32, 32),
        activation="relu",
        batch_norm=True,
        dropout=0.2,
    ):
        super().__init__(image_shape, channels, activation, batch_norm)
        self.dropout = dropout
        _, height, width = self.image_shape
        heights = _downsampled(height, len(self.channels))
        widths = _downsampled(width, len(self.channels))
        layers = [_Image(self.image_shape)]
        for stage, out in enumerate(self.channels):
            layers.append(
                LazyConv2d(
                    out,
                    kernel_size=_KERNEL_SIZE,
                    stride=2,
                    padding=_stage_padding(heights[stage], widths[stage]),
                )
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(activation_layer(activation))
        layers.append(nn.Flatten())
        if dropout > 0:
            layers.append(Dropout(dropout))
        self.layers = nn.Sequential(*layers)


class ConvDecoder(_ConvBody):
    """Convolutional decoder body that mirrors :class:`ConvEncoder`.

    A linear layer maps the code onto the encoder's last feature map, then
    each stage is a 4x4 transposed convolution with stride 2 (doubling height
    and width back to the encoder's sizes), with batch normalisation and the
    activation between stages; the last stage outputs the image's channels
    and is flattened, so the output is the reconstruction (no output head).

    Shapes: ``(batch, n_components)`` in, ``(batch, C*H*W)`` out.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one image.
    channels : sequence of int, default=(32, 32)
        The encoder's stage channels, from the image inwards; the decoder
        runs through them in reverse.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS`.
    batch_norm : bool, default=True
        Batch normalisation between the stages.
    """

    def __init__(
        self, image_shape, channels=(32, 32), activation="relu", batch_norm=True
    ):
        super().__init__(image_shape, channels, activation, batch_norm)
        n_channels, height, width = self.image_shape
        heights = _downsampled(height, len(self.channels))
        widths = _downsampled(width, len(self.channels))
        inner = (self.channels[-1], heights[-1], widths[-1])
        layers = [
            LazyLinear(inner[0] * inner[1] * inner[2]),
            activation_layer(activation),
            _Image(inner),
        ]
        outs = [*reversed(self.channels[:-1]), n_channels]
        for stage, out in enumerate(outs):
            # (in - 1) * 2 - 2 * pad + 4 + output_pad hits the encoder's size
            size_in = (heights[-stage - 1], widths[-stage - 1])
            target = (heights[-stage - 2], widths[-stage - 2])
            pad = _stage_padding(*target)
            output_pad = tuple(
                t - (2 * (n - 1) - 2 * p + _KERNEL_SIZE)
                for t, n, p in zip(target, size_in, pad)
            )
            layers.append(
                LazyConvTranspose2d(
                    out,
                    kernel_size=_KERNEL_SIZE,
                    stride=2,
                    padding=pad,
                    output_padding=output_pad,
                )
            )
            if stage < len(outs) - 1:
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(activation_layer(activation))
        layers.append(nn.Flatten())
        self.layers = nn.Sequential(*layers)
