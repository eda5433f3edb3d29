"""
Denoising digits with DenoisingAutoencoder
==========================================

Trains on three quarters of the digits scaled to [0, 1] with Gaussian noise
(``noise_level=0.5``, relative to the data's global standard deviation), then
adds noise of σ=0.3 to held-out digits and reconstructs them. Prints the mean
squared error to the clean images of the noisy and of the denoised digits, and
plots clean / noisy input / reconstruction rows with
:class:`~skae.plotting.ReconstructionDisplay`.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder
from skae.plotting import ReconstructionDisplay

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

# %%
# :class:`~skae.plotting.ReconstructionDisplay` with ``X_clean`` draws three
# rows: the clean digits, the noisy digits given to the model, and the model's
# reconstructions of those. The colour scale is fixed to the clean data's
# range [0, 1] (the noisy values beyond it show as pure white or black);
# by default it would span the noisy values too and grey out the clean rows.
display = ReconstructionDisplay.from_estimator(
    model,
    noisy,
    X_clean=X_test,
    image_shape=(8, 8),
    n_images=10,
    im_kw={"vmin": 0, "vmax": 1},
)
display.figure_.suptitle(
    f"held-out digits, noise σ=0.3: denoised MSE {denoised_mse:.4f} "
    f"vs noisy {noisy_mse:.4f}",
    fontsize=10,
)
display.figure_.tight_layout()
plt.show()
