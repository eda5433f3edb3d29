"""Deploying: a pipeline with a skae step logged to MLflow and loaded back.

MLflow is not in the test extra (it pulls some sixty packages); the test
runs where it is installed.
"""

import warnings

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("mlflow.sklearn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

import skae  # noqa: E402


def test_mlflow_sklearn_log_model_and_load_model(tmp_path, monkeypatch):
    # MLflow 3's file:// store refuses to start unless asked for explicitly
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    X, y = load_digits(return_X_y=True)
    pipeline = Pipeline(
        [
            ("scale", MinMaxScaler()),
            (
                "ae",
                skae.AutoencoderTransformer(
                    4, hidden_layer_sizes=(16,), max_iter=3, random_state=0
                ),
            ),
            ("lr", LogisticRegression(max_iter=300)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    with mlflow.start_run():
        # MLflow's default format is skops, which refuses the torch network
        # inside the estimator: cloudpickle (trusted files only) carries it
        info = mlflow.sklearn.log_model(
            pipeline, name="model", serialization_format="cloudpickle"
        )
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded[:-1].transform(X), pipeline[:-1].transform(X))
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))
