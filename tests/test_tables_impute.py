"""AutoencoderImputer on mixed tables: categorical, boolean and numeric holes."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skae
from skae import AutoencoderImputer, DenoisingAutoencoder
from skae._objectives import MissingEntries, TableLikelihood

FAST = DenoisingAutoencoder(
    16, hidden_layer_sizes=(32,), noise="masking", max_iter=40, random_state=0
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(n=400, seed=0):
    """A table whose categorical and boolean columns follow from the
    numeric ones: ``level`` from ``a``, ``flag`` from ``b``."""
    rng = np.random.RandomState(seed)
    a, b = rng.randn(n), rng.randn(n)
    level = np.where(a > 0.4, "high", np.where(a < -0.4, "low", "mid"))
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "sum": a + b + 0.1 * rng.randn(n),
            "level": pd.Categorical(level),
            "label": pd.Series(level, dtype=object),
            "flag": b > 0,
            "count": pd.array(rng.poisson(3, n), dtype="Int64"),
        }
    )


def _with_holes(X, fraction=0.2, seed=1):
    holes = np.random.RandomState(seed).rand(*X.shape) < fraction
    out = X.copy()
    for j, column in enumerate(X.columns):
        out[column] = X[column].mask(holes[:, j])
    return out, holes


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        X = _table()
        X_missing, holes = _with_holes(X)
        imputer = AutoencoderImputer(FAST).fit(X_missing)
        return imputer, X, X_missing, holes, imputer.transform(X_missing)


def test_holes_are_filled_with_fitted_levels_and_dtypes_kept(fitted):
    imputer, X, X_missing, holes, out = fitted
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(X.columns)
    assert out.dtypes.to_dict() == X_missing.dtypes.to_dict()
    assert out.index.equals(X_missing.index)
    assert not out.isna().any().any()
    assert set(out["level"]) <= {"high", "low", "mid"}
    assert set(out["label"]) <= {"high", "low", "mid"}
    assert set(out["flag"]) <= {False, True}
    # observed entries come back as they were
    for j, column in enumerate(X.columns):
        kept = ~holes[:, j]
        assert out[column][kept].equals(X_missing[column][kept])
    assert imputer.estimator_.table_ is not None
    assert list(imputer.feature_names_in_) == list(X.columns)


def test_categorical_holes_beat_the_most_frequent_level(fitted):
    _, X, X_missing, holes, out = fitted
    for column in ("level", "label", "flag"):
        at = holes[:, list(X.columns).index(column)]
        truth = X[column].to_numpy()[at]
        accuracy = np.mean(out[column].to_numpy()[at] == truth)
        most_frequent = X_missing[column].mode()[0]
        baseline = np.mean(truth == most_frequent)
        assert accuracy > baseline + 0.25, (column, accuracy, baseline)


def test_numeric_holes_beat_the_mean(fitted):
    _, X, _, holes, out = fitted
    at = holes[:, list(X.columns).index("sum")]
    error = np.sqrt(np.mean((out["sum"][at] - X["sum"][at]) ** 2))
    assert error < 0.6 * X["sum"].std()


def test_every_kind_of_missing_marker_is_a_hole():
    X = _table(200)
    X["label"] = X["label"].astype(object)
    X.loc[[0, 1], "label"] = [None, np.nan]
    X.loc[2, "count"] = pd.NA
    X.loc[3, "level"] = np.nan
    X["flag"] = X["flag"].astype("boolean")
    X.loc[4, "flag"] = pd.NA
    out = AutoencoderImputer(clone(FAST).set_params(max_iter=2)).fit_transform(X)
    assert not out.isna().any().any()
    assert out.dtypes.to_dict() == X.dtypes.to_dict()


def test_a_row_missing_a_numeric_value_as_none(fitted):
    imputer, X, _, _, _ = fitted
    row = X.head(1).copy()
    row["a"] = pd.Series([None], dtype=object)  # how pandas holds a lone None
    out = imputer.transform(row)
    assert np.isfinite(out.loc[0, "a"])


def test_the_estimators_column_likelihoods_apply():
    X, holes = _with_holes(_table(200))
    counts = clone(FAST).set_params(max_iter=2, column_likelihoods={"count": "poisson"})
    imputer = AutoencoderImputer(counts).fit(X)
    kinds = {c.name: c.kind for c in imputer.estimator_.table_.columns}
    assert kinds["count"] == "poisson"
    out = imputer.transform(X)
    at = holes[:, list(X.columns).index("count")]
    assert out["count"].dtype == "Int64" and (out["count"][at] >= 0).all()


def test_a_complete_boolean_column_may_have_holes_at_transform(fitted):
    imputer, X, _, _, _ = fitted
    X_new = X.head(20).copy()
    X_new["flag"] = X_new["flag"].astype(object)
    X_new.loc[[0, 3], "flag"] = None  # pandas: an object column of bools
    out = imputer.transform(X_new)
    assert set(out["flag"]) <= {False, True}
    kept = X.head(20).drop(index=[0, 3]).astype(out.dtypes)
    assert out.drop(index=[0, 3]).equals(kept)


def test_a_numeric_frame_takes_the_numeric_path():
    X = _table(200)[["a", "b", "sum"]]
    X_missing, _ = _with_holes(X)
    imputer = AutoencoderImputer(clone(FAST).set_params(max_iter=3))
    from_frame = imputer.fit(X_missing).transform(X_missing)
    assert imputer.estimator_.table_ is None
    from_array = imputer.fit(X_missing.to_numpy()).transform(X_missing.to_numpy())
    np.testing.assert_array_equal(from_frame, from_array)


def test_set_output_and_containers(fitted):
    imputer, _, X_missing, _, out = fitted
    pl = pytest.importorskip("polars")
    polars_out = imputer.set_output(transform="polars").transform(X_missing)
    imputer.set_output(transform="default")
    assert isinstance(polars_out, pl.DataFrame)
    assert polars_out.columns == list(X_missing.columns)
    assert polars_out["level"].to_list() == out["level"].astype(str).tolist()
    pandas_out = (
        AutoencoderImputer(clone(FAST).set_params(max_iter=2))
        .set_output(transform="pandas")
        .fit(pl.from_pandas(X_missing))
        .transform(pl.from_pandas(X_missing))
    )
    assert isinstance(pandas_out, pd.DataFrame)
    assert not pandas_out.isna().any().any()


def test_an_array_with_categorical_features_gives_an_array():
    X = _table(200)
    codes = X["level"].cat.codes.to_numpy().astype(float)  # levels as 0, 1, 2
    array = np.column_stack([X["a"], X["b"], codes])
    holes = np.random.RandomState(1).rand(*array.shape) < 0.2
    array[holes] = np.nan
    imputer = AutoencoderImputer(
        clone(FAST).set_params(max_iter=2), categorical_features=[2]
    ).fit(array)
    out = imputer.transform(array)
    assert isinstance(out, np.ndarray) and out.shape == array.shape
    assert set(out[:, 2]) <= {0.0, 1.0, 2.0}
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~holes], array[~holes])
    assert imputer.estimator_.categorical_features == [2]


def test_add_indicator_on_a_table(fitted):
    imputer, _, X_missing, holes, _ = fitted
    out = AutoencoderImputer(clone(FAST).set_params(max_iter=2), add_indicator=True)
    out = out.fit(X_missing).transform(X_missing)
    names = list(out.columns)
    assert names[: X_missing.shape[1]] == list(X_missing.columns)
    assert names[X_missing.shape[1] :] == [
        f"missingindicator_{c}" for c in X_missing.columns
    ]
    np.testing.assert_array_equal(out.iloc[:, X_missing.shape[1] :].to_numpy(), holes)


def test_the_loss_leaves_out_a_missing_columns_whole_term():
    lik = TableLikelihood([("gaussian", 0, 1), ("categorical", 1, 3)])
    target = torch.tensor([[0.5, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    output = torch.randn(2, 4)
    terms = lik.training_terms(target, output)  # (2 rows, 2 columns)
    missing = target.clone()
    missing[1, 1:] = np.nan  # row 1's categorical column is missing
    loss = MissingEntries(torch.zeros(4)).loss(lik, output, missing)
    expected = (terms[0, 0] + terms[0, 1] + terms[1, 0]) / 3
    torch.testing.assert_close(loss, expected)
    complete = MissingEntries(torch.zeros(4)).loss(lik, output, target)
    torch.testing.assert_close(complete, lik.criterion(output, target))
    # a missing numeric entry is left out of the numeric noise variance too
    missing = target.clone()
    missing[1, 0] = np.nan  # row 1's numeric column is missing
    loss = MissingEntries(torch.zeros(4)).loss(lik, output, missing)
    alone = lik.training_terms(target[:1], output[:1])  # row 0's variance
    terms = lik.training_terms(target, output)
    expected = (alone[0, 0] + terms[0, 1] + terms[1, 1]) / 3
    torch.testing.assert_close(loss, expected)


def test_the_weights_are_fitted_on_the_observed_entries():
    lik = TableLikelihood([("gaussian", 0, 1), ("categorical", 1, 3)])
    rng = np.random.RandomState(0)
    x = np.zeros((50, 4))
    x[:, 0] = rng.randn(50)
    x[np.arange(50), 1 + rng.randint(0, 3, 50)] = 1.0
    holes = x.copy()
    holes[:10] = np.nan  # both columns missing in the first ten rows
    np.testing.assert_allclose(lik.baselines(holes), lik.baselines(x[10:]))
    holes = x.copy()
    holes[:10, 0] = np.nan  # the numeric column only
    baselines = lik.baselines(holes)
    assert baselines[0] == pytest.approx(lik.baselines(x[10:])[0])
    assert baselines[1] == pytest.approx(lik.baselines(x)[1])


def test_the_encoding_is_fitted_on_the_observed_entries(fitted):
    imputer, _, X_missing, _, _ = fitted
    table = imputer.estimator_.table_
    a = next(c for c in table.columns if c.name == "a")
    assert a.center == pytest.approx(X_missing["a"].median())
    level = next(c for c in table.columns if c.name == "level")
    assert list(level.levels) == ["high", "low", "mid"]
    assert all(np.isfinite(c.weight) and c.weight > 0 for c in table.columns)
    fill = imputer.estimator_.net_.missing.fill.cpu().numpy()
    frequencies = X_missing["level"].value_counts(normalize=True)
    np.testing.assert_allclose(
        fill[level.start : level.start + level.width],
        frequencies[["high", "low", "mid"]].to_numpy(),
        rtol=1e-5,
    )


def test_an_all_missing_column_is_refused_naming_it():
    X, _ = _with_holes(_table(100))
    X["label"] = None
    with pytest.raises(ValueError, match="column 'label' has no values"):
        AutoencoderImputer(FAST).fit(X)


def test_an_unknown_level_at_transform_is_refused_naming_it(fitted):
    imputer, _, X_missing, _, _ = fitted
    X_new = X_missing.head(10).copy()
    X_new["label"] = X_new["label"].astype(object)
    X_new.loc[0, "label"] = "huge"
    with pytest.raises(ValueError, match=r"column 'label' holds level\(s\) \['huge'\]"):
        imputer.transform(X_new)


def test_a_dtype_change_at_transform_is_refused_naming_it(fitted):
    imputer, _, X_missing, _, _ = fitted
    X_new = X_missing.head(10).copy()
    X_new["a"] = X_new["a"].astype(str)
    with pytest.raises(ValueError, match="column 'a' was float64 in fit"):
        imputer.transform(X_new)


def test_a_placeholder_other_than_nan_is_refused_on_a_table():
    X, _ = _with_holes(_table(100))
    with pytest.raises(ValueError, match=r"X.replace\('\?', np.nan\)"):
        AutoencoderImputer(FAST, missing_values="?").fit(X)


def test_a_failed_fit_leaves_the_imputer_as_it_was(fitted):
    imputer, _, X_missing, _, out = fitted
    copy = pickle.loads(pickle.dumps(imputer))
    bad = X_missing.copy()
    bad["label"] = None
    with pytest.raises(ValueError):
        copy.fit(bad)
    pd.testing.assert_frame_equal(copy.transform(X_missing), out)


def test_save_load_and_pickle_round_trip(fitted, tmp_path):
    imputer, _, X_missing, _, out = fitted
    pd.testing.assert_frame_equal(
        pickle.loads(pickle.dumps(imputer)).transform(X_missing), out
    )
    path = tmp_path / "imputer.skae"
    skae.save(imputer, path)
    loaded = skae.load(path)
    assert loaded.categorical_features == "from_dtype"
    pd.testing.assert_frame_equal(loaded.transform(X_missing), out)


def test_an_old_pickle_gets_the_default_categorical_features(fitted):
    imputer = fitted[0]
    state = imputer.__getstate__()
    del state["categorical_features"]
    old = AutoencoderImputer.__new__(AutoencoderImputer)
    old.__setstate__(state)
    assert old.get_params()["categorical_features"] == "from_dtype"


def test_the_default_model_on_a_table_is_sized_by_its_rows(monkeypatch):
    # the table path sizes the default's epochs by the frame's rows, as
    # the array path does (a budget of rows visited; lowered here so that
    # 400 rows get 5 epochs)
    import skae._impute

    monkeypatch.setattr(skae._impute, "ROW_BUDGET", 2000)
    X_missing, _ = _with_holes(_table(n=400)[["a", "b", "level"]])
    imputer = AutoencoderImputer().fit(X_missing)
    assert imputer.estimator_.table_ is not None
    assert imputer.estimator_.batch_size == 128
    assert imputer.estimator_.n_iter_ == 5
    assert AutoencoderImputer().get_params()["estimator"] is None
