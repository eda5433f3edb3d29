"""The supervised option (``target_weight``): a head on the code trained
with the reconstruction to predict y."""

import pickle
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from conftest import FAST, fast_autoencoders
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import skae
from skae._losses import target_loss

IDS = [type(e).__name__ for e in fast_autoencoders()]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    """60 rows of 6 features and a 3-class integer label."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0).astype(int)
    return X, y


def _supervised(estimator, **params):
    return clone(estimator).set_params(random_state=0, target_weight=1.0, **params)


def _head(model):
    return {
        k: v.clone() for k, v in model.net_.module_.target_head.state_dict().items()
    }


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------ off: unchanged


@pytest.mark.parametrize("estimator", fast_autoencoders(), ids=IDS)
def test_off_ignores_y_bit_for_bit(estimator, data):
    """target_weight=0 (the default) is today's fit: y, even a wrong one,
    changes nothing, and the network has no head."""
    X, y = data
    est = clone(estimator).set_params(random_state=0)
    plain = clone(est).fit(X)
    for given in (y, y[:3], np.array(["a"] * len(y))):
        with_y = clone(est).fit(X, given)
        np.testing.assert_array_equal(with_y.transform(X), plain.transform(X))
        assert with_y.loss_curve_ == plain.loss_curve_
    assert not hasattr(plain.net_.module_, "target_head")
    assert not any(hasattr(plain, a) for a in ("classes_", "target_type_"))
    # (the first chunk spans the data's range, as loss="bce" needs)
    chunked = clone(est).partial_fit(X, y).partial_fit(X[30:], y[30:])
    chunked_plain = clone(est).partial_fit(X).partial_fit(X[30:])
    np.testing.assert_array_equal(chunked.transform(X), chunked_plain.transform(X))


def test_tags_stay_an_unsupervised_transformer():
    tags = skae.AutoencoderTransformer(target_weight=1.0).__sklearn_tags__()
    assert tags.transformer_tags is not None
    assert not tags.target_tags.required


# ---------------------------------------------------------------- it learns


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))[:900]
    return X[order[:600]], y[order[:600]], X[order[600:]], y[order[600:]]


def _held_out_accuracy(model, X, y, X_test, y_test):
    Z = model.transform(X)
    return (
        LogisticRegression(max_iter=2000)
        .fit(Z, y)
        .score(model.transform(X_test), y_test)
    )


@pytest.mark.parametrize("cls", [skae.AutoencoderTransformer, skae.VAETransformer])
def test_supervised_codes_separate_digits_at_k2(cls, digits_split):
    """Codes of width 2 read by a linear model on held-out rows: the
    supervised ones (also with two thirds of the labels unknown) separate
    the ten digits clearly better than the unsupervised ones."""
    X, y, X_test, y_test = digits_split
    params = dict(n_components=2, hidden_layer_sizes=(64,), max_iter=20, random_state=0)
    scores = {}
    semi = y.astype(object)
    semi[np.arange(len(y)) % 3 != 0] = None
    for name, weight, target in (
        ("unsupervised", 0.0, y),
        ("supervised", 1.0, y),
        ("semi", 1.0, semi),
    ):
        model = cls(target_weight=weight, **params).fit(X, target)
        scores[name] = _held_out_accuracy(model, X, y, X_test, y_test)
    assert scores["supervised"] > scores["unsupervised"] + 0.1, scores
    assert scores["semi"] > scores["unsupervised"] + 0.05, scores


def test_regression_finds_the_direction_that_predicts_y():
    """One code unit, X dominated by noise of larger variance and y read
    off a smaller direction: PCA-like codes miss it, the supervised code
    keeps it (a Ridge on held-out codes)."""
    rng = np.random.RandomState(0)
    signal = rng.normal(size=400)
    X = np.c_[4 * rng.normal(size=(400, 3)), 2 * signal]
    y = 3.0 * signal + 10.0
    params = dict(
        n_components=1,
        hidden_layer_sizes=(),
        dropout=0.0,
        activation="identity",
        learning_rate_init=0.01,
        max_iter=60,
        random_state=0,
    )
    r2 = {}
    for weight in (0.0, 1.0):
        model = skae.AutoencoderTransformer(target_weight=weight, **params)
        Z = model.fit(X[:300], y[:300]).transform(X)
        r2[weight] = Ridge().fit(Z[:300], y[:300]).score(Z[300:], y[300:])
    assert r2[1.0] > 0.8 and r2[0.0] < 0.2, r2
    assert model.target_type_ == "continuous"
    np.testing.assert_allclose(model.target_mean_, [y[:300].mean()])
    np.testing.assert_allclose(model.target_scale_, [y[:300].std()])


def test_multioutput_regression_and_unknown_entries(data):
    X, y = data
    Y = np.c_[X[:, 0], 2 * X[:, 1] + 1]
    Y[::4, 1] = np.nan  # unknown entries: their squared error is left out
    model = skae.AutoencoderTransformer(target_weight=0.5, random_state=0, **FAST)
    model.fit(X, Y)
    assert model.target_type_ == "continuous-multioutput"
    assert model.target_scale_.shape == (2,)
    assert model.net_.module_.target_head.out_features == 2
    assert np.isfinite(model.loss_curve_).all()


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "eel"]),
        np.array(["cat", "dog", "eel"], dtype=object),
        pd.Categorical(["cat", "dog", "eel"]),
    ],
    ids=["str", "object", "categorical"],
)
def test_string_labels(labels, data):
    X, y = data
    target = np.asarray(labels)[y]
    model = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    model.fit(X, pd.Series(target))
    assert list(model.classes_) == ["cat", "dog", "eel"]
    assert model.target_type_ == "multiclass"
    assert model.transform(X).shape == (60, 2)


def test_an_integer_quantity_warns_that_it_is_read_as_labels():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 6))
    counts = rng.poisson(200, size=200)  # a count: ~60 distinct integers
    assert len(np.unique(counts)) > 50
    est = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    with pytest.warns(UserWarning, match=r"distinct integers.*y\.astype\(float\)"):
        clone(est).fit(X, counts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clone(est).fit(X, counts.astype(float)).target_type_ == "continuous"
        clone(est).fit(X, counts % 10)  # ten labels: no warning


def test_float_y_is_regression_labels_are_classes(data):
    X, y = data
    est = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    assert clone(est).fit(X, y.astype(float)).target_type_ == "continuous"
    floats = [None if i % 5 == 0 else float(v) for i, v in enumerate(y)]
    assert clone(est).fit(X, floats).target_type_ == "continuous"
    assert clone(est).fit(X, y).target_type_ == "multiclass"
    binary = clone(est).fit(X, y > 0)
    assert binary.target_type_ == "binary" and list(binary.classes_) == [False, True]
    # -1 is a label like any other (the {-1, 1} coding of a binary target)
    signed = clone(est).fit(X, np.where(y > 0, 1, -1))
    assert list(signed.classes_) == [-1, 1]


def test_unknown_labels_however_written_train_the_same(data):
    """Semi-supervised rows: None, NaN or pandas.NA in an object y, or NA in
    a nullable integer column, are unknown; all give the same model, and a
    different one from the fully labelled fit."""
    X, y = data
    est = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    unknown = np.arange(len(y)) % 2 == 0
    codes = []
    for missing in (None, np.nan, pd.NA):
        target = y.astype(object)
        target[unknown] = missing
        codes.append(clone(est).fit(X, target).transform(X))
    nullable = pd.array(np.where(unknown, 0, y), dtype="Int64")
    nullable[unknown] = pd.NA
    codes.append(clone(est).fit(X, nullable).transform(X))
    for other in codes[1:]:
        np.testing.assert_array_equal(other, codes[0])
    assert not np.array_equal(clone(est).fit(X, y).transform(X), codes[0])


def test_target_loss_reads_only_known_targets():
    logits = torch.randn(4, 3)
    labels = torch.tensor([0, -1, 2, -1])
    known = torch.nn.functional.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    torch.testing.assert_close(target_loss(logits, labels), known)
    assert target_loss(logits, torch.full((4,), -1)).item() == 0.0
    out = torch.randn(3, 2)
    target = torch.tensor([[1.0, float("nan")], [0.0, 2.0], [float("nan"), 1.0]])
    known = ~torch.isnan(target)
    expected = (out[known] - target[known]).pow(2).mean()
    torch.testing.assert_close(target_loss(out, target), expected)


def test_the_objective_adds_the_weighted_head_loss(data):
    """get_loss (training and validation alike, so early stopping's
    held-out score is the objective) = reconstruction + weight x head."""
    X, y = data
    model = skae.AutoencoderTransformer(target_weight=2.5, random_state=0, **FAST)
    model.fit(X, y)
    net = model.net_
    net.module_.eval()
    x = torch.as_tensor((X[:10] - model.offset_) / model.scale_, dtype=torch.float32)
    t = torch.as_tensor(y[:10])
    with torch.no_grad():
        y_pred = net.infer(x)
        plain = net.get_loss(y_pred, x, X=x)
        total = net.get_loss(y_pred, (x, t), X=x)
        head = target_loss(net.module_.target_head(y_pred[1]), t)
    torch.testing.assert_close(total, plain + 2.5 * head)


def test_early_stopping_validates_the_objective(data):
    X, y = data
    est = skae.AutoencoderTransformer(
        target_weight=1.0, early_stopping=True, random_state=0, **FAST
    )
    model = est.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_
    assert np.isfinite(model.validation_scores_).all()


# --------------------------------------------------------------- partial_fit


def test_partial_fit_with_classes_on_the_first_call(data):
    X, y = data
    est = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    first = y[:20] != 2
    model = clone(est).partial_fit(X[:20][first], y[:20][first], classes=[0, 1, 2])
    assert list(model.classes_) == [0, 1, 2]
    model.partial_fit(X[20:], y[20:])  # class 2 arrives later
    assert model.n_iter_ == 2 and model.n_samples_seen_ == first.sum() + 40
    # without classes=, a label the first chunk lacked is refused, atomically
    model = clone(est).partial_fit(X[:20][first], y[:20][first])
    state = dict(model.__dict__)
    with pytest.raises(ValueError, match=r"labels \[2\].*classes=\[\.\.\.\]"):
        model.partial_fit(X[20:], y[20:])
    assert all(model.__dict__[k] is v for k, v in state.items())
    with pytest.raises(ValueError, match="classes is read on the first"):
        model.partial_fit(X[20:], y[20:], classes=[0, 1, 2, 3])
    # a chunk of unlabelled rows trains the reconstruction only
    unlabelled = np.full(10, np.nan, dtype=object)
    model.partial_fit(X[:10], unlabelled)
    assert model.n_iter_ == 2


def test_warm_start_continues_the_head(data):
    X, y = data
    model = skae.AutoencoderTransformer(
        target_weight=1.0, warm_start=True, random_state=0, **FAST
    ).fit(X, y)
    head = _head(model)
    model.set_params(target_weight=3.0).fit(X, y)
    assert model.n_iter_ == 2 * FAST["max_iter"]
    assert not _same_state(head, _head(model))
    with pytest.raises(ValueError, match="would drop its head"):
        model.set_params(target_weight=0.0).fit(X, y)


# ----------------------------------------------------- search, clone, files


def test_grid_search_over_target_weight_in_a_pipeline(data):
    X, y = data
    pipe = Pipeline(
        [
            ("ae", skae.AutoencoderTransformer(random_state=0, **FAST)),
            ("clf", LogisticRegression()),
        ]
    )
    search = GridSearchCV(pipe, {"ae__target_weight": [0.0, 1.0]}, cv=2).fit(X, y)
    assert search.best_params_["ae__target_weight"] in (0.0, 1.0)
    assert search.cv_results_["mean_test_score"].shape == (2,)
    best = search.best_estimator_.named_steps["ae"]
    assert hasattr(best, "classes_") == (best.target_weight > 0)


def test_clone_keeps_the_option_not_the_fit(data):
    X, y = data
    model = skae.SparseAutoencoder(target_weight=0.7, random_state=0, **FAST).fit(X, y)
    copy = clone(model)
    assert copy.target_weight == 0.7
    assert not hasattr(copy, "classes_") and not hasattr(copy, "net_")


@pytest.mark.parametrize("estimator", fast_autoencoders(), ids=IDS)
def test_pickle_carries_the_head(estimator, data):
    X, y = data
    model = _supervised(estimator).fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.transform(X), model.transform(X))
    assert _same_state(_head(back), _head(model))
    np.testing.assert_array_equal(back.classes_, model.classes_)
    back.partial_fit(X, y)  # continues, head included
    assert back.n_iter_ == model.n_iter_ + 1


@pytest.mark.parametrize("estimator", fast_autoencoders(), ids=IDS)
@pytest.mark.parametrize(
    "make_target",
    [
        lambda y: y,
        lambda y: np.array(["no", "yes"])[(y > 0).astype(int)],
        lambda y: y > 0,
        lambda y: np.c_[y * 1.5, -y + 0.25],
    ],
    ids=["int", "str", "bool", "float-2"],
)
def test_save_load_carries_the_head(estimator, make_target, data, tmp_path):
    X, y = data
    model = _supervised(estimator).fit(X, make_target(y))
    path = tmp_path / "model.skae"
    skae.save(model, path)
    loaded = skae.load(path)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert _same_state(_head(loaded), _head(model))
    for name in ("target_type_", "classes_", "target_mean_", "target_scale_"):
        assert hasattr(loaded, name) == hasattr(model, name)
        if hasattr(model, name):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    loaded.partial_fit(X, make_target(y))


def test_model_files_check_the_target_fields(data, tmp_path):
    from test_persistence import _rewrite

    X, y = data
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    path = tmp_path / "model.skae"
    # a file written before the option existed loads as target_weight=0
    skae.save(clone(est).fit(X), path)
    _rewrite(
        path,
        lambda m: {
            **m,
            "params": {k: v for k, v in m["params"].items() if k != "target_weight"},
        },
    )
    assert skae.load(path).target_weight == 0.0
    skae.save(clone(est).set_params(target_weight=1.0).fit(X, y), path)
    edits = {
        "params.target_weight": lambda m: {
            **m,
            "params": {**m["params"], "target_weight": 0.0},
        },
        "classes_": lambda m: {
            **m,
            "fitted": {
                **m["fitted"],
                "classes_": {"ndarray": [2, 1, 0], "dtype": "<i8"},
            },
        },
        "target_mean_": lambda m: {
            **m,
            "fitted": {
                **m["fitted"],
                "target_mean_": {"ndarray": [0.0], "dtype": "<f8"},
            },
        },
    }
    original = path.read_bytes()
    for edit in edits.values():
        path.write_bytes(original)
        _rewrite(path, edit)
        with pytest.raises(ValueError, match="not a valid skae model file"):
            skae.load(path)


def test_save_refuses_labels_json_cannot_hold(data, tmp_path):
    X, y = data
    target = np.array([Decimal(0), Decimal(1), Decimal(2)], dtype=object)[y]
    model = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    model.fit(X, target)
    with pytest.raises(ValueError, match="stores class labels as JSON"):
        skae.save(model, tmp_path / "m.skae")


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "target, match",
    [
        (None, "got y=None"),
        ("short", "y has 59 rows but X has 60"),
        ("single", "a single class"),
        ("all-unknown", "no known label"),
        ("all-nan", r"no known value \(all NaN\)"),
        ("inf", "infinite values"),
        ("multilabel", "multilabel or multioutput classification"),
        ("3d", "shape"),
        ("sparse", "dense y"),
        ("mixed", "labels of one type"),
    ],
)
def test_bad_targets_are_refused_before_any_work(target, match, data):
    X, y = data
    target = {
        None: None,
        "short": y[:-1],
        "single": np.zeros(60, dtype=int),
        "all-unknown": np.full(60, None, dtype=object),
        "all-nan": np.full(60, np.nan),
        "inf": np.r_[np.inf, np.zeros(59)],
        "multilabel": np.c_[y, y],
        "3d": np.zeros((60, 2, 2)),
        "sparse": sp.csr_matrix(y.reshape(-1, 1)),
        "mixed": np.array([1, "a"] * 30, dtype=object),
    }[target]
    est = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    with pytest.raises(ValueError, match=match):
        est.fit(X, target)
    assert not hasattr(est, "net_") and not hasattr(est, "classes_")


def test_a_failed_call_leaves_a_fitted_model_unchanged(data):
    X, y = data
    model = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    model.fit(X, y)
    state = dict(model.__dict__)
    codes = model.transform(X)
    for bad in (
        lambda m: m.fit(X, np.zeros(60, dtype=int)),
        lambda m: m.fit(X, y[:10]),
        lambda m: m.fit(X, np.full(60, np.nan)),
        lambda m: m.fit(X, np.full(60, None, dtype=object)),
        lambda m: m.partial_fit(X, y[:10]),
        lambda m: m.partial_fit(X, y + 5),
        lambda m: m.partial_fit(X, y.astype(float)),
        lambda m: m.set_params(target_weight=0.0).partial_fit(X, y),
    ):
        with pytest.raises(ValueError):
            bad(model)
        model.set_params(target_weight=1.0)
        assert model.__dict__.keys() == state.keys()
        assert all(
            model.__dict__[k] is v for k, v in state.items() if k != "target_weight"
        )
    np.testing.assert_array_equal(model.transform(X), codes)


def test_a_single_class_names_the_label_and_partial_fit_classes(data):
    X, _ = data
    est = skae.AutoencoderTransformer(target_weight=1.0, **FAST)
    with pytest.raises(ValueError, match=r"a single class \(3\).*classes=\[\.\.\.\]"):
        est.partial_fit(X, np.full(60, 3))
    assert not hasattr(est, "net_")
    # the first chunk may hold one class when classes names them all
    est.partial_fit(X, np.full(60, 3), classes=[3, 4])
    np.testing.assert_array_equal(est.classes_, [3, 4])


def test_score_ignores_y_as_documented(data):
    """score is the reconstruction's (y ignored, as for any unsupervised
    transformer): unseen labels or another length in a search's held-out
    fold neither fail nor change it, nor the fitted model."""
    X, y = data
    model = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    model.fit(X, y)
    state = dict(model.__dict__)
    expected = model.score(X)
    for given in (y + 7, y[:5], np.full(60, np.nan), np.array(["z"] * 60)):
        assert model.score(X, given) == expected
    assert all(model.__dict__[k] is v for k, v in state.items())


def test_an_unsupervised_refit_drops_the_target_attributes(data):
    X, y = data
    model = skae.AutoencoderTransformer(target_weight=1.0, random_state=0, **FAST)
    model.fit(X, y)
    model.set_params(target_weight=0.0).fit(X, y)
    assert not any(hasattr(model, a) for a in ("classes_", "target_type_"))
    assert not hasattr(model.net_.module_, "target_head")


def test_classes_is_for_classification(data):
    X, _ = data
    est = skae.AutoencoderTransformer(target_weight=1.0, **FAST)
    with pytest.raises(ValueError, match="classes is for a classification"):
        est.partial_fit(X, X[:, 0], classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        est.partial_fit(X, np.r_[7, np.zeros(59, dtype=int)], classes=[0, 1])


def test_wrappers_refuse_a_supervised_model(data):
    """The detector and the imputer train their model without y."""
    X, _ = data
    model = skae.AutoencoderTransformer(target_weight=1.0, **FAST)
    for wrapper in (skae.AutoencoderOutlierDetector, skae.AutoencoderImputer):
        with pytest.raises(ValueError, match="got y=None.*train their model"):
            wrapper(model).fit(X)


def test_sparse_and_memmap_rows_carry_their_targets(data, tmp_path):
    """Rows read a batch at a time (sparse, memory-mapped) and the
    validation split take their targets along: the same model as from the
    dense array."""
    X, y = data
    est = skae.AutoencoderTransformer(
        target_weight=1.0, early_stopping=True, random_state=0, **FAST
    )
    dense = clone(est).fit(X, y)
    mapped = np.memmap(tmp_path / "X.dat", dtype=X.dtype, mode="w+", shape=X.shape)
    mapped[:] = X
    for rows in (sp.csr_matrix(X), mapped):
        model = clone(est).fit(rows, y)
        np.testing.assert_allclose(model.transform(X), dense.transform(X), atol=1e-5)
        assert model.validation_scores_ == pytest.approx(
            dense.validation_scores_, rel=1e-4
        )
