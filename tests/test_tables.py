"""Tables: mixed-type DataFrames straight into every estimator (issue 27)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

import skae
from skae._objectives import MIN_NOISE_VARIANCE, TableLikelihood
from skae._table import MAX_LEVELS, TableEncoding

pd = pytest.importorskip("pandas")

ESTIMATORS = [
    skae.AutoencoderTransformer,
    skae.SparseAutoencoder,
    skae.DenoisingAutoencoder,
    skae.ContractiveAutoencoder,
    skae.VAETransformer,
]
FAST = dict(n_components=2, hidden_layer_sizes=(32,), max_iter=30, random_state=0)


def make_table(n=300, seed=0):
    """A learnable mixed table: every column a function of one factor z."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n)
    return pd.DataFrame(
        {
            "a": z + 0.1 * rng.randn(n),
            "b": (2 * z + 0.1 * rng.randn(n)) * 100 + 50,
            "color": pd.Categorical(
                np.where(z < -0.5, "red", np.where(z < 0.5, "green", "blue"))
            ),
            "flag": z > 0,
            "kind": np.where(z > 0.3, "x", "y").astype(object),
            "count": rng.poisson(np.exp(0.5 * z)).astype(np.int64),
            "level": np.clip(np.round(z * 2), -3, 3).astype(np.int32),
        }
    )


def fit(cls, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a short fit
        return cls(**{**FAST, **params}).fit(X)


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def fitted(table):
    return fit(skae.AutoencoderTransformer, table, max_iter=60)


# ------------------------------------------------------------ the encoding


def test_encoding_reads_each_column_by_its_dtype(table):
    enc = TableEncoding.fit(table, column_likelihoods={"count": "poisson"})
    kinds = {c.name: (c.kind, c.width) for c in enc.columns}
    assert kinds == {
        "a": ("gaussian", 1),
        "b": ("gaussian", 1),
        "color": ("categorical", 3),
        "flag": ("bernoulli", 1),
        "kind": ("bernoulli", 1),
        "count": ("poisson", 1),
        "level": ("gaussian", 1),
    }
    M = enc.encode(table)
    assert M.shape == (len(table), 9) and M.dtype == np.float64
    # numeric columns robustly standardised: median 0, IQR 1.349
    q1, med, q3 = np.percentile(M[:, 1], [25, 50, 75])
    assert med == pytest.approx(0, abs=1e-12)
    assert q3 - q1 == pytest.approx(1.349)
    # the one-hot block: one 1 per row
    block = M[:, 2:5]
    np.testing.assert_array_equal(block.sum(1), 1.0)


def test_decode_of_the_encoding_is_the_table(table):
    enc = TableEncoding.fit(table, column_likelihoods={"count": "poisson"})
    back = enc.decode(enc.encode(table), index=table.index)
    pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-9)


def test_table_likelihood_weights_each_column_once():
    # a categorical block of 5 levels is one term, as one Gaussian entry is
    lik = TableLikelihood([("gaussian", 0, 1), ("categorical", 1, 5)])
    x = torch_tensor([[0.0, 0, 0, 1, 0, 0]])
    output = torch_tensor([[1.0, 0, 0, 0, 0, 0]])
    terms = lik.column_terms(x, output)
    assert terms.shape == (1, 2)
    gaussian = 0.5 * (1.0 + np.log(2 * np.pi))
    np.testing.assert_allclose(terms.numpy()[0], [gaussian, np.log(5)], rtol=1e-6)
    # the autoencoders' terms: above the floor, over the weights
    weighted = TableLikelihood(
        [("gaussian", 0, 1), ("categorical", 1, 5)], weights=[2.0, 0.5]
    )
    np.testing.assert_allclose(
        weighted.criterion(output, x).item(), (2 * 0.5 + 0.5 * np.log(5)) / 2, rtol=1e-6
    )


def test_each_column_weighs_one_at_its_marginal(table):
    enc = TableEncoding.fit(table, column_likelihoods={"count": "poisson"})
    lik = enc.likelihood
    x = torch_tensor(enc.encode(table)).double()
    means = x.mean(0)
    # the terms of the best constant prediction average to 1 each: a
    # 3-level column weighs as a numeric or a binary one
    baselines = np.array(lik.baselines(x))
    weights = np.array([c.weight for c in enc.columns])
    np.testing.assert_allclose(baselines * weights, 1.0, rtol=1e-6)
    color = next(c for c in enc.columns if c.name == "color")
    assert color.weight == pytest.approx(
        1 / -(np.log(means[2:5].numpy()) * means[2:5].numpy()).sum()
    )
    a = enc.columns[0]
    assert a.weight == pytest.approx(1 / (0.5 * x[:, 0].var(unbiased=False).item()))


def numeric_table_likelihood():
    """Two numeric columns of marginal variance 1 (weights 2: one over
    half the variance) and a 3-level categorical one."""
    return TableLikelihood(
        [("gaussian", 0, 1), ("gaussian", 1, 1), ("categorical", 2, 3)],
        weights=[2.0, 2.0, 1.0],
    )


def rows_with_error(error, n=40, seed=0):
    """Rows x and outputs whose numeric entries are off by ``error`` times a
    fixed draw (of mean square 1), their categorical logits fixed."""
    rng = np.random.RandomState(seed)
    x = np.zeros((n, 5))
    x[:, :2] = rng.randn(n, 2)
    x[np.arange(n), 2 + rng.randint(0, 3, n)] = 1.0
    draw = rng.randn(n, 2)
    draw /= np.sqrt((draw**2).mean())
    output = np.concatenate([x[:, :2] + error * draw, rng.randn(n, 3)], axis=1)
    return torch_tensor(x).double(), torch_tensor(output).double()


def test_numeric_columns_train_at_their_fitted_noise_variance():
    lik = numeric_table_likelihood()
    m = MIN_NOISE_VARIANCE
    scale = np.log(1 / m)
    # while the error is large (a mean square of at least 1 / log(1 / m) of
    # the variance) the numeric terms are the fixed-variance ones
    x, output = rows_with_error(0.6)
    torch.testing.assert_close(
        lik.training_terms(x, output), lik.reconstruction_terms(x, output)
    )
    for error in (0.5, 0.3):
        x, output = rows_with_error(error)
        terms = lik.training_terms(x, output)
        # below, read at s = error**2: they average to log(s L) / L + 1 / L
        s = error**2
        expected = (1 + np.log(s * scale)) / scale
        assert terms[:, :2].mean().item() == pytest.approx(expected, rel=1e-6)
        # the categorical term is the fixed-weight one
        fixed = lik.reconstruction_terms(x, output)
        torch.testing.assert_close(terms[:, 2], fixed[:, 2])
    # the two readings meet: the loss is continuous at s = 1 / L
    edge = np.sqrt(1 / scale)
    above = lik.criterion(*reversed(rows_with_error(edge * 1.0001))).item()
    below = lik.criterion(*reversed(rows_with_error(edge * 0.9999))).item()
    assert above == pytest.approx(below, abs=1e-3)

    # there, a halving of the numeric error lowers the loss by the same
    # amount whatever its size (above the least variance), where a fixed
    # variance gives ever less: the numeric columns keep their pull
    def drop(error, loss):
        return loss(*rows_with_error(error)) - loss(*rows_with_error(error / 2))

    def trained(x, output):
        return lik.criterion(output, x).item()

    def fixed(x, output):
        return lik.reconstruction_terms(x, output).mean().item()

    assert drop(0.5, trained) == pytest.approx(drop(0.4, trained), rel=1e-6)
    assert drop(0.5, trained) == pytest.approx(2 / 3 * np.log(4) / scale, rel=1e-6)
    assert drop(0.4, fixed) == pytest.approx(drop(0.8, fixed) / 4, rel=1e-6)
    # below the least variance the columns are read at that fixed variance
    x, output = rows_with_error(0.5 * np.sqrt(m))
    terms = lik.training_terms(x, output)[:, :2]
    ratio = lik.reconstruction_terms(x, output)[:, :2]
    torch.testing.assert_close(terms, (ratio / m + np.log(m * scale)) / scale)


def test_the_fitted_noise_variance_is_the_batchs_and_held_for_the_gradient():
    lik = numeric_table_likelihood()
    x, output = rows_with_error(0.5)
    output.requires_grad_(True)
    lik.criterion(output, x).backward()
    # the gradient of a squared error over the variance s, held fixed:
    # (output - x) * 2 / (s log(1/m)) / (rows * columns) on the numeric entries
    s = ((output - x)[:, :2] ** 2).mean().item()
    expected = (output - x)[:, :2] * 2 / (s * np.log(1 / MIN_NOISE_VARIANCE)) / 120
    torch.testing.assert_close(output.grad[:, :2], expected.detach())
    # a row's score depends on that row only; its training term on the batch
    one = lik.reconstruction_terms(x[:1], output[:1])
    torch.testing.assert_close(one, lik.reconstruction_terms(x, output)[:1])
    assert not torch.allclose(
        lik.training_terms(x[:1], output[:1]), lik.training_terms(x, output)[:1]
    )


def torch_tensor(rows):
    import torch

    return torch.tensor(rows, dtype=torch.float32)


# ----------------------------------------------------------- the estimators


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_takes_a_table(cls, table):
    model = fit(cls, table)
    codes = model.transform(table)
    assert codes.shape == (len(table), 2) and np.isfinite(codes).all()
    back = model.inverse_transform(codes)
    assert list(back.columns) == list(table.columns)
    assert list(back.dtypes) == list(table.dtypes)
    assert set(back["color"].unique()) <= set(table["color"].cat.categories)
    assert model.n_features_in_ == table.shape[1]
    np.testing.assert_array_equal(model.feature_names_in_, table.columns)
    assert model.loss_ == "table" and model.table_ is not None
    scores = model.score_samples(table)
    assert scores.shape == (len(table),) and np.isfinite(scores).all()


def test_categorical_reconstruction_beats_chance(fitted, table):
    back = fitted.inverse_transform(fitted.transform(table))
    # chance: the most frequent level (at most 0.4 here)
    majority = table["color"].value_counts(normalize=True).max()
    accuracy = (back["color"] == table["color"]).mean()
    assert accuracy > majority + 0.3
    assert (back["kind"] == table["kind"]).mean() > 0.9
    assert (back["flag"] == table["flag"]).mean() > 0.85
    # numeric columns in their units
    assert np.corrcoef(back["b"], table["b"])[0, 1] > 0.9


def test_vae_sample_gives_rows_of_the_table(table):
    vae = fit(skae.VAETransformer, table)
    rows = vae.sample(5, random_state=0)
    assert isinstance(rows, pd.DataFrame) and rows.shape == (5, table.shape[1])
    assert list(rows.dtypes) == list(table.dtypes)
    assert set(rows["kind"]) <= {"x", "y"}
    pd.testing.assert_frame_equal(rows, vae.sample(5, random_state=0))
    elbo = vae.score_samples(table)
    assert np.isfinite(elbo).all()
    # the importance-weighted bound is at least the ELBO, on average
    iwae = vae.log_likelihood(table, n_samples=32, random_state=0)
    assert iwae.mean() >= elbo.mean() - 1e-6
    # the log-Jacobian: the numeric columns' densities in their units
    assert vae._log_jacobian() == pytest.approx(
        np.log([c.scale for c in vae.table_.columns if c.kind == "gaussian"]).sum()
    )


def test_set_output_keeps_the_index(fitted, table):
    shifted = table.set_axis(np.arange(len(table)) + 1000)
    model = pickle.loads(pickle.dumps(fitted)).set_output(transform="pandas")
    codes = model.transform(shifted)
    back = model.inverse_transform(codes)
    assert list(back.index) == list(shifted.index)
    assert list(back.dtypes) == list(table.dtypes)


def test_polars_in_and_out(table):
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(table[["a", "b", "kind"]])
    model = fit(skae.AutoencoderTransformer, frame)
    assert [c.kind for c in model.table_.columns] == [
        "gaussian",
        "gaussian",
        "bernoulli",
    ]
    back = model.inverse_transform(model.transform(frame))
    assert isinstance(back, pl.DataFrame)
    assert back.columns == frame.columns and back.dtypes == frame.dtypes


def test_set_output_polars_on_a_pandas_table(fitted, table):
    pl = pytest.importorskip("polars")
    model = pickle.loads(pickle.dumps(fitted)).set_output(transform="polars")
    back = model.inverse_transform(model.transform(table))
    assert isinstance(back, pl.DataFrame) and back.columns == list(table.columns)


def test_booleans_without_categorical_features_are_numbers(table):
    model = fit(
        skae.AutoencoderTransformer,
        table[["a", "b", "flag"]],
        categorical_features=None,
    )
    assert model.table_ is None and model.loss_ == "mse"


def test_pickle_round_trip(fitted, table):
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(table), fitted.transform(table))
    pd.testing.assert_frame_equal(
        again.inverse_transform(again.transform(table)),
        fitted.inverse_transform(fitted.transform(table)),
    )


def test_partial_fit_continues_on_the_fitted_encoding(table):
    model = skae.AutoencoderTransformer(**FAST)
    model.partial_fit(table.iloc[:150])
    encoding = model.table_
    model.partial_fit(table.iloc[150:])
    assert model.table_ is encoding and model.n_iter_ == 2
    before = model.transform(table)
    model.set_params(column_likelihoods={"count": "poisson"})
    with pytest.raises(ValueError, match="column_likelihoods \\(fitted None"):
        model.partial_fit(table)
    np.testing.assert_array_equal(model.transform(table), before)
    model.set_params(column_likelihoods=None, categorical_features=["color", "kind"])
    with pytest.raises(ValueError, match="categorical_features"):
        model.set_params(warm_start=True).fit(table)


# -------------------------------------------------------- categorical_features


@pytest.mark.parametrize(
    "given",
    [
        ["color", "kind", "level"],
        [2, 4, 6],
        np.array([0, 0, 1, 0, 1, 0, 1], dtype=bool),
    ],
    ids=["names", "indices", "mask"],
)
def test_categorical_features_forms(given, table):
    enc_model = fit(skae.AutoencoderTransformer, table, categorical_features=given)
    kinds = {c.name: c.kind for c in enc_model.table_.columns}
    assert kinds["level"] == "categorical" and kinds["color"] == "categorical"
    assert kinds["a"] == "gaussian"
    back = enc_model.inverse_transform(enc_model.transform(table))
    assert set(back["level"]) <= set(table["level"])


def test_categorical_features_on_an_array():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(200), rng.randint(0, 4, 200)]).astype(float)
    model = fit(skae.AutoencoderTransformer, X, categorical_features=[1])
    assert [c.kind for c in model.table_.columns] == ["gaussian", "categorical"]
    back = model.inverse_transform(model.transform(X))
    assert isinstance(back, np.ndarray) and back.shape == X.shape
    assert set(np.unique(back[:, 1])) <= {0.0, 1.0, 2.0, 3.0}
    assert not hasattr(model, "feature_names_in_")
    with pytest.raises(ValueError, match="array of integers or as a boolean mask"):
        fit(skae.AutoencoderTransformer, X, categorical_features=["x1"])


def test_categorical_features_errors(table):
    with pytest.raises(ValueError, match="not a valid feature name"):
        fit(skae.AutoencoderTransformer, table, categorical_features=["nope"])
    with pytest.raises(ValueError, match=r"must be in \[0, n_features - 1\]"):
        fit(skae.AutoencoderTransformer, table, categorical_features=[7])
    with pytest.raises(ValueError, match="boolean mask must have shape"):
        fit(skae.AutoencoderTransformer, table, categorical_features=[True])
    # a label column left out of an explicit selection
    with pytest.raises(ValueError, match="'kind' holds labels"):
        fit(skae.AutoencoderTransformer, table, categorical_features=["color"])


def test_column_likelihoods_errors(table):
    with pytest.raises(ValueError, match="'nope', which X does not have"):
        fit(skae.AutoencoderTransformer, table, column_likelihoods={"nope": "poisson"})
    with pytest.raises(ValueError, match="not a likelihood skae knows"):
        fit(skae.AutoencoderTransformer, table, column_likelihoods={"a": "gamma"})
    with pytest.raises(ValueError, match="negative or fractional"):
        fit(skae.AutoencoderTransformer, table, column_likelihoods={"a": "poisson"})
    with pytest.raises(ValueError, match="cannot be read as 'gaussian'"):
        fit(skae.AutoencoderTransformer, table, column_likelihoods={"kind": "gaussian"})


# ------------------------------------------------- the numeric path unchanged


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_numeric_input_takes_the_numeric_path(cls):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5)
    frame = pd.DataFrame(X, columns=list("abcde"))
    on_array, on_frame = fit(cls, X), fit(cls, frame)
    assert on_array.table_ is None and on_frame.table_ is None
    assert on_array.loss_ in ("mse", "bce")
    # (a frame's values reach the network as the array's do, up to the
    # last bits of a float32 fit)
    np.testing.assert_allclose(
        on_array.transform(X), on_frame.transform(frame), rtol=1e-3, atol=1e-4
    )
    # the table path's encoding would standardise, not one global scale
    assert np.ndim(on_array.offset_) == 1 and on_array.scale_ != 1.0


# ------------------------------------------------------------- bad input


def _unchanged(model, table):
    """A snapshot of what a failed call must leave as it was."""
    return model.transform(table).copy()


def test_unknown_level_at_transform_names_the_column(fitted, table):
    before = _unchanged(fitted, table)
    bad = table.copy()
    bad["kind"] = bad["kind"].astype(object)
    bad.loc[3, "kind"] = "zebra"
    with pytest.raises(ValueError, match=r"'kind' holds level\(s\) \['zebra'\]"):
        fitted.transform(bad)
    np.testing.assert_array_equal(fitted.transform(table), before)


def test_dtype_change_between_fit_and_transform(fitted, table):
    bad = table.copy()
    bad["a"] = bad["a"].astype(str)
    with pytest.raises(ValueError, match="'a' was float64 in fit and is"):
        fitted.transform(bad)


def test_missing_and_renamed_columns(fitted, table):
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        fitted.transform(table.drop(columns="b"))
    with pytest.raises(ValueError, match="in another order"):
        fitted.transform(table[table.columns[::-1]])


def test_all_missing_column(table):
    bad = table.copy()
    bad["empty"] = np.nan
    with pytest.raises(ValueError, match="'empty' has no values"):
        fit(skae.AutoencoderTransformer, bad)


@pytest.mark.parametrize("column", ["color", "a"])
def test_missing_values_at_fit(column, table):
    bad = table.copy()
    bad[column] = bad[column].astype(object if column == "color" else float)
    bad.loc[5, column] = None
    with pytest.raises(ValueError, match=f"'{column}' has 1 missing value"):
        fit(skae.AutoencoderTransformer, bad)


def test_missing_values_at_transform_leave_the_model(fitted, table):
    before = _unchanged(fitted, table)
    bad = table.copy()
    bad["b"] = bad["b"].astype(float)
    bad.loc[2, "b"] = np.nan
    with pytest.raises(ValueError, match="'b' has 1 missing value"):
        fitted.transform(bad)
    np.testing.assert_array_equal(fitted.transform(table), before)


def test_one_level_column_is_kept(table):
    one = table.assign(const=pd.Categorical(["only"] * len(table)))
    model = fit(skae.AutoencoderTransformer, one)
    column = model.table_.columns[-1]
    assert (column.kind, column.width) == ("categorical", 1)
    back = model.inverse_transform(model.transform(one))
    assert (back["const"] == "only").all()


def test_too_many_levels_is_refused_before_training(table):
    ids = table.assign(id=[f"row{i}" for i in range(len(table))])
    wide = pd.concat([ids] * 4, ignore_index=True)
    wide["id"] = [f"row{i}" for i in range(len(wide))]
    assert len(wide) > MAX_LEVELS
    model = skae.AutoencoderTransformer(**FAST)
    with pytest.raises(ValueError, match="'id' has 1200 levels, more than"):
        model.fit(wide)
    assert not hasattr(model, "net_")


def test_mixed_types_in_an_object_column(table):
    bad = table.copy()
    bad["kind"] = bad["kind"].astype(object)
    bad.loc[0, "kind"] = 1
    with pytest.raises(ValueError, match="'kind' mixes values of several types"):
        fit(skae.AutoencoderTransformer, bad)


def test_a_failed_fit_leaves_the_model(fitted, table):
    model = pickle.loads(pickle.dumps(fitted))
    before = _unchanged(model, table)
    bad = table.assign(empty=np.nan)
    with pytest.raises(ValueError, match="'empty' has no values"):
        model.fit(bad)
    np.testing.assert_array_equal(model.transform(table), before)
    assert model.n_features_in_ == table.shape[1]


def test_settings_a_table_cannot_take(table):
    with pytest.raises(ValueError, match="loss='bce'"):
        fit(skae.AutoencoderTransformer, table, loss="bce")
    with pytest.raises(ValueError, match="likelihood other than 'auto'"):
        fit(skae.VAETransformer, table, likelihood="gaussian")
    with pytest.raises(ValueError, match="penalty='topk' builds a linear dictionary"):
        skae.SparseAutoencoder(penalty="topk", n_components=4).fit(table)


# ------------------------------------------------------------ persistence


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_save_load_round_trip(cls, table, tmp_path):
    model = fit(
        cls,
        table,
        max_iter=5,
        categorical_features=["color", "kind", "level"],
        column_likelihoods={"count": "poisson"},
    )
    path = tmp_path / "model.skae"
    skae.save(model, path)
    again = skae.load(path)
    np.testing.assert_array_equal(again.transform(table), model.transform(table))
    codes = model.transform(table)
    pd.testing.assert_frame_equal(
        again.inverse_transform(codes), model.inverse_transform(codes)
    )
    assert [c.kind for c in again.table_.columns] == [
        c.kind for c in model.table_.columns
    ]
    assert again.get_params()["categorical_features"] == ["color", "kind", "level"]
    np.testing.assert_array_equal(
        again.score_samples(table), model.score_samples(table)
    )


@pytest.mark.parametrize(
    "chosen", [{1: "poisson"}, {"pairs": "poisson"}], ids=["index", "named-pairs"]
)
def test_column_likelihoods_keys_survive_save_load(chosen, tmp_path):
    # JSON keys are strings: an array's column index must come back an int
    # (it was '1', and the reloaded model's clone could not be fitted), and
    # a column that happens to be named "pairs" must come back as it was
    rng = np.random.default_rng(0)
    counts = rng.poisson(3, size=40).astype(float)
    if "pairs" in chosen:
        X = pd.DataFrame({"a": rng.normal(size=40), "pairs": counts})
    else:
        X = np.c_[rng.normal(size=40), counts]
    model = fit(skae.AutoencoderTransformer, X, max_iter=2, column_likelihoods=chosen)
    skae.save(model, tmp_path / "model.skae")
    again = skae.load(tmp_path / "model.skae")
    assert again.get_params()["column_likelihoods"] == chosen
    np.testing.assert_array_equal(again.transform(X), model.transform(X))
    # the clone fits (2 components on 2 columns: it says it is overcomplete)
    with pytest.warns(UserWarning, match="can learn to copy"):
        clone(again).fit(X)


def _edit_manifest(path, edit):
    """Rewrite the model file's manifest by ``edit`` (its checksum fixed too)."""
    import hashlib
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        weights = archive.read("weights.pt")
    edit(manifest)
    data = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", data)
        archive.writestr("manifest.sha256", hashlib.sha256(data).hexdigest())
        archive.writestr("weights.pt", weights)


def test_a_damaged_table_record_is_refused(fitted, tmp_path):
    path = tmp_path / "model.skae"
    skae.save(fitted, path)

    def damage(manifest):
        manifest["fitted"]["table_"]["columns"][2]["kind"] = "exec"

    _edit_manifest(path, damage)
    with pytest.raises(ValueError, match=r"fitted\.table_ .*kind must be one of"):
        skae.load(path)


def test_damaged_column_likelihood_pairs_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=30), rng.poisson(3, size=30)]
    model = fit(
        skae.AutoencoderTransformer, X, max_iter=1, column_likelihoods={1: "poisson"}
    )
    path = tmp_path / "model.skae"
    skae.save(model, path)

    def damage(manifest):
        manifest["params"]["column_likelihoods"]["pairs"] = [[1.5, "poisson"]]

    _edit_manifest(path, damage)
    with pytest.raises(ValueError, match=r"column_likelihoods must hold \[column"):
        skae.load(path)


def test_onnx_refuses_a_table_model_naming_the_fix(fitted):
    onnx = pytest.importorskip("skae.onnx")
    with pytest.raises(onnx.ExportError, match="ColumnTransformer"):
        onnx.to_onnx_inverse(fitted)


# ---------------------------------------------------------- the corruption


def test_denoising_swaps_categories_to_another_level(table):
    import torch

    from skae._objectives import TableCorruption, make_corruption

    enc = TableEncoding.fit(table)
    lik = enc.likelihood
    x = torch.tensor(enc.encode(table), dtype=torch.float32)
    corruption = make_corruption(
        "gaussian",
        0.5,
        lambda: (torch.ones(enc.width), torch.zeros(enc.width)),
        np.zeros(enc.width),
        1.0,
        likelihood=lik,
    )
    assert isinstance(corruption, TableCorruption)
    out = corruption(x, torch.Generator().manual_seed(0))
    color = next(c for c in enc.columns if c.name == "color")
    block, clean = (t[:, color.start : color.start + 3].numpy() for t in (out, x))
    np.testing.assert_array_equal(block.sum(1), 1.0)  # still one level
    np.testing.assert_array_equal(np.isin(block, [0.0, 1.0]), True)
    changed = (block != clean).any(axis=1)
    # swapped with probability 0.5, always to another level
    assert 0.35 < changed.mean() < 0.65
    flag = next(c for c in enc.columns if c.name == "flag").start
    flipped = out[:, flag] != x[:, flag]
    assert set(out[:, flag].tolist()) <= {0.0, 1.0}
    assert 0.35 < flipped.float().mean() < 0.65
    a = next(c for c in enc.columns if c.name == "a").start
    assert (out[:, a] != x[:, a]).all()  # numeric entries get the noise
    model = fit(skae.DenoisingAutoencoder, table)
    assert isinstance(model.net_.corruption, TableCorruption)


def test_infinite_values_and_repeated_names(table):
    bad = table.copy()
    bad.loc[4, "a"] = np.inf
    with pytest.raises(ValueError, match="'a' holds infinite values"):
        fit(skae.AutoencoderTransformer, bad)
    twice = pd.concat([table[["a", "kind"]], table[["a"]]], axis=1)
    with pytest.raises(ValueError, match=r"repeated column names \['a'\]"):
        fit(skae.AutoencoderTransformer, twice)


def test_small_integer_columns_stay_in_range():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "u": rng.randint(250, 256, 200).astype(np.uint8),
            "kind": rng.choice(["p", "q", "r"], 200).astype(object),
        }
    )
    enc = TableEncoding.fit(frame)
    means = enc.encode(frame)
    means[:, 0] += 100.0  # far beyond uint8's range in the column's units
    back = enc.decode(means)
    assert back["u"].dtype == np.uint8 and back["u"].max() == 255
