"""
Denoising digits with DenoisingAutoencoder
==========================================

Trains on three quarters of the digits scaled to [0, 1] with Gaussian noise
(``noise_level=0.5``, relative to the data's global standard deviation), then
adds noise of σ=0.3 to held-out digits and reconstructs them. Prints the mean
squared error to the clean images of the noisy and of the denoised digits, and
plots clean / noisy / denoised rows.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder

warnings.simplefilter("ignore")
X = load_digits().data / 16.0
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
model = DenoisingAutoencoder(
    32, noise="gaussian", noise_level=0.5, max_iter=100, random_state=0
).fit(X_train)
noisy = X_test + np.random.RandomState(1).normal(scale=0.3, size=X_test.shape)
denoised = model.inverse_transform(model.transform(noisy))
noisy_mse = np.mean((noisy - X_test) ** 2)
denoised_mse = np.mean((denoised - X_test) ** 2)
print(
    f"MSE to clean: noisy {noisy_mse:.4f}, denoised {denoised_mse:.4f} "
    f"({noisy_mse / denoised_mse:.1f}x closer)"
)

n = 10
fig, axes = plt.subplots(3, n, figsize=(n, 3.3))
for row, (name, images) in enumerate(
    [("clean", X_test), ("noisy σ=0.3", noisy), ("denoised", denoised)]
):
    for col in range(n):
        ax = axes[row, col]
        ax.imshow(images[col].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name, fontsize=9)
fig.suptitle(
    f"held-out digits: denoised MSE {denoised_mse:.4f} vs noisy {noisy_mse:.4f}",
    fontsize=10,
)
fig.tight_layout()
plt.show()
