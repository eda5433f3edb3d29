"""
Dictionary learning with TopK codes
===================================

Draws rows from a known dictionary (64 unit-norm atoms in 32 dimensions,
3 atoms per row with Gaussian weights: scikit-learn's
``make_sparse_coded_signal``), fits ``SparseAutoencoder(penalty="topk")``
with 3 active units per row, and prints how well its atoms
(``components_``) recover the true ones, the fraction of variance it leaves
unexplained and its dead units. 128 units, since a ReLU code is
non-negative and each atom appears with both signs. Draws the units'
firing frequencies (``LatentFrequencyDisplay``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_sparse_coded_signal

from skae import SparseAutoencoder
from skae.plotting import LatentFrequencyDisplay

X, atoms, _ = make_sparse_coded_signal(
    n_samples=20_000, n_components=64, n_features=32, n_nonzero_coefs=3, random_state=0
)
X += 0.01 * np.random.default_rng(0).normal(size=X.shape)

sae = SparseAutoencoder(128, penalty="topk", n_nonzero_coefs=3, random_state=0).fit(X)

# each true atom's best |cosine| with a learned one
recovery = np.abs(atoms @ sae.components_.T).max(axis=1).mean()
print(
    f"{sae.n_iter_} epochs: recovery {recovery:.3f}, "
    f"FVU {sae.fvu_:.3f}, L0 {sae.mean_nonzeros_:.2f}, "
    f"dead {sae.dead_fraction_:.1%}"
)

display = LatentFrequencyDisplay.from_estimator(sae, X)
plt.show()
