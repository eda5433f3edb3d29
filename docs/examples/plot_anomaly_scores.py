"""
Finding unusual samples with score_samples
==========================================

An autoencoder trained on normal data reconstructs normal data well and
unusual data badly. :meth:`skae.AutoencoderTransformer.score_samples` returns
minus each row's mean squared reconstruction error, so higher means more
normal and the lowest scores flag the rows the model finds unusual. Here we
fit on the digits, hide two kinds of unusual images among held-out digits,
and see how well the score separates them.
"""

# %%
# Normal digits and two kinds of unusual ones
# -------------------------------------------
#
# The model is trained on three quarters of the digits. From the held-out
# quarter we take 20 digits and turn them upside down (mirror them top to
# bottom); 20 more images are
# "pixel-shuffled": each pixel is copied from a different, randomly chosen
# training digit. Both kinds have the digits' range of values, and the
# shuffled images even have exactly the digits' distribution in every single
# pixel; only the joint arrangement of the pixels is wrong. The other 430
# held-out digits are the normal rows.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

rng = np.random.RandomState(0)
order = rng.permutation(len(X_test))
flip_rows, normal_rows = order[:20], order[20:]
X_normal = X_test[normal_rows]
X_flipped = X_test[flip_rows].reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)
X_shuffled = np.column_stack(
    [rng.choice(X_train[:, j], size=20) for j in range(X.shape[1])]
)

X_eval = np.vstack([X_normal, X_flipped, X_shuffled])
kind = np.array(
    ["normal"] * len(X_normal) + ["upside down"] * 20 + ["pixel-shuffled"] * 20
)
labels = np.concatenate([y_test[normal_rows], y_test[flip_rows], [-1] * 20])

# %%
# Fit on the training digits, score the held-out rows
# ---------------------------------------------------
#
# An 8-unit code is wide enough to reconstruct every digit class but too
# narrow to reconstruct arbitrary 64-pixel images. The training data contains
# no unusual rows here; in practice it usually contains a few, and the model
# then learns to reconstruct them a little too.

ae = AutoencoderTransformer(n_components=8, random_state=0).fit(X_train)
scores = ae.score_samples(X_eval)

is_unusual = kind != "normal"
print(f"ROC AUC, all 40 injected rows: {roc_auc_score(is_unusual, -scores):.3f}")
for name in ["upside down", "pixel-shuffled"]:
    keep = (kind == "normal") | (kind == name)
    auc = roc_auc_score(kind[keep] == name, -scores[keep])
    print(f"ROC AUC, {name} only: {auc:.3f}")

# %%
# The scores of the three groups
# ------------------------------
#
# ``roc_auc_score`` expects higher values for the positive (unusual) class,
# hence minus the score above. The histograms are normalised to unit area,
# since the normal group is much larger.

fig, ax = plt.subplots(figsize=(7, 3.8))
bins = np.linspace(scores.min(), scores.max(), 40)
for name in ["normal", "upside down", "pixel-shuffled"]:
    ax.hist(
        scores[kind == name],
        bins=bins,
        density=True,
        histtype="stepfilled",
        alpha=0.5,
        label=f"{name} ({np.sum(kind == name)})",
    )
ax.set(
    xlabel="score_samples (minus the mean squared error per pixel)",
    ylabel="density",
    title="Held-out scores: higher is more normal",
)
ax.legend()
fig.tight_layout()

# %%
# The pixel-shuffled images are separated almost perfectly: no digit class
# looks like them, and the narrow code cannot reproduce them. The upside-down
# digits are only partly found. Many of them are still plausible digits: a
# 0, a 1 or an 8 is nearly symmetric from top to bottom, so the model
# reconstructs its mirror image about as well as any other digit and scores
# it as normal, while flipped 2s and 4s mostly stand out. In the list printed
# at the end, six of the seven 2s and 4s are among the eight lowest scores,
# and the four 0s, the two 1s and two of the three 8s among the nine highest.
# The normal digits' own tail of low scores, badly written or unusual
# digits, overlaps the flipped ones: no threshold catches most of the
# flipped digits without also flagging some genuine ones. This is
# what a reconstruction score measures — how far a row lies from what the
# model can reproduce — not whether it is the kind of row we had in mind.
#
# The eight lowest scores
# -----------------------
#
# Top row: the eight lowest-scoring rows of the whole held-out set; bottom
# row: the eight lowest-scoring normal digits, the ones an analyst would see
# as false alarms.

lowest = np.argsort(scores)[:8]
lowest_normal = np.flatnonzero(kind == "normal")[
    np.argsort(scores[kind == "normal"])[:8]
]
fig, axes = plt.subplots(2, 8, figsize=(9, 3))
for row, picks in enumerate([lowest, lowest_normal]):
    for ax, i in zip(axes[row], picks):
        ax.imshow(X_eval[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        what = "shuffled" if labels[i] < 0 else f"{kind[i]} {labels[i]}"
        ax.set_title(f"{what}\n{scores[i]:.1f}", fontsize=7)
        ax.set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("all rows", fontsize=8)
axes[1, 0].set_ylabel("normal rows", fontsize=8)
fig.tight_layout()

# %%
# Which flipped digits went unnoticed
# -----------------------------------
#
# The digit class of each upside-down image, in order of increasing score
# (most unusual first):

flipped = np.flatnonzero(kind == "upside down")
flipped = flipped[np.argsort(scores[flipped])]
print("upside-down digits, lowest score first:", labels[flipped].tolist())
print(
    "5th percentile of the normal scores:",
    f"{np.percentile(scores[kind == 'normal'], 5):.2f}",
)

plt.show()
