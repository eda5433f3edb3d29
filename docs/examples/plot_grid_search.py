"""
Tuning λ and the activation with GridSearchCV
=============================================

skae's estimators are ordinary scikit-learn estimators, so their parameters
are tuned like any other. Here a :class:`~skae.SparseAutoencoder` sits between
a :class:`~sklearn.preprocessing.MinMaxScaler` and a
:class:`~sklearn.linear_model.LogisticRegression`, and
:class:`~sklearn.model_selection.GridSearchCV` picks the strength ``alpha``
(λ) of the L1 penalty on the code and the hidden layers' ``activation`` by
the classifier's cross-validated accuracy on the digits.
"""

# %%
# The pipeline and the grid
# -------------------------
#
# The autoencoder compresses the 64 pixels into a 16-unit code, on which the
# logistic regression is trained. Every candidate is refitted on each of
# three folds, so the network is kept small (one hidden layer of 64 units)
# and short (30 epochs) to keep the whole search within about a minute on
# two CPU cores (the time printed below is that of the build of this page; it
# grows when other jobs share the cores). 30 epochs of the one-cycle
# schedule are fewer than the default budget (``max_iter="auto"``: 200 here),
# which is fine for a comparison like this one; we silence the
# :class:`~sklearn.exceptions.ConvergenceWarning` that a fit still improving
# at ``max_iter`` may raise.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import SparseAutoencoder

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)

pipe = Pipeline(
    [
        ("scale", MinMaxScaler()),
        (
            "ae",
            SparseAutoencoder(
                n_components=16,
                hidden_layer_sizes=(64,),
                max_iter=30,
                random_state=0,
            ),
        ),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
alphas = [0.0, 0.1, 1.0]
activations = ["relu", "tanh", "elu"]
param_grid = {"ae__alpha": alphas, "ae__activation": activations}

# %%
# The search
# ----------
#
# Nine candidates times three folds make 27 fits, run two at a time
# (``n_jobs=2``); ``cv=3`` means three stratified, unshuffled folds. Each
# fit seeds itself from ``random_state``, so the results do not depend on
# ``n_jobs`` or on which worker ran which fit.

search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=2)
start = time.perf_counter()
search.fit(X, y)
n_fits = len(search.cv_results_["params"]) * search.n_splits_
print(f"{n_fits} fits in {time.perf_counter() - start:.1f} s")
print("best_params_:", search.best_params_)
print(f"best_score_: {search.best_score_:.3f}")

# %%
# Mean accuracy over the folds
# ----------------------------
#
# ``cv_results_`` lists the candidates in the order of
# :class:`~sklearn.model_selection.ParameterGrid`, which varies the
# parameters in alphabetical order of their names with the last one fastest:
# here ``ae__activation`` slowest and ``ae__alpha`` fastest. We read the
# values back from ``cv_results_`` rather than rely on that order.

scores = np.empty((len(activations), len(alphas)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    row = activations.index(params["ae__activation"])
    col = alphas.index(params["ae__alpha"])
    scores[row, col] = score

fig, ax = plt.subplots(figsize=(5, 4))
image = ax.imshow(scores, cmap="viridis")
for row in range(len(activations)):
    for col in range(len(alphas)):
        value = scores[row, col]
        ax.text(
            col,
            row,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="black" if value > scores.mean() else "white",
        )
ax.set(
    xticks=range(len(alphas)),
    xticklabels=[str(a) for a in alphas],
    yticks=range(len(activations)),
    yticklabels=activations,
    xlabel="ae__alpha (λ)",
    ylabel="ae__activation",
    title="Mean 3-fold accuracy of the pipeline",
)
fig.colorbar(image, ax=ax, label="accuracy")
fig.tight_layout()

# %%
# Read the map with its scale in mind: most cells lie within about one
# percentage point of each other, which is about the spread between the
# folds themselves (``std_test_score`` in ``cv_results_``), so the search
# tells us less about the best setting than about the ones to avoid: the
# cell that stands out is ReLU hidden units with the strongest penalty. The
# networks trained 30 epochs, not the default budget, and longer training
# can change the ranking.
#
# A baseline belongs next to any such grid: the same logistic regression on
# all 64 scaled pixels, with no autoencoder. On these small images it does
# better than on any of the 16-unit codes: compressing the digits four-fold
# costs the classifier some information. The example shows how to tune an
# autoencoder inside a pipeline, not that it helps this classifier.

print(
    "spread between folds (std_test_score):",
    np.round(search.cv_results_["std_test_score"], 3).tolist(),
)
baseline = Pipeline(
    [("scale", MinMaxScaler()), ("clf", LogisticRegression(max_iter=1000))]
)
baseline_score = cross_val_score(baseline, X, y, cv=3).mean()
print(f"logistic regression on the scaled pixels: {baseline_score:.3f}")

# %%
# Selecting by reconstruction instead
# -----------------------------------
#
# The search above selects by the accuracy of the classifier, because
# ``GridSearchCV`` without a ``scoring`` argument calls the pipeline's
# ``score``, which is the classifier's. Drop the classifier (and pass no
# ``scoring``) and the search calls the autoencoder's own ``score`` on each
# held-out fold: minus the mean squared reconstruction error per entry. It
# then selects the model that reconstructs unseen data best, just as a
# search over :class:`~sklearn.decomposition.PCA` selects by PCA's ``score``
# (there, the held-out log-likelihood under probabilistic PCA). For a sparse
# autoencoder that criterion will usually prefer the smallest λ in the grid,
# since the penalty trades reconstruction for sparsity; it is the right
# criterion when the codes are an end in themselves, and the classifier's
# accuracy is when they feed a downstream model::
#
#     GridSearchCV(
#         Pipeline([("scale", MinMaxScaler()), ("ae", SparseAutoencoder(...))]),
#         {"ae__activation": ["relu", "tanh", "elu"]},
#         cv=3,
#     )

plt.show()
