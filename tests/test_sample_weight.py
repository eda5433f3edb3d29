"""``sample_weight`` in ``fit`` and ``partial_fit``: a row of weight 2 counts
as that row twice, weight 0 as the row removed, equal weights as none."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import torch
from conftest import FAST, fast_autoencoders
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skae
import skae._objectives
from skae._data import Normalisation, ShuffledSplit, TensorDataset
from skae._outlier import weighted_percentile
from skae._topk import auxk_loss

IDS = [type(e).__name__ for e in fast_autoencoders()]

#: A deterministic fit: no dropout, no noise, one full batch, no early
#: stopping, a fixed number of epochs; the weighted fit then sees the same
#: objective as the fit on the rows repeated, up to float rounding.
DETERMINISTIC = dict(
    n_components=2,
    hidden_layer_sizes=(8,),
    dropout=0.0,
    batch_size=1000,
    early_stopping=False,
    max_iter=30,
    tol=0.0,
    random_state=0,
)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "n_components=.*can learn to copy")
        warnings.filterwarnings("ignore", ".*without masking noise.*")
        yield


@pytest.fixture(scope="module")
def data():
    """30 rows of 6 features and integer weights in 0..3."""
    rng = np.random.RandomState(0)
    X = rng.rand(30, 6)
    w = rng.randint(0, 4, size=30)
    return X, w


def _codes_close(weighted, repeated, unweighted, X, atol=1e-4):
    """The weighted fit's codes equal the repeated rows' within ``atol``,
    and differ from the unweighted fit's by much more."""
    Z = weighted.transform(X)
    np.testing.assert_allclose(Z, repeated.transform(X), atol=atol, rtol=0)
    assert np.abs(Z - unweighted.transform(X)).max() > 100 * atol


@pytest.mark.parametrize("estimator", fast_autoencoders(), ids=IDS)
def test_unit_and_equal_weights_are_no_weights_bit_for_bit(estimator, data):
    X, _ = data
    est = clone(estimator).set_params(random_state=0)
    reference = clone(est).fit(X).transform(X)
    for weights in (np.ones(len(X)), np.full(len(X), 3.5), 2.0):
        Z = clone(est).fit(X, sample_weight=weights).transform(X)
        np.testing.assert_array_equal(Z, reference)
    first = clone(est).partial_fit(X).partial_fit(X)
    second = clone(est).partial_fit(X, sample_weight=np.ones(len(X)))
    second.partial_fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


def test_unweighted_batches_take_the_unweighted_objective(data):
    """A batch without weights is scored by the criterion, the penalty and
    the head's loss as before weights existed (not by their weighted forms
    with weights of one): the loss of ``fit(X)`` is unchanged, bit for bit."""
    X, _ = data
    y = (X[:, 0] > 0.5).astype(int)
    model = skae.SparseAutoencoder(target_weight=0.5, random_state=0, **FAST)
    net = model.fit(X, y).net_
    Xt = torch.from_numpy(((X - model.offset_) / model.scale_).astype(np.float32))
    yt = torch.from_numpy(y)
    with torch.no_grad():
        recon, code = net.infer(Xt)
        loss = net.get_loss((recon, code), (Xt, yt), X=Xt)
        by_hand = (
            net.criterion_(recon, Xt)
            + net.alpha * net.penalty(code, Xt, net.module_)
            + net.target_weight
            * skae._losses.target_loss(net.module_.target_head(code), yt)
        )
    assert loss.item() == by_hand.item()


@pytest.mark.parametrize(
    "est",
    [
        skae.AutoencoderTransformer(**DETERMINISTIC),
        skae.AutoencoderTransformer(loss="bce", **DETERMINISTIC),
        skae.AutoencoderTransformer(penalty="l2", alpha=0.5, **DETERMINISTIC),
        # the code's standardisation and RMS pinning: weighted batch statistics
        skae.SparseAutoencoder(**DETERMINISTIC),
        skae.SparseAutoencoder(penalty="kl", alpha=0.5, **DETERMINISTIC),
        skae.SparseAutoencoder(
            penalty="topk",
            n_nonzero_coefs=2,
            **{**DETERMINISTIC, "n_components": 4, "hidden_layer_sizes": (512,)},
        ),
        skae.ContractiveAutoencoder(alpha=0.1, **DETERMINISTIC),
    ],
    ids=["mse", "bce", "l2", "l1", "kl", "topk", "contractive"],
)
def test_integer_weights_equal_repeated_rows(est, data):
    X, w = data
    repeated = clone(est).fit(np.repeat(X, w, axis=0))
    weighted = clone(est).fit(X, sample_weight=w)
    np.testing.assert_allclose(weighted.offset_, repeated.offset_, rtol=1e-12)
    assert weighted.scale_ == pytest.approx(repeated.scale_, rel=1e-12)
    _codes_close(weighted, repeated, clone(est).fit(X), X)


def test_auxk_loss_weights_equal_repeated_rows():
    """TopK's AuxK loss (on dead units) of a batch with integer weights is
    that of its rows repeated."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 6))
    model = skae.SparseAutoencoder(
        penalty="topk", n_components=8, n_nonzero_coefs=2, max_iter=2, random_state=0
    ).fit(X)
    module = model.net_.module_
    module.code_activation.dead = lambda: torch.ones(8, dtype=torch.bool)
    Xt = torch.from_numpy(((X - model.offset_) / model.scale_).astype(np.float32))
    w = torch.from_numpy(rng.randint(1, 4, size=20)).float()
    at = torch.repeat_interleave(torch.arange(20), w.long())
    with torch.no_grad():
        code = module.encode(Xt)
        weighted = auxk_loss(module, code, Xt, 3, w)
        repeated = auxk_loss(module, code[at], Xt[at], 3)
    torch.testing.assert_close(weighted, repeated)
    assert weighted > 0


def test_supervised_head_weights_equal_repeated_rows(data):
    X, w = data
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    est = skae.AutoencoderTransformer(target_weight=1.0, **DETERMINISTIC)
    repeated = clone(est).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    weighted = clone(est).fit(X, y, sample_weight=w)
    _codes_close(weighted, repeated, clone(est).fit(X, y), X)


def _class_one_probability(model, X):
    with torch.no_grad():
        codes = torch.from_numpy(model.transform(X).astype(np.float32))
        logits = model.net_.module_.target_head(codes)
    return torch.softmax(logits, dim=1)[:, 1].mean().item()


def test_upweighting_a_class_moves_the_head_towards_it():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + 0.7 * rng.normal(size=200) > 0.8).astype(int)  # ~25% ones
    est = skae.AutoencoderTransformer(
        n_components=2, target_weight=1.0, max_iter=30, random_state=0
    )
    plain = clone(est).fit(X, y)
    upweighted = clone(est).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    p_plain, p_up = (_class_one_probability(m, X) for m in (plain, upweighted))
    assert p_up > p_plain + 0.1, (p_plain, p_up)


def test_table_loss_weights_equal_repeated_rows():
    """On a table: the loss of a batch with integer weights is the loss of
    its rows repeated (the numeric columns' noise variance, fitted on the
    batch, weighted too); equal weights change nothing, and the encoding
    (``table_``) is fitted unweighted."""
    rng = np.random.RandomState(1)
    n = 40
    table = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(list("abc"), n)),
        }
    )
    w = rng.randint(1, 4, size=n)
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    plain = clone(est).fit(table)
    ones = clone(est).fit(table, sample_weight=np.ones(n))
    np.testing.assert_array_equal(ones.transform(table), plain.transform(table))
    weighted = clone(est).fit(table, sample_weight=w)
    np.testing.assert_array_equal(  # the same encoding
        weighted.table_.encode(table), plain.table_.encode(table)
    )
    assert np.abs(weighted.transform(table) - plain.transform(table)).max() > 1e-3
    net = weighted.net_
    Xt = torch.from_numpy(weighted.table_.encode(table, "test").astype(np.float32))
    wt = torch.from_numpy(w).float()
    at = torch.repeat_interleave(torch.arange(n), wt.long())
    with torch.no_grad():
        recon, code = net.infer(Xt)
        loss = net.get_loss((recon, code), (Xt, None, wt), X=Xt)
        repeated = net.get_loss((recon[at], code[at]), Xt[at], X=Xt[at])
    torch.testing.assert_close(loss, repeated)


def test_zero_weights_are_removed_rows_bit_for_bit(data):
    X, w = data
    for est in (
        skae.AutoencoderTransformer(random_state=0, **FAST),
        skae.VAETransformer(random_state=0, **FAST),
        skae.DenoisingAutoencoder(random_state=0, **FAST),
    ):
        kept = w > 0
        weighted = clone(est).fit(X, sample_weight=w)
        removed = clone(est).fit(X[kept], sample_weight=w[kept])
        np.testing.assert_array_equal(weighted.transform(X), removed.transform(X))
        assert weighted.n_samples_seen_ == kept.sum()


def test_weighted_normalisation_equals_repeated_rows(data):
    X, w = data
    repeated = np.repeat(X, w, axis=0)
    for loss in ("mse", "bce"):
        a = Normalisation.fit(repeated, loss)
        kept = w > 0
        b = Normalisation.fit(X[kept], loss, weights=w[kept].astype(float))
        c = Normalisation.fit(sp.csr_matrix(X[kept]), loss, weights=w[kept] * 1.0)
        for other in (b, c):
            np.testing.assert_allclose(other.offset, a.offset, rtol=1e-12)
            assert other.scale == pytest.approx(a.scale, rel=1e-12)
    holes = X.copy()
    holes[::4, 1] = np.nan
    a = Normalisation.fit(np.repeat(holes, w, axis=0), "mse", missing=True)
    kept = w > 0
    b = Normalisation.fit(holes[kept], "mse", missing=True, weights=w[kept] * 1.0)
    np.testing.assert_allclose(b.offset, a.offset, rtol=1e-12)
    assert b.scale == pytest.approx(a.scale, rel=1e-12)


def test_validation_split_keeps_each_rows_weight():
    X = torch.arange(20.0).reshape(10, 2)
    weights = torch.arange(10.0) + 1
    train, valid = ShuffledSplit(0.3, seed=0)(TensorDataset(X, None, weights))
    for part in (train, valid):
        # row i of X is (2i, 2i + 1) and has weight i + 1
        torch.testing.assert_close(part.weights, part.X[:, 0] / 2 + 1)
    assert len(valid.weights) == 3


def test_early_stopping_fits_with_weights(data):
    X, w = data
    model = skae.AutoencoderTransformer(
        early_stopping=True, random_state=0, **FAST
    ).fit(X, sample_weight=w + 1)
    assert len(model.validation_scores_) == model.n_iter_


def test_vae_elbo_terms_are_weighted_means():
    """The VAE's loss of a batch with integer weights is the loss of its
    rows repeated (the same outputs, repeated)."""
    rng = np.random.RandomState(0)
    X = rng.rand(20, 4)
    model = skae.VAETransformer(n_components=2, random_state=0, **FAST).fit(X)
    net = model.net_
    w = torch.from_numpy(rng.randint(1, 4, size=20)).float()
    Xt = torch.from_numpy(X).float()
    with torch.no_grad():
        output, mu, log_var = net.module_(Xt)
        weighted = net.get_loss((output, mu, log_var), (Xt, None, w), X=Xt)
        at = torch.repeat_interleave(torch.arange(20), w.long())
        repeated = net.get_loss((output[at], mu[at], log_var[at]), Xt[at], X=Xt[at])
    torch.testing.assert_close(weighted, repeated)
    fitted = skae.VAETransformer(n_components=2, random_state=0, **FAST)
    Z = fitted.fit(X, sample_weight=w.numpy()).transform(X)
    assert np.abs(Z - model.transform(X)).max() > 1e-3


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.ones(5), r"shape == \(5,\), expected \(30,\)"),
        (-np.ones(30), "Negative values"),
        (np.r_[np.nan, np.ones(29)], "NaN"),
        (np.r_[np.inf, np.ones(29)], "infinity"),
        (np.zeros(30), "non-zero|positive sample_weight"),
        (np.r_[1.0, np.zeros(29)], "at least 2 rows of positive sample_weight"),
    ],
    ids=["length", "negative", "nan", "inf", "all-zero", "one-row"],
)
def test_bad_weights_refused_and_the_model_unchanged(weights, match, data):
    X, _ = data
    model = skae.AutoencoderTransformer(random_state=0, **FAST)
    with pytest.raises(ValueError, match=match):
        clone(model).fit(X, sample_weight=weights)
    model.fit(X)
    before = (model.net_, model.n_iter_, model.transform(X))
    if "one-row" not in match and "2 rows" not in match:
        with pytest.raises(ValueError, match=match):
            model.partial_fit(X, sample_weight=weights)
        assert model.net_ is before[0] and model.n_iter_ == before[1]
        np.testing.assert_array_equal(model.transform(X), before[2])


def test_detector_weights(data):
    X, w = data
    inner = skae.AutoencoderTransformer(random_state=0, **FAST)
    detector = skae.AutoencoderOutlierDetector(inner, contamination=0.2)
    plain = clone(detector).fit(X)
    ones = clone(detector).fit(X, sample_weight=np.ones(len(X)))
    assert ones.offset_ == plain.offset_
    np.testing.assert_array_equal(ones.score_samples(X), plain.score_samples(X))
    # zero weights: the rows removed, from the model and from the threshold
    kept = w > 0
    weighted = clone(detector).fit(X, sample_weight=w)
    removed = clone(detector).fit(X[kept], sample_weight=w[kept])
    assert weighted.offset_ == removed.offset_
    # the threshold is the weighted percentile of the training scores
    scores = weighted.score_samples(X)
    heavy = np.where(scores < np.median(scores), 10.0, 1.0)  # low scores weigh
    lowered = clone(detector).fit(X, sample_weight=heavy)
    assert lowered.offset_ != weighted.offset_
    for contamination in (0.2, "auto"):
        d = clone(detector).set_params(
            contamination=contamination, validation_fraction=0.3
        )
        assert np.isfinite(d.fit(X, sample_weight=w + 1).offset_)


def test_detector_refuses_weights_its_model_cannot_take(data):
    X, w = data
    detector = skae.AutoencoderOutlierDetector(PCA(2))
    with pytest.raises(ValueError, match="PCA.* takes none in fit"):
        detector.fit(X, sample_weight=w)


def test_imputer_weights(data):
    X, w = data
    holes = X.copy()
    holes[::3, 2] = np.nan
    est = skae.AutoencoderTransformer(**DETERMINISTIC)
    imputer = skae.AutoencoderImputer(est)
    plain = clone(imputer).fit(holes).transform(holes)
    ones = clone(imputer).fit(holes, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(ones.transform(holes), plain)
    repeated = clone(imputer).fit(np.repeat(holes, w, axis=0))
    weighted = clone(imputer).fit(holes, sample_weight=w)
    np.testing.assert_allclose(
        weighted.transform(holes), repeated.transform(holes), atol=1e-4
    )
    assert np.abs(weighted.transform(holes) - plain).max() > 1e-2


def test_pipeline_routes_sample_weight(data):
    X, w = data
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    direct = clone(est).fit(StandardScaler().fit_transform(X), sample_weight=w)
    pipe = Pipeline([("scale", StandardScaler()), ("ae", clone(est))])
    pipe.fit(X, ae__sample_weight=w)
    np.testing.assert_array_equal(
        pipe.transform(X), direct.transform(StandardScaler().fit_transform(X))
    )
    with sklearn.config_context(enable_metadata_routing=True):
        routed = Pipeline(
            [
                ("scale", StandardScaler().set_fit_request(sample_weight=False)),
                ("ae", clone(est).set_fit_request(sample_weight=True)),
            ]
        ).fit(X, sample_weight=w)
    np.testing.assert_array_equal(routed.transform(X), pipe.transform(X))


def test_data_parallel_fits_refuse_weights(data):
    X, w = data
    message = "data-parallel fit does not support sample weights"
    est = skae.AutoencoderTransformer(strategy="ddp", **FAST)
    # refused before joining a process group (there is none here)
    with pytest.raises(ValueError, match=message):
        est.fit(X, sample_weight=w)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(X, sample_weight=w)
    with pytest.raises(ValueError, match=message):
        skae.AutoencoderOutlierDetector(est).fit(X, sample_weight=w)
    with pytest.raises(ValueError, match=message):
        skae.AutoencoderImputer(est).fit(X, sample_weight=w)


def test_the_weights_scale_does_not_matter(data):
    X, w = data
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    small = clone(est).fit(X, sample_weight=w).transform(X)
    large = clone(est).fit(X, sample_weight=1000.0 * w).transform(X)
    np.testing.assert_allclose(small, large, rtol=0, atol=1e-6)


def test_weighted_percentile_is_that_of_the_repeated_values():
    rng = np.random.RandomState(0)
    for n in (5, 8, 13):
        values = rng.rand(n)
        weights = rng.randint(1, 4, size=n)
        for q in (10, 20, 50, 73.3):
            expected = np.percentile(
                np.repeat(values, weights), q, method="averaged_inverted_cdf"
            )
            assert weighted_percentile(values, weights * 1.0, q) == pytest.approx(
                expected, rel=1e-12
            )


def test_memory_mapped_rows_take_weights(data, tmp_path):
    X, w = data
    path = tmp_path / "X.dat"
    mapped = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    mapped[:] = X
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    for weights in (w, w + 1):  # with and without rows of weight 0
        in_memory = clone(est).fit(X, sample_weight=weights).transform(X)
        streamed = clone(est).fit(mapped, sample_weight=weights).transform(X)
        np.testing.assert_allclose(streamed, in_memory, rtol=0, atol=1e-6)


def test_extreme_weights_train(data):
    """Weights near float64's limits neither overflow the statistics nor
    make the loss NaN: they are divided by their largest first."""
    X, _ = data
    weights = np.r_[np.full(20, 1e307), np.ones(10)]  # their sum overflows
    model = skae.AutoencoderTransformer(random_state=0, **FAST)
    model.fit(X, sample_weight=weights)
    assert np.isfinite(model.loss_curve_).all() and np.isfinite(model.scale_)
    np.testing.assert_allclose(model.offset_, X[:20].mean(axis=0), rtol=1e-12)


def test_imputer_names_itself_for_bad_weights(data):
    X, _ = data
    holes = X.copy()
    holes[::3, 2] = np.nan
    with pytest.raises(ValueError, match=r"AutoencoderImputer.fit .*\(30 rows\)"):
        skae.AutoencoderImputer().fit(holes, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"AutoencoderImputer.fit .*\(30 rows\)"):
        skae.AutoencoderImputer().fit(holes.tolist(), sample_weight=-np.ones(30))


@pytest.mark.parametrize("weights", [None, "ones"])
def test_no_weights_never_reach_the_weighted_pieces(weights, data, monkeypatch):
    """``fit(X)`` (and equal weights) run the code path of before weights
    existed: none of the weighted pieces is called (with varied weights the
    same test fails)."""
    X, _ = data
    y = (X[:, 0] > 0.5).astype(int)

    def refuse(*args, **kwargs):
        raise AssertionError("a weighted piece ran without weights")

    for owner, name in [
        (skae._objectives.Likelihood, "weighted_loss"),
        (skae._objectives.TableLikelihood, "weighted_loss"),
        (skae._objectives.CodePenalty, "weighted"),
        (skae._objectives.L1Penalty, "weighted"),
        (skae._data, "_weighted_statistics"),
    ]:
        monkeypatch.setattr(owner, name, refuse)
    sample_weight = None if weights is None else np.ones(len(X))
    for est in fast_autoencoders():
        est = clone(est).set_params(target_weight=0.5, random_state=0)
        est.fit(X, y, sample_weight=sample_weight)
        est.partial_fit(X, y, sample_weight=sample_weight)


def _mixed_table(rng, n):
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(list("abc"), n), categories=list("abcd")),
        }
    )


def test_zero_weights_are_removed_rows_on_a_table(data):
    """On a table too, rows of weight 0 are left out before anything: the
    encoding (its statistics and levels) is that of the other rows."""
    _, w = data
    table = _mixed_table(np.random.RandomState(2), len(w))
    table.loc[np.flatnonzero(w == 0)[:2], "c"] = "d"  # a level seen at weight 0
    est = skae.AutoencoderTransformer(random_state=0, **FAST)
    kept = w > 0
    weighted = clone(est).fit(table, sample_weight=w)
    removed = clone(est).fit(table[kept], sample_weight=w[kept])
    assert weighted.n_samples_seen_ == kept.sum()
    np.testing.assert_array_equal(
        weighted.transform(table[kept]), removed.transform(table[kept])
    )
    # y's rows leave with X's; a y of another length is named with X's rows
    y = (table["x"] > 0).to_numpy(int)
    supervised = clone(est).set_params(target_weight=1.0)
    np.testing.assert_array_equal(
        clone(supervised).fit(table, y, sample_weight=w).transform(table),
        clone(supervised).fit(table[kept], y[kept], w[kept]).transform(table),
    )
    with pytest.raises(ValueError, match="y has 5 rows but X has 30"):
        clone(supervised).fit(table, y[:5], sample_weight=w)


def test_detector_zero_weights_with_validation_fraction_are_removed_rows(data):
    """The held-out split of ``validation_fraction`` is drawn from the rows
    of positive weight: weight 0 is a removed row there too."""
    X, w = data
    kept = w > 0
    detector = skae.AutoencoderOutlierDetector(
        skae.AutoencoderTransformer(random_state=0, **FAST),
        validation_fraction=0.3,
        random_state=0,
    )
    weighted = clone(detector).fit(X, sample_weight=w)
    removed = clone(detector).fit(X[kept], sample_weight=w[kept])
    assert weighted.offset_ == removed.offset_
    np.testing.assert_array_equal(weighted.score_samples(X), removed.score_samples(X))


@pytest.mark.filterwarnings("ignore:Skipping features without any observed")
def test_imputer_zero_weights_are_removed_rows(data):
    """The imputer leaves the rows of weight 0 out first: its empty features
    (dropped from the output), its indicator's features, a table's encoding
    and the imputed values are those of the other rows."""
    X, w = data
    kept = w > 0
    holes = X.copy()
    holes[::3, 2] = np.nan
    holes[kept, 5] = np.nan  # observed in rows of weight 0 only
    holes[~kept, 4] = np.nan  # missing in rows of weight 0 only
    imputer = skae.AutoencoderImputer(
        skae.DenoisingAutoencoder(noise="masking", random_state=0, **FAST),
        add_indicator=True,
    )
    weighted = clone(imputer).fit(holes, sample_weight=w)
    removed = clone(imputer).fit(holes[kept], sample_weight=w[kept])
    np.testing.assert_array_equal(weighted.transform(holes), removed.transform(holes))
    table = _mixed_table(np.random.RandomState(3), len(w))
    table.loc[::4, "x"] = np.nan
    table.loc[::5, "c"] = np.nan
    weighted = clone(imputer).fit(table, sample_weight=w)
    removed = clone(imputer).fit(table[kept], sample_weight=w[kept])
    pd.testing.assert_frame_equal(weighted.transform(table), removed.transform(table))


@pytest.mark.parametrize(
    "cls",
    [skae.AutoencoderTransformer, skae.SparseAutoencoder, skae.VAETransformer],
    ids=["ae", "sparse", "vae"],
)
def test_weights_below_float32s_range_train(cls, data):
    """Positive weights too small for float32 next to the largest (1e-50 of
    it) stay positive in training: a mini-batch of only such rows has a
    finite loss (not 0 / 0)."""
    X, _ = data
    weights = np.r_[np.full(10, 1e-50), np.ones(20)]
    model = cls(hidden_layer_sizes=(8,), batch_size=4, max_iter=3, random_state=0)
    model.fit(X, sample_weight=weights)
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.transform(X)).all()
