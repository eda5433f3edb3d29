"""Which default model should AutoencoderImputer train on a table?

Question
--------
The development sweep behind the imputer's table default (issue 27 item 4):
on a DEVELOPMENT subset of five of ``bench_tables.py``'s ten real tables
(wage, oj, auto, gbsg2, fair: every other one; the other five are held out
for the final run of ``bench_tables.py``), each candidate setting of the
default estimator (a JSON dict of ``DenoisingAutoencoder`` parameters set on
``skae._impute.default_estimator``'s model, plus ``n_passes`` for the
imputer) imputes the raw DataFrame exactly as ``bench_tables.py``'s
``impute_native`` part does (same splits, holes, 20% and 40% MCAR, seeds 0
1 2, same scoring), and its numeric RMSE is set against
``IterativeImputer()``'s from ``bench_tables.py``'s cached ``impute``
results (run that part first).

How to call it
--------------
::

    OMP_NUM_THREADS=1 python benchmarks/bench_impute_dev.py '{}' \
        '{"batch_size": 128}' '{"noise_level": 0.2, "n_passes": 1}'

``'{}'`` is the default as it stands (its batch size set by the rows:
32 on these tables); a setting is applied to the default for a small
table (``default_estimator(table=True)``: batch 32, 40 epochs), so
``'{"batch_size": 128}'`` is the default before the sweep.

What counts as a pass
---------------------
Nothing is gated: it prints, per setting, the (table, fraction) cases whose
mean RMSE over the seeds is below IterativeImputer's, the geometric mean of
the ratios (lower is better) and each case's pair of figures.
"""

import argparse
import json
import os
import time
import warnings

import bench_tables
import numpy as np
from _tables import load_table
from bench_tables import HERE, MISSING, impute_native_fraction, split

from skae import AutoencoderImputer
from skae._impute import default_estimator

DEV = ("wage", "oj", "auto", "gbsg2", "fair")


def imputer_factory(setting):
    """``bench_tables.skae_imputer``'s stand-in for one setting."""
    setting = dict(setting)
    n_passes = setting.pop("n_passes", 2)
    if not setting:
        return lambda quick: AutoencoderImputer(n_passes=n_passes)
    estimator = default_estimator(table=True).set_params(**setting)
    return lambda quick: AutoencoderImputer(estimator, n_passes=n_passes)


def sweep(setting, data, seeds, cache):
    bench_tables.skae_imputer = imputer_factory(setting)
    pairs = {}
    for name, X in data.items():
        for seed in seeds:
            X_train, X_test = split(X, seed)
            with open(os.path.join(cache, f"impute_{name}_seed{seed}.json")) as f:
                cached = json.load(f)
            for fraction in MISSING:
                ours = impute_native_fraction(X_train, X_test, fraction, seed, False)
                iterative = cached[str(fraction)]["methods"]["Iterative"]["rmse"]
                pairs.setdefault((name, fraction), []).append(
                    (ours["methods"]["skae native"]["rmse"], iterative)
                )
    return {key: np.mean(values, axis=0) for key, values in pairs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("settings", nargs="*", default=["{}"])
    parser.add_argument("--tables", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cache", default=os.path.join(HERE, "results", "tables"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    data = {n: load_table(n, max_rows=2000, random_state=0)[0] for n in args.tables}
    for text in args.settings:
        start = time.process_time()
        means = sweep(json.loads(text), data, args.seeds, args.cache)
        ratios = [ours / iterative for ours, iterative in means.values()]
        wins = sum(ratio < 1 for ratio in ratios)
        print(
            f"{text}: below Iterative {wins} of {len(ratios)}, geometric mean "
            f"ratio {np.exp(np.mean(np.log(ratios))):.4f}, "
            f"CPU {time.process_time() - start:.0f} s"
        )
        print(
            "   ",
            " ".join(
                f"{name} {fraction:.0%}: {ours:.3f}/{iterative:.3f}"
                for (name, fraction), (ours, iterative) in means.items()
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
