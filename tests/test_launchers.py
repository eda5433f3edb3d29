"""The launchers of ``skae.distributed`` without their engines: a missing
engine names its extra. The end-to-end tests are ``tests/test_launch_ray.py``
and ``tests/test_launch_spark.py`` (see ``tests/launching.py``)."""

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
