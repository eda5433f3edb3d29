"""
Sparse codes as λ grows, and what they cost in reconstruction
=============================================================

Fits ``SparseAutoencoder(penalty="l1")`` on three quarters of the digits for a
half-decade grid of ``alpha`` and plots, on the held-out quarter, Hoyer's
sparsity of the codes and the fraction of inactive code entries (left), the
reconstruction error relative to ``alpha=0`` (middle), and the distribution
of code values at three strengths (right).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import SparseAutoencoder, hoyer_sparsity

warnings.simplefilter("ignore")
X = load_digits().data
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
alphas = [0.0, 0.03, 0.1, 0.3, 1.0, 3.0]
rows = []
for alpha in alphas:
    model = SparseAutoencoder(32, alpha=alpha, max_iter=40, random_state=0)
    model.fit(X_train)
    Z = model.transform(X_test)
    rms = np.sqrt(np.mean(Z**2, axis=0))
    rows.append(
        (
            alpha,
            hoyer_sparsity(Z),
            float(np.mean(np.abs(Z) < 0.1 * rms)),
            -model.score(X_test),
            Z,
        )
    )
    print(
        f"alpha={alpha:<5} Hoyer={rows[-1][1]:.3f} inactive={rows[-1][2]:.3f} "
        f"held-out MSE={rows[-1][3]:.3f}"
    )

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
grid = np.arange(len(alphas))
labels = [str(a) for a in alphas]
axes[0].plot(grid, [r[1] for r in rows], "o-", label="Hoyer sparsity")
axes[0].plot(grid, [r[2] for r in rows], "s--", label="inactive fraction")
axes[0].set(
    xticks=grid,
    xticklabels=labels,
    xlabel="alpha (λ)",
    ylim=(0, 1),
    title="Sparsity of held-out codes",
)
axes[0].legend()
errors = np.array([r[3] for r in rows])
axes[1].plot(grid, errors / errors[0], "o-", color="C3")
axes[1].axhline(1.5, color="grey", lw=0.8, ls=":")
axes[1].set(
    xticks=grid,
    xticklabels=labels,
    xlabel="alpha (λ)",
    ylabel="MSE / MSE at λ=0",
    title="Reconstruction cost",
)
for alpha, *_, Z in (rows[0], rows[3], rows[5]):
    axes[2].hist(
        Z.ravel(),
        bins=80,
        range=(-3, 3),
        histtype="step",
        density=True,
        label=f"λ={alpha}",
    )
axes[2].set(yscale="log", xlabel="code value (unit RMS = 1)", title="Code values")
axes[2].legend()
fig.tight_layout()
plt.show()
