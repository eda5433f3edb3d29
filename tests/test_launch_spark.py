"""skae.distributed.fit_spark on Spark ``local[2]`` (loopback): see
``tests/launching.py``. Skipped without pyspark or Java (CI installs the
spark extra and Java, and runs this file in its own pytest process)."""

import shutil
import sys

import launching
import pytest
from launching import LAUNCH_TIMEOUT, data, failing, fit_and_check, time_limit
from sklearn.exceptions import NotFittedError

from skae.distributed import fit_spark


@pytest.fixture(scope="module")
def spark_local():
    """A Spark ``local[2]`` session on loopback, quiet."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    from pyspark import cloudpickle
    from pyspark.sql import SparkSession

    monkeypatch = pytest.MonkeyPatch()
    # the executors' Python: this one (the default is python3 on the PATH)
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    cloudpickle.register_pickle_by_value(launching)
    yield spark
    cloudpickle.unregister_pickle_by_value(launching)
    spark.stop()
    monkeypatch.undo()


@pytest.mark.slow
@pytest.mark.parametrize("local_mode", [True, False])
def test_fit_spark(spark_local, tmp_path, local_mode):
    fit_and_check(fit_spark, tmp_path, local_mode=local_mode)


@pytest.mark.slow
def test_fit_spark_raises_the_failed_processs_error(spark_local):
    X = data()
    given = failing()
    with time_limit(LAUNCH_TIMEOUT):
        with pytest.raises(ZeroDivisionError, match="rank 1 fails on purpose"):
            fit_spark(given, [X[:100], X[100:]], timeout=120)
    with pytest.raises(NotFittedError):
        given.transform(X)
