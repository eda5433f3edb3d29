"""Codes as features: do supervised codes beat PCA's for a linear model?

Question
--------
A first version of issue 28's benchmark, on the data sets scikit-learn
bundles: digits, breast_cancer and wine (classification, read by a
LogisticRegression) and diabetes (regression, read by a Ridge). For each,
a ``Pipeline(StandardScaler(), <reducer>, <model>)`` with

- ``raw``: no reducer (the features themselves, reported honestly);
- ``PCA``: ``PCA(k)``;
- ``AE``: ``AutoencoderTransformer(k)`` at its defaults (unsupervised);
- ``AE searched``: the same with ``target_weight`` in {0, 0.3, 1, 3},
  chosen by the search (0 is the unsupervised code: the search is free to
  keep it);

and ``--vae`` adds the same two rows for ``VAETransformer``. The code width
is ``k = max(2, round(n_features / 4))`` (a quarter of the width, as in the
issue), ``random_state=0`` throughout. Each pipeline is tuned by
``GridSearchCV`` (3-fold, on the training rows: the model's ``C`` or
``alpha`` in {0.1, 1, 10}, and ``target_weight`` where listed; the fitted
reducers are cached between the model's values) and scored once on
held-out rows (a stratified quarter for classification, a quarter for
regression): accuracy, or R².

How to call it
--------------
::

    python benchmarks/bench_features.py                   # all four data sets
    python benchmarks/bench_features.py --data wine diabetes --n-jobs 4
    python benchmarks/bench_features.py --smoke           # 3 epochs a fit

What counts as a pass
---------------------
Nothing is judged yet: the table is reported (issue 28's goal, the
searched codes at least as good as PCA's on every data set, is what to read
it for). ``--smoke`` only shows that the script runs.
"""

import argparse
import tempfile
import time
import warnings

from _env import describe
from _report import print_header
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, VAETransformer

#: name -> (loader, task)
DATA = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}

TARGET_WEIGHTS = [0.0, 0.3, 1.0, 3.0]
MODEL_STRENGTHS = [0.1, 1.0, 10.0]


def width(n_features):
    """The code width: a quarter of the input's, at least 2."""
    return max(2, round(n_features / 4))


def model_step(task):
    """The last step and its grid: a LogisticRegression over C, or a Ridge
    over alpha."""
    if task == "classification":
        return LogisticRegression(max_iter=5000), {"model__C": MODEL_STRENGTHS}
    return Ridge(), {"model__alpha": MODEL_STRENGTHS}


def reducers(k, smoke, vae):
    """name -> (reducer or None, its grid)."""
    extra = dict(max_iter=3) if smoke else {}
    rows = {
        "raw": (None, {}),
        "PCA": (PCA(k, random_state=0), {}),
        "AE": (AutoencoderTransformer(k, random_state=0, **extra), {}),
        "AE searched": (
            AutoencoderTransformer(k, random_state=0, **extra),
            {"reducer__target_weight": TARGET_WEIGHTS},
        ),
    }
    if vae:
        rows["VAE"] = (VAETransformer(k, random_state=0, **extra), {})
        rows["VAE searched"] = (
            VAETransformer(k, random_state=0, **extra),
            {"reducer__target_weight": TARGET_WEIGHTS},
        )
    return rows


def run(name, smoke, vae, n_jobs):
    """Print one data set's rows of the table."""
    loader, task = DATA[name]
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=0.25,
        random_state=0,
        stratify=y if task == "classification" else None,
    )
    k = width(X.shape[1])
    model, model_grid = model_step(task)
    for reducer_name, (reducer, grid) in reducers(k, smoke, vae).items():
        steps = [("scale", StandardScaler())]
        if reducer is not None:
            steps.append(("reducer", reducer))
        steps.append(("model", model))
        with tempfile.TemporaryDirectory() as cache:
            pipe = Pipeline(steps, memory=cache)
            search = GridSearchCV(pipe, {**grid, **model_grid}, cv=3, n_jobs=n_jobs)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            score = search.score(X_test, y_test)
        chosen = ", ".join(
            f"{key.split('__')[1]}={value:g}"
            for key, value in sorted(search.best_params_.items())
        )
        print(
            f"{name:<14} {X.shape[0]:>5} {X.shape[1]:>4} {k:>3}  "
            f"{reducer_name:<13} {score:>8.3f}  {chosen:<28} {seconds:>7.1f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", choices=list(DATA), default=list(DATA))
    parser.add_argument("--vae", action="store_true", help="add VAETransformer rows")
    parser.add_argument("--smoke", action="store_true", help="3 epochs a fit")
    parser.add_argument("--n-jobs", type=int, default=1, help="GridSearchCV's n_jobs")
    args = parser.parse_args()
    describe("bench_features: codes as features for a linear model")
    print(
        "held-out accuracy (classification: LogisticRegression) or R² "
        "(diabetes: Ridge); GridSearchCV 3-fold on the training rows"
    )
    print_header(
        f"{'data':<14} {'rows':>5} {'cols':>4} {'k':>3}  {'reducer':<13} "
        f"{'held-out':>8}  {'chosen':<28} {'search s':>7}"
    )
    for name in args.data:
        run(name, args.smoke, args.vae, args.n_jobs)


if __name__ == "__main__":
    main()
