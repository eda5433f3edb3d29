"""
Filling in missing pixels with AutoencoderImputer
=================================================

Hides 30% of the pixels of scikit-learn's digits completely at random and
fills them in with :class:`~skae.AutoencoderImputer` (its defaults), with
scikit-learn's :class:`~sklearn.impute.SimpleImputer` (each pixel's mean) and
with :class:`~sklearn.impute.KNNImputer` (the mean of the 5 nearest digits).
Prints each imputer's root mean squared error over the hidden pixels, in
pixel units (0 to 16), and its fit + transform time, then shows a few digits
as they were, with their missing pixels, and as each imputer filled them in.

The autoencoder never sees the hidden values: it is trained on the observed
pixels only (a missing pixel enters the network as its mean over the
observed digits and is left out of the loss), and learns to fill in pixels
because a further quarter of them is hidden the same way in every training
batch, with the loss still asking for their values. ``benchmarks/bench_impute.py``
runs the same comparison on more data, with IterativeImputer too; see the
Imputation section of the benchmarks page.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.impute import KNNImputer, SimpleImputer

from skae import AutoencoderImputer

warnings.simplefilter("ignore")
X = load_digits().data
missing = np.random.RandomState(0).rand(*X.shape) < 0.3
X_missing = np.where(missing, np.nan, X)

imputers = {
    "mean (SimpleImputer)": SimpleImputer(strategy="mean"),
    "5 neighbours (KNNImputer)": KNNImputer(),
    "autoencoder (AutoencoderImputer)": AutoencoderImputer(),
}
imputed, rmses = {}, {}
print(f"{'imputer':34s} {'RMSE':>6s} {'seconds':>8s}")
for name, imputer in imputers.items():
    start = time.perf_counter()
    imputed[name] = imputer.fit(X_missing).transform(X_missing)
    seconds = time.perf_counter() - start
    rmse = np.sqrt(np.mean((imputed[name][missing] - X[missing]) ** 2))
    rmses[name] = rmse
    print(f"{name:34s} {rmse:6.3f} {seconds:8.1f}")

# %%
# Each column is one digit. The second row marks the hidden pixels in red;
# the rows below show what each imputer wrote into them (the observed pixels
# are the same in every row). The mean fills every hole with the average
# digit's stroke, the same whatever the digit; the autoencoder reads the
# visible strokes and continues them.


def with_holes(image, holes):
    """An RGB image: the pixels in grey (0 white, 16 black), holes in red."""
    # an imputed value may fall a little outside 0..16
    grey = np.clip(1 - np.nan_to_num(image) / 16, 0, 1)
    rgb = np.stack([grey, grey, grey], axis=-1)
    rgb[holes] = (0.85, 0.1, 0.1)
    return rgb


shown = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
rows = {"original": X, "30% missing (red)": X_missing, **imputed}
labels = {name: f"{name.split(' (')[0]}\nRMSE {rmses[name]:.2f}" for name in imputers}
labels.update({"original": "original", "30% missing (red)": "30% missing\n(red)"})
fig, axes = plt.subplots(len(rows), len(shown), figsize=(8, 5))
for r, (name, data) in enumerate(rows.items()):
    for c, i in enumerate(shown):
        ax = axes[r, c]
        ax.imshow(
            with_holes(data[i].reshape(8, 8), missing[i].reshape(8, 8) & (r == 1))
        )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(labels[name], rotation=0, ha="right", va="center")
fig.suptitle("digits with 30% of the pixels missing, filled in three ways")
fig.tight_layout()
plt.show()
