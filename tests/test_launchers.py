"""The launchers of ``skae.distributed`` without their engines: a missing
engine names its extra. The end-to-end tests are ``tests/test_launch_ray.py``
and ``tests/test_launch_spark.py`` (see ``tests/launching.py``)."""

import subprocess
import sys

import pytest
from launching import data

import skae
from skae.distributed import fit_ray, fit_spark


@pytest.mark.parametrize(
    "launcher, module, extra",
    [(fit_ray, "ray", "ray"), (fit_spark, "pyspark", "spark")],
)
def test_a_missing_engine_names_the_extra(monkeypatch, launcher, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ImportError, match=rf'the {extra} extra .* -e "\.\[{extra}\]"'):
        launcher(skae.AutoencoderTransformer(), [data(), data()])


@pytest.mark.parametrize("fails", [False, True])
def test_a_spark_process_keeps_its_exit_status_without_finalization(fails):
    """fit_spark's processes leave at exit through os._exit (no Python
    finalization, where a gloo worker sometimes aborted): the atexit
    handlers registered before it do not run, the status stays 1 after an
    uncaught exception, 0 otherwise, and the output is flushed."""
    script = (
        "import atexit, sys\n"
        "from skae.distributed import _skip_finalization_at_exit\n"
        # registered first, it would run after the handler: it must not run
        "atexit.register(print, ' finalised', end='')\n"
        "_skip_finalization_at_exit()\n"
        "print('written', end='')\n"  # no newline: flushed by the handler
        + ("raise ZeroDivisionError('on purpose')\n" if fails else "")
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == (1 if fails else 0)
    assert done.stdout == "written"
    assert ("ZeroDivisionError: on purpose" in done.stderr) == fails
