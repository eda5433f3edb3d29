"""
A convolutional autoencoder for images
======================================

Images reach skae as they reach every scikit-learn transformer: one row of
pixels per image. :class:`~skae.nn.ConvEncoder` and
:class:`~skae.nn.ConvDecoder` take the image's ``(channels, height, width)``
and reshape the rows themselves, so a convolutional autoencoder is the
default :class:`~skae.AutoencoderTransformer` with two blocks handed in.
Here it reduces scikit-learn's 8x8 digits to a few components, next to the
default (fully connected) autoencoder and PCA, and we compare their
reconstructions of digits none of them saw in training.
"""

# %%
# Data and models
# ---------------
#
# Three quarters of the 1797 digits train the models, the held-out quarter
# measures them. The pixels run from 0 to 16; the error below is the squared
# error per image (summed over the 64 pixels) with the pixels scaled to
# [0, 1]. All three models keep ``n_components=8`` numbers per image, and the
# two autoencoders use every other default, the conv blocks included.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer
from skae.nn import ConvDecoder, ConvEncoder

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0, stratify=y)
k = 8
models = {
    "PCA": PCA(n_components=k, random_state=0),
    "MLP autoencoder": AutoencoderTransformer(n_components=k, random_state=0),
    "conv autoencoder": AutoencoderTransformer(
        n_components=k,
        encoder=ConvEncoder((1, 8, 8)),
        decoder=ConvDecoder((1, 8, 8)),
        random_state=0,
    ),
}

# %%
# Held-out error
# --------------
#
# The autoencoders train for seconds (``fit s``, over ``epochs``, which the
# default ``max_iter="auto"`` sets, unless the stopping rule ends them
# sooner); PCA in milliseconds.

reconstructions, errors = {}, {}
print(f"{'model':18s} {'sq. error':>9s} {'/ PCA':>6s} {'fit s':>6s} {'epochs':>6s}")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train)
    seconds = time.perf_counter() - start
    reconstructions[name] = model.inverse_transform(model.transform(X_test))
    errors[name] = float(
        np.mean(np.sum(((reconstructions[name] - X_test) / 16) ** 2, axis=1))
    )
    print(
        f"{name:18s} {errors[name]:9.3f} {errors[name] / errors['PCA']:6.3f} "
        f"{seconds:6.1f} {getattr(model, 'n_iter_', ''):>6}"
    )

# %%
# Reconstructions
# ---------------
#
# The first row holds ten held-out digits; each row below is one model's
# reconstruction of them from its eight numbers, on the same grey scale,
# labelled with the model's error over the whole held-out quarter.

n_images = 10
rows = {"original": X_test, **reconstructions}
fig, axes = plt.subplots(len(rows), n_images, figsize=(n_images + 1.4, len(rows) + 0.6))
for row, (name, images) in enumerate(rows.items()):
    for col in range(n_images):
        ax = axes[row, col]
        ax.imshow(images[col].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set(xticks=[], yticks=[])
    label = name if name == "original" else f"{name}\nerror {errors[name]:.2f}"
    axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
fig.suptitle(
    f"held-out digits and their reconstructions from {k} components\n"
    "error: squared error per held-out image, pixels scaled to [0, 1]",
    fontsize=10,
)
fig.tight_layout()

# %%
# Both autoencoders reconstruct the digits far better than PCA. Between the
# two, compare the table: on 8x8 images, two stride-2 stages leave a 2x2 map,
# and the convolutions have little room to show what they are for. On 28x28
# MNIST digits they do: ``benchmarks/bench_conv.py`` compares the same three
# models there (see the benchmarks page).
#
# The conv blocks take their own parameters: ``channels`` (one stride-2
# stage per entry), ``activation``, ``batch_norm`` and, for the encoder,
# ``dropout``; see :class:`~skae.nn.ConvEncoder`. Because skae adds the code
# head, the same ``ConvEncoder`` also serves :class:`~skae.VAETransformer`
# and the other estimators.

plt.show()
