"""AutoencoderOutlierDetector: detector conventions, planted outliers, errors."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neighbors import KernelDensity

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer

TINY = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def one_class():
    """Digits: 120 zeros to train on; 58 held-out zeros and 50 other digits."""
    X, y = load_digits(return_X_y=True)
    zeros, others = X[y == 0], X[y != 0]
    X_test = np.vstack([zeros[120:], others[:50]])
    is_inlier = np.r_[np.ones(len(zeros) - 120), np.zeros(50)]
    return zeros[:120], X_test, is_inlier


@pytest.fixture(scope="module")
def fitted(one_class):
    return AutoencoderOutlierDetector(AutoencoderTransformer(4, **TINY)).fit(
        one_class[0]
    )


# ------------------------------------------------------------- conventions


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25, 0.5])
def test_predict_flags_contamination_of_training_rows(one_class, contamination):
    X = one_class[0]
    detector = AutoencoderOutlierDetector(
        AutoencoderTransformer(4, **TINY), contamination=contamination
    ).fit(X)
    labels = detector.predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    assert labels.dtype.kind == "i"
    assert abs(np.sum(labels == -1) - contamination * len(X)) <= 1


def test_threshold_and_decision_function(fitted, one_class):
    X_train, X_test, _ = one_class
    train_scores = fitted.score_samples(X_train)
    assert fitted.offset_ == pytest.approx(np.percentile(train_scores, 10))
    scores = fitted.score_samples(X_test)
    np.testing.assert_array_equal(scores, fitted.estimator_.score_samples(X_test))
    assert scores.dtype == np.float64
    decision = fitted.decision_function(X_test)
    np.testing.assert_allclose(decision, scores - fitted.offset_)
    np.testing.assert_array_equal(fitted.predict(X_test), np.where(decision < 0, -1, 1))


def test_fit_predict_is_fit_then_predict(fitted, one_class):
    X = one_class[0]
    np.testing.assert_array_equal(clone(fitted).fit_predict(X), fitted.predict(X))


def test_contamination_moves_only_the_threshold(fitted, one_class):
    X_train, X_test, _ = one_class
    other = clone(fitted).set_params(contamination=0.3).fit(X_train)
    np.testing.assert_array_equal(
        other.score_samples(X_test), fitted.score_samples(X_test)
    )
    assert other.offset_ > fitted.offset_


def test_estimator_is_cloned(one_class):
    model = AutoencoderTransformer(4, **TINY)
    detector = AutoencoderOutlierDetector(model).fit(one_class[0])
    assert not hasattr(model, "net_")
    assert detector.estimator_ is not model
    assert detector.estimator_.get_params() == model.get_params()


def test_default_estimator_is_an_autoencoder():
    X = np.random.RandomState(0).normal(size=(40, 5))
    detector = AutoencoderOutlierDetector().fit(X)
    assert detector.estimator is None
    assert type(detector.estimator_) is AutoencoderTransformer
    # AutoencoderTransformer()'s parameters (random_state=None here)
    expected = AutoencoderTransformer().get_params()
    assert detector.estimator_.get_params() == expected
    assert detector.n_features_in_ == 5


def test_default_model_is_seeded_by_random_state():
    X = np.random.RandomState(0).normal(size=(60, 5))
    first, second = (AutoencoderOutlierDetector(random_state=7).fit(X) for _ in "ab")
    # AutoencoderTransformer()'s parameters with the detector's seed
    expected = AutoencoderTransformer(random_state=7).get_params()
    assert first.estimator_.get_params() == expected
    np.testing.assert_array_equal(first.score_samples(X), second.score_samples(X))
    assert first.offset_ == second.offset_
    # the same model as the default given explicitly with that seed
    explicit = AutoencoderTransformer(random_state=7)
    np.testing.assert_array_equal(
        first.score_samples(X),
        AutoencoderOutlierDetector(explicit).fit(X).score_samples(X),
    )
    # a RandomState instance: an int drawn from it, reproducibly
    seeded = AutoencoderOutlierDetector(random_state=np.random.RandomState(1)).fit(X)
    again = AutoencoderOutlierDetector(random_state=np.random.RandomState(1)).fit(X)
    assert isinstance(seeded.estimator_.random_state, int)
    assert seeded.estimator_.random_state == again.estimator_.random_state


@pytest.mark.parametrize("model_seed", [None, 3])
def test_a_given_model_keeps_its_own_random_state(one_class, model_seed):
    model = AutoencoderTransformer(4, **{**TINY, "random_state": model_seed})
    detector = AutoencoderOutlierDetector(model, random_state=0).fit(one_class[0])
    assert detector.estimator_.random_state == model_seed
    assert model.random_state == model_seed


def test_feature_names(one_class):
    pd = pytest.importorskip("pandas")
    X = one_class[0]
    columns = [f"px{i}" for i in range(X.shape[1])]
    detector = AutoencoderOutlierDetector(PCA(3)).fit(pd.DataFrame(X, columns=columns))
    np.testing.assert_array_equal(detector.feature_names_in_, columns)
    assert detector.n_features_in_ == 64
    with pytest.warns(UserWarning, match="feature names"):
        detector.predict(X)


# ---------------------------------------------------------------- detection


def test_planted_outliers_score_lower(fitted, one_class):
    _, X_test, is_inlier = one_class
    scores = fitted.score_samples(X_test)
    assert scores[is_inlier == 0].mean() < scores[is_inlier == 1].mean()
    assert roc_auc_score(is_inlier, scores) > 0.85
    # most other digits fall below the threshold, most held-out zeros above
    labels = fitted.predict(X_test)
    assert np.mean(labels[is_inlier == 0] == -1) > 0.5
    assert np.mean(labels[is_inlier == 1] == 1) > 0.5


def test_around_pca(one_class):
    X_train, X_test, is_inlier = one_class
    detector = AutoencoderOutlierDetector(PCA(5)).fit(X_train)
    pca = PCA(5).fit(X_train)
    np.testing.assert_allclose(
        detector.score_samples(X_test), pca.score_samples(X_test)
    )
    assert roc_auc_score(is_inlier, detector.score_samples(X_test)) > 0.85


def test_around_vae(one_class):
    X_train, X_test, is_inlier = one_class
    vae = VAETransformer(4, hidden_layer_sizes=(32,), max_iter=50, random_state=0)
    detector = AutoencoderOutlierDetector(vae).fit(X_train)
    scores = detector.score_samples(X_test)
    # the VAE scores by its ELBO
    np.testing.assert_array_equal(scores, clone(vae).fit(X_train).score_samples(X_test))
    assert roc_auc_score(is_inlier, scores) > 0.85


@pytest.mark.parametrize(
    "model",
    [GaussianMixture(2, random_state=0), KernelDensity(bandwidth=4.0)],
    ids=["GaussianMixture", "KernelDensity"],
)
def test_around_other_density_models(one_class, model):
    X_train, X_test, is_inlier = one_class
    detector = AutoencoderOutlierDetector(model).fit(X_train)
    scores = detector.score_samples(X_test)
    np.testing.assert_allclose(scores, clone(model).fit(X_train).score_samples(X_test))
    assert roc_auc_score(is_inlier, scores) > 0.85


def test_memmap_reaches_the_model(one_class, tmp_path):
    # skae's models read a memmap one batch at a time in training
    seen = []

    class Spy(PCA):
        def fit(self, X, y=None):
            seen.append(type(X))
            return super().fit(X, y)

    joblib.dump(one_class[0].astype(np.float64), tmp_path / "X.joblib")
    X = joblib.load(tmp_path / "X.joblib", mmap_mode="r")
    detector = AutoencoderOutlierDetector(Spy(3)).fit(X)
    assert seen == [np.memmap]
    np.testing.assert_allclose(
        detector.score_samples(X), detector.score_samples(np.array(X))
    )


# ------------------------------------------------------------------ search


def test_grid_search_over_the_model(one_class):
    _, X_test, is_inlier = one_class
    # labelled data, +1 inliers and -1 outliers: "roc_auc" ranks by
    # decision_function, higher meaning inlier
    y = np.where(is_inlier == 1, 1, -1)
    detector = AutoencoderOutlierDetector(
        AutoencoderTransformer(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    )
    assert detector.get_params()["estimator__n_components"] == 2
    search = GridSearchCV(
        detector,
        {"estimator__n_components": [2, 4], "contamination": [0.1, 0.3]},
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X_test, y)
    assert search.best_params_["estimator__n_components"] in (2, 4)
    assert (
        search.best_estimator_.estimator_.n_components_
        == (search.best_params_["estimator__n_components"])
    )
    assert search.cv_results_["mean_test_score"].shape == (4,)
    # the AUROC does not depend on the threshold, only on the model
    results = search.cv_results_
    for k in (2, 4):
        same_model = results["param_estimator__n_components"] == k
        assert np.ptp(results["mean_test_score"][same_model]) < 1e-12
    best = search.best_estimator_
    assert search.score(X_test, y) == pytest.approx(
        roc_auc_score(y, best.decision_function(X_test))
    )


# ------------------------------------------------------------------ errors


def test_model_without_score_samples():
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"'fit' and 'score_samples'.*Got KMeans"):
        AutoencoderOutlierDetector(KMeans(2)).fit(X)


@pytest.mark.parametrize("contamination", [0, 0.6, -0.1, "most"])
def test_bad_contamination(contamination):
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"'contamination' parameter .* \(0.0, 0.5\]"):
        AutoencoderOutlierDetector(PCA(2), contamination=contamination).fit(X)


def test_nested_params_of_the_default_model():
    detector = AutoencoderOutlierDetector()
    with pytest.raises(ValueError, match=r"estimator__n_components.*estimator is None"):
        detector.set_params(estimator__n_components=4)
    # setting the model and its parameters in one call works
    detector.set_params(estimator=PCA(), estimator__n_components=4)
    assert detector.estimator.n_components == 4


def test_not_fitted():
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector(PCA(2)).predict(np.zeros((3, 4)))


def test_wrong_number_of_features(fitted):
    with pytest.raises(ValueError, match="X has 63 features"):
        fitted.predict(np.zeros((3, 63)))


class _Bad(PCA):
    """PCA whose score_samples returns ``self.result(n_samples)``."""

    def __init__(self, n_components=2, result=None):
        super().__init__(n_components)
        self.result = result

    def score_samples(self, X):
        return self.result(X.shape[0])


def test_non_finite_scores():
    X = np.random.RandomState(0).normal(size=(20, 3))
    model = _Bad(result=lambda n: np.full(n, np.nan))
    with pytest.raises(ValueError, match="_Bad.score_samples returned non-finite"):
        AutoencoderOutlierDetector(model).fit(X)


def test_scores_of_the_wrong_shape():
    X = np.random.RandomState(0).normal(size=(20, 3))
    model = _Bad(result=lambda n: np.zeros((n, 2)))
    with pytest.raises(ValueError, match=r"shape \(20, 2\) for 20 samples"):
        AutoencoderOutlierDetector(model).fit(X)


def test_nan_in_X_is_named(fitted):
    X = np.zeros((3, 64))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.score_samples(X)


def test_validation_fraction_sets_the_threshold_for_new_rows():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    normal = X[y == 3]
    train, new = normal[:120], normal[120:]
    model = AutoencoderTransformer(16, loss="mse", max_iter=60, random_state=0)
    on_train = AutoencoderOutlierDetector(model, contamination=0.1).fit(train)
    held_out = AutoencoderOutlierDetector(
        model, contamination=0.1, validation_fraction=0.3, random_state=0
    ).fit(train)
    flagged_train_threshold = np.mean(on_train.predict(new) == -1)
    flagged_held_out = np.mean(held_out.predict(new) == -1)
    # the training rows' threshold is far too strict for new rows; the
    # held-out one is much closer to contamination (36 rows set it: noisy)
    assert flagged_train_threshold > 0.5
    assert flagged_held_out < min(0.45, flagged_train_threshold - 0.2)
    assert held_out.estimator_.n_samples_seen_ == 120 - 36


def test_validation_fraction_on_a_table():
    """A mixed table (a categorical column) is split by validation_fraction
    without reading its values as numbers (no row kept for X's extremes)."""
    rng = np.random.RandomState(0)
    table = pd.DataFrame(
        {
            "x": rng.normal(size=40),
            "z": rng.normal(size=40),
            "c": pd.Categorical(rng.choice(list("abc"), 40)),
        }
    )
    detector = AutoencoderOutlierDetector(
        AutoencoderTransformer(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
        validation_fraction=0.25,
        random_state=0,
    ).fit(table)
    assert detector.estimator_.n_samples_seen_ == 30
    assert np.isfinite(detector.offset_)
    assert detector.predict(table).shape == (40,)


# ---------------------------------------------------------------- breakdown


def test_breakdown_sums_to_the_score(fitted, one_class):
    X_test = one_class[1]
    per_feature = fitted.score_samples_per_feature(X_test)
    assert per_feature.shape == (len(X_test), 64)
    assert per_feature.dtype == np.float64
    assert np.all(per_feature <= 0)
    np.testing.assert_allclose(
        per_feature.sum(axis=1), fitted.score_samples(X_test), rtol=1e-10
    )
    # minus each entry's squared error in X's units, over n_features
    model = fitted.estimator_
    error = X_test - model.inverse_transform(model.transform(X_test))
    np.testing.assert_allclose(per_feature, -(error**2) / 64, rtol=1e-6, atol=1e-9)


def test_breakdown_names_the_columns(one_class):
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    X_train, X_test, _ = one_class
    columns = [f"px{i}" for i in range(64)]
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(4, **TINY)).fit(
        pd.DataFrame(X_train, columns=columns)
    )
    frame = pd.DataFrame(X_test, columns=columns, index=np.arange(len(X_test)) + 500)
    plain = detector.score_samples_per_feature(frame)
    assert isinstance(plain, np.ndarray)
    with config_context(transform_output="pandas"):
        named = detector.score_samples_per_feature(frame)
    assert list(named.columns) == columns
    np.testing.assert_array_equal(named.index, frame.index)
    np.testing.assert_array_equal(named.to_numpy(), plain)


@pytest.mark.parametrize(
    "model", [PCA(3), VAETransformer(2, **TINY)], ids=["PCA", "VAE"]
)
def test_breakdown_of_a_model_without_one(one_class, model):
    detector = AutoencoderOutlierDetector(model).fit(one_class[0])
    with pytest.raises(TypeError, match="has no per-feature breakdown"):
        detector.score_samples_per_feature(one_class[1])


def test_breakdown_checks_its_input(fitted):
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector().score_samples_per_feature(np.ones((2, 64)))
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples_per_feature(np.ones((2, 63)))


def mixed_table(n=300, seed=0):
    """Two numeric columns and a category that all follow one factor, and
    an independent category."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n)
    return pd.DataFrame(
        {
            "a": z + 0.1 * rng.randn(n),
            "b": 2 * z + 0.1 * rng.randn(n),
            "sign": pd.Categorical(np.where(z > 0, "pos", "neg")),
            "noise": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        }
    )


def test_detector_takes_a_mixed_table_and_names_the_unusual_column():
    X = mixed_table()
    detector = AutoencoderOutlierDetector(
        AutoencoderTransformer(2, hidden_layer_sizes=(16,), max_iter=40, random_state=0)
    ).fit(X)
    assert detector.estimator_.table_ is not None  # read as a table
    assert list(detector.feature_names_in_) == ["a", "b", "sign", "noise"]
    # rows whose category contradicts their numbers
    odd = X.iloc[:20].copy()
    odd["sign"] = odd["sign"].map({"pos": "neg", "neg": "pos"}).astype(X["sign"].dtype)
    normal = X.iloc[20:40]
    assert detector.score_samples(odd).mean() < detector.score_samples(normal).mean()
    parts = detector.score_samples_per_feature(odd)
    assert parts.shape == (20, 4)
    np.testing.assert_allclose(parts.sum(axis=1), detector.score_samples(odd))
    # the swapped column lowers the score most, in most rows
    assert np.mean(np.argmin(parts, axis=1) == 2) > 0.5
    with config_context(transform_output="pandas"):
        named = detector.score_samples_per_feature(odd)
    assert list(named.columns) == ["a", "b", "sign", "noise"]
    # a table with another column is refused, naming the columns
    with pytest.raises(ValueError, match="feature names"):
        detector.score_samples(X.rename(columns={"a": "z"}))
