"""
PCA vs AutoencoderTransformer on the digits
===========================================

:class:`~skae.AutoencoderTransformer` has the interface of
:class:`~sklearn.decomposition.PCA`: ``fit``, ``transform`` to codes,
``inverse_transform`` back to the data's units, ``score``. Here both reduce
scikit-learn's 8x8 digits, first to two components, which we can look at,
then to eight, and we compare the codes and the reconstructions of digits
neither model saw during training.
"""

# %%
# Data
# ----
#
# Three quarters of the 1797 digits train the models; the held-out quarter,
# stratified by digit class, is what we plot and measure. Pixel values run
# from 0 to 16, and every error below is in those units: mean squared error
# per pixel.
#
# The autoencoder trains at its defaults: a one-cycle learning-rate schedule
# over about 2500 optimizer steps (``max_iter="auto"``: 200 epochs on these
# 1347 rows), unless the stopping rule ends it sooner.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer
from skae.plotting import CodeScatterDisplay, ReconstructionDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)


def held_out_mse(model):
    """Mean squared error per pixel of the reconstructed held-out digits."""
    reconstructed = model.inverse_transform(model.transform(X_test))
    return float(np.mean((X_test - reconstructed) ** 2))


# %%
# Two components
# --------------
#
# PCA's two components are the two directions of largest variance; the
# autoencoder's two code units are whatever nonlinear summary lets its
# decoder rebuild the images best. Each panel shows the codes of the
# held-out digits, coloured by the digit they show.

pca_2 = PCA(n_components=2, random_state=0).fit(X_train)
ae_2 = AutoencoderTransformer(n_components=2, random_state=0).fit(X_train)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
for model, ax in zip([pca_2, ae_2], axes):
    display = CodeScatterDisplay.from_estimator(model, X_test, y_test, ax=ax, s=8)
    display.ax_.set_title(
        f"{type(model).__name__}: held-out MSE {held_out_mse(model):.2f}"
    )
# one legend, beside the right panel rather than over the points
axes[0].get_legend().remove()
legend = axes[1].get_legend()
legend.set_title("digit")
legend.set_bbox_to_anchor((1.02, 0.5))
legend.set_loc("center left")

print("held-out reconstruction MSE per pixel, n_components=2")
print(f"  PCA                     {held_out_mse(pca_2):.3f}")
print(f"  AutoencoderTransformer  {held_out_mse(ae_2):.3f}")

# %%
# In both planes the 0s stand apart, the 4s and 6s share a region of their
# own, and the 5s and 8s overlap other digits in the middle. PCA's plane
# mixes the 1s with the 7s and 8s; the autoencoder's pulls most of the 1s
# to the bottom and the 2s out to the left, and its reconstructions are
# closer to the digits (held-out MSE 9.293 against PCA's 13.573).
# The autoencoder's axes have no order and no meaning of their own: unlike PCA's,
# its code units are not sorted by variance, and another ``random_state``
# gives a different, equally good, arrangement.
#
# Two numbers cannot hold a whole digit, though. Here is what the
# autoencoder makes of the first eight held-out digits from its
# two-dimensional codes:

display = ReconstructionDisplay.from_estimator(
    ae_2, X_test, image_shape=(8, 8), n_images=8
)
display.figure_.suptitle("AutoencoderTransformer, n_components=2")
display.figure_.tight_layout()

# %%
# Eight components
# ----------------
#
# With eight components both models reconstruct recognisable digits. The
# rows below are the same eight held-out digits, PCA's reconstructions and
# the autoencoder's, all on the original 0..16 grey scale.

pca_8 = PCA(n_components=8, random_state=0).fit(X_train)
ae_8 = AutoencoderTransformer(n_components=8, random_state=0).fit(X_train)

n_images = 8
rows = {
    "original": X_test[:n_images],
    "PCA": pca_8.inverse_transform(pca_8.transform(X_test[:n_images])),
    "autoencoder": ae_8.inverse_transform(ae_8.transform(X_test[:n_images])),
}
fig, axes = plt.subplots(3, n_images, figsize=(n_images + 1, 3.6))
for row, (name, images) in enumerate(rows.items()):
    for col in range(n_images):
        ax = axes[row, col]
        ax.imshow(images[col].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set(xticks=[], yticks=[])
    axes[row, 0].set_ylabel(name)
fig.suptitle(
    f"n_components=8, held-out MSE per pixel: PCA {held_out_mse(pca_8):.2f}, "
    f"autoencoder {held_out_mse(ae_8):.2f}"
)
fig.tight_layout()

print("held-out reconstruction MSE per pixel, n_components=8")
print(f"  PCA                     {held_out_mse(pca_8):.3f}")
print(f"  AutoencoderTransformer  {held_out_mse(ae_8):.3f}")

# %%
# PCA's reconstructions are blurred sums of eight fixed images and can leave
# the 0..16 range; the autoencoder's are sharper, and on these pixels, which
# pile up at 0 and 16, its default ``loss="auto"`` trains it with binary
# cross-entropy on a sigmoid output, which keeps them in range. The price is
# training time: PCA fits in milliseconds, while the two autoencoders here
# take most of this page's running time (23.8 s in this build, printed at
# the end). The codes of either can feed a downstream model; see
# :ref:`sphx_glr_auto_examples_plot_grid_search.py` for tuning an
# autoencoder by the accuracy of a classifier on its codes.

plt.show()
