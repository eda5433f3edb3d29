"""The displays of skae.plotting."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from skae import (  # noqa: E402
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAETransformer,
)
from skae.plotting import (  # noqa: E402
    CodeScatterDisplay,
    LossCurveDisplay,
    ReconstructionDisplay,
    ScoreBreakdownDisplay,
    ScoreDistributionDisplay,
)

TINY = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def ae(data):
    return AutoencoderTransformer(3, **TINY).fit(data[0])


@pytest.fixture(scope="module")
def ae_early(data):
    return AutoencoderTransformer(2, early_stopping=True, **TINY).fit(data[0])


def test_module_all():
    import skae.plotting

    assert sorted(skae.plotting.__all__) == [
        "CodeScatterDisplay",
        "LatentFrequencyDisplay",
        "LossCurveDisplay",
        "ReconstructionDisplay",
        "ScoreBreakdownDisplay",
        "ScoreDistributionDisplay",
    ]


# ------------------------------------------------------------- loss curve


def test_loss_curve_without_validation(ae):
    display = LossCurveDisplay.from_estimator(ae)
    x, y = display.line_train_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, ae.n_iter_ + 1))
    np.testing.assert_allclose(y, ae.loss_curve_)
    assert display.line_valid_ is None
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "loss"
    assert display.ax_.get_title() == "AutoencoderTransformer"
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_legend() is not None


def test_loss_curve_with_validation(ae_early):
    display = LossCurveDisplay.from_estimator(ae_early, name="mine")
    np.testing.assert_allclose(display.line_train_.get_ydata(), ae_early.loss_curve_)
    x, y = display.line_valid_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, len(ae_early.loss_curve_) + 1))
    np.testing.assert_allclose(y, -np.asarray(ae_early.validation_scores_))
    assert np.all(y > 0)  # a loss, not a score
    assert display.ax_.get_title() == "mine"
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert texts == ["training loss", "validation loss"]


def test_loss_curve_draws_on_given_ax(ae):
    fig, (ax0, ax1) = plt.subplots(1, 2)
    display = LossCurveDisplay.from_estimator(ae, ax=ax1)
    assert display.ax_ is ax1
    assert display.figure_ is fig
    assert display.line_train_ in ax1.lines
    assert not ax0.lines


def test_loss_curve_direct_construction():
    display = LossCurveDisplay([3.0, 2.0, 1.0], [4.0, 3.5, 3.4]).plot()
    np.testing.assert_allclose(display.line_valid_.get_ydata(), [4.0, 3.5, 3.4])
    assert display.ax_.get_title() == ""


# --------------------------------------------------------- reconstruction


def test_reconstruction_images(ae, data):
    X = data[0]
    display = ReconstructionDisplay.from_estimator(
        ae, X, image_shape=(8, 8), n_images=4
    )
    assert display.axes_.shape == (2, 4)
    assert display.images_.shape == (2, 4)
    recon = ae.inverse_transform(ae.transform(X[:4]))
    for j in range(4):
        np.testing.assert_allclose(
            display.images_[0, j].get_array(), X[j].reshape(8, 8)
        )
        np.testing.assert_allclose(
            display.images_[1, j].get_array(), recon[j].reshape(8, 8), rtol=1e-6
        )
    # one colour scale over both rows
    clims = {im.get_clim() for im in display.images_.ravel()}
    assert len(clims) == 1
    vmin, vmax = clims.pop()
    assert vmin == pytest.approx(min(X[:4].min(), recon.min()))
    assert vmax == pytest.approx(max(X[:4].max(), recon.max()))
    assert display.axes_[0, 0].get_ylabel() == "original"
    assert display.axes_[1, 0].get_ylabel() == "reconstruction"
    assert display.axes_[0, 1].get_xticks().size == 0
    assert display.figure_ is display.axes_[0, 0].figure


def test_reconstruction_with_clean_targets(ae, data):
    # a denoiser's view: clean targets, the noisy input given to the
    # estimator, and its reconstruction, each labelled as such
    X = data[0]
    noisy = X + np.random.RandomState(0).normal(scale=2.0, size=X.shape)
    display = ReconstructionDisplay.from_estimator(
        ae, noisy, X_clean=X, image_shape=(8, 8), n_images=4
    )
    assert display.axes_.shape == (3, 4)
    assert display.images_.shape == (3, 4)
    recon = ae.inverse_transform(ae.transform(noisy[:4]))
    for j in range(4):
        np.testing.assert_allclose(
            display.images_[0, j].get_array(), X[j].reshape(8, 8)
        )
        np.testing.assert_allclose(
            display.images_[1, j].get_array(), noisy[j].reshape(8, 8)
        )
        np.testing.assert_allclose(
            display.images_[2, j].get_array(), recon[j].reshape(8, 8), rtol=1e-6
        )
    labels = [ax.get_ylabel() for ax in display.axes_[:, 0]]
    assert labels == ["clean", "noisy input", "reconstruction"]
    # one colour scale over the three rows
    clims = {im.get_clim() for im in display.images_.ravel()}
    assert len(clims) == 1
    vmin, vmax = clims.pop()
    assert vmin == pytest.approx(min(X[:4].min(), noisy[:4].min(), recon.min()))
    assert vmax == pytest.approx(max(X[:4].max(), noisy[:4].max(), recon.max()))
    assert len(display.figure_.axes) == 12


def test_reconstruction_im_kw(ae, data):
    X = data[0]
    display = ReconstructionDisplay.from_estimator(
        ae, X, X_clean=X, image_shape=(8, 8), n_images=2, im_kw={"vmin": 0, "vmax": 1}
    )
    assert {im.get_clim() for im in display.images_.ravel()} == {(0, 1)}
    # a norm brings its own limits
    from matplotlib.colors import LogNorm

    norm = LogNorm(1, 16)
    display = ReconstructionDisplay.from_estimator(
        ae, X, image_shape=(8, 8), n_images=2, im_kw={"norm": norm, "cmap": "viridis"}
    )
    assert display.images_[1, 1].norm is norm
    assert display.images_[1, 1].get_cmap().name == "viridis"


def test_reconstruction_with_clean_targets_given_ax(ae, data):
    X = data[0]
    fig, axes = plt.subplots(3, 2)
    display = ReconstructionDisplay.from_estimator(
        ae, X[::-1], X_clean=X, image_shape=(8, 8), n_images=2, ax=axes
    )
    assert display.figure_ is fig
    assert display.axes_[2, 1] is axes[2, 1]
    np.testing.assert_allclose(axes[0, 1].images[0].get_array(), X[1].reshape(8, 8))
    with pytest.raises(ValueError, match=r"ax must .*\(3, 2\)"):
        ReconstructionDisplay.from_estimator(
            ae, X, X_clean=X, image_shape=(8, 8), n_images=2, ax=axes[:2]
        )


def test_reconstruction_clean_shape_mismatch(ae, data):
    X = data[0]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ReconstructionDisplay.from_estimator(ae, X, X_clean=X[:-1], image_shape=(8, 8))
    with pytest.raises(ValueError, match="X_clean must have X's shape"):
        ReconstructionDisplay.from_estimator(
            ae, X, X_clean=X[:, :-1], image_shape=(8, 8)
        )
    with pytest.raises(ValueError, match="clean and originals"):
        ReconstructionDisplay(X[:3], X[:3], (8, 8), clean=X[:2]).plot()


def test_reconstruction_fewer_rows_than_n_images(ae, data):
    display = ReconstructionDisplay.from_estimator(
        ae, data[0][:3].tolist(), image_shape=(8, 8)
    )
    assert display.axes_.shape == (2, 3)


def test_reconstruction_draws_on_given_ax(ae, data):
    fig, axes = plt.subplots(2, 3)
    display = ReconstructionDisplay.from_estimator(
        ae, data[0], image_shape=(8, 8), n_images=3, ax=axes.tolist()
    )
    assert display.figure_ is fig
    assert display.axes_[1, 2] is axes[1, 2]
    assert display.images_[1, 2] in axes[1, 2].images


def test_reconstruction_plot_draws_on_given_ax(data):
    # plot(ax=...) with the caller's own Axes array draws into those axes
    X = data[0][:2]
    fig, axes = plt.subplots(2, 2)
    display = ReconstructionDisplay(X, X[::-1], image_shape=(8, 8)).plot(ax=axes)
    assert display.figure_ is fig
    assert len(fig.axes) == 4  # no new axes were added
    for row in range(2):
        for j in range(2):
            assert display.axes_[row, j] is axes[row, j]
            assert display.images_[row, j] in axes[row, j].images
    np.testing.assert_allclose(axes[1, 0].images[0].get_array(), X[1].reshape(8, 8))


def test_reconstruction_bad_ax_shape(ae, data):
    _, axes = plt.subplots(2, 3)
    with pytest.raises(ValueError, match=r"ax must .*\(2, 4\)"):
        ReconstructionDisplay.from_estimator(
            ae, data[0], image_shape=(8, 8), n_images=4, ax=axes
        )


def test_reconstruction_image_shape_mismatch(ae, data):
    with pytest.raises(ValueError, match=r"49.*64"):
        ReconstructionDisplay.from_estimator(ae, data[0], image_shape=(7, 7))


@pytest.mark.parametrize("n_images", [0, -1, 1.5])
def test_reconstruction_bad_n_images(ae, data, n_images):
    with pytest.raises(ValueError, match="n_images"):
        ReconstructionDisplay.from_estimator(
            ae, data[0], image_shape=(8, 8), n_images=n_images
        )


# ------------------------------------------------------------ code scatter


def test_code_scatter_offsets(ae, data):
    X = data[0]
    display = CodeScatterDisplay.from_estimator(ae, X, components=(2, 0))
    codes = ae.transform(X)
    np.testing.assert_allclose(display.scatter_.get_offsets(), codes[:, [2, 0]])
    assert display.ax_.get_xlabel() == "code 2"
    assert display.ax_.get_ylabel() == "code 0"
    assert display.ax_.get_legend() is None
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_code_scatter_labels_legend(ae, data):
    X, y = data
    display = CodeScatterDisplay.from_estimator(ae, X, y)
    legend = display.ax_.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [str(c) for c in np.unique(y)]
    np.testing.assert_array_equal(display.scatter_.get_array(), y)


def test_code_scatter_string_labels(ae, data):
    X = data[0][:30]
    y = np.array(["b", "a", "c"] * 10)
    display = CodeScatterDisplay.from_estimator(ae, X, y)
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert texts == ["a", "b", "c"]


def test_code_scatter_many_labels_colorbar(ae, data):
    X = data[0]
    display = CodeScatterDisplay.from_estimator(ae, X, np.arange(len(X)))
    assert display.ax_.get_legend() is None
    assert len(display.figure_.axes) == 2  # the colorbar's axes


def test_code_scatter_draws_on_given_ax_with_kwargs(ae, data):
    fig, ax = plt.subplots()
    display = CodeScatterDisplay.from_estimator(ae, data[0], ax=ax, s=5, alpha=0.5)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.scatter_ in ax.collections
    assert display.scatter_.get_alpha() == 0.5


def test_code_scatter_one_component(data):
    ae1 = AutoencoderTransformer(1, **TINY).fit(data[0][:50])
    with pytest.raises(ValueError, match="1 code component"):
        CodeScatterDisplay.from_estimator(ae1, data[0][:50])
    with pytest.raises(ValueError, match="at least 2"):
        CodeScatterDisplay(np.zeros((5, 1))).plot()


@pytest.mark.parametrize("components", [(0, 3), (-1, 0), (0,), (0, 1, 2), "ab"])
def test_code_scatter_bad_components(ae, data, components):
    with pytest.raises(ValueError, match="3 components|pair"):
        CodeScatterDisplay.from_estimator(ae, data[0], components=components)


def test_code_scatter_labels_length_mismatch(ae, data):
    with pytest.raises(ValueError, match="labels"):
        CodeScatterDisplay.from_estimator(ae, data[0], data[1][:10])


# ------------------------------------------------------ score distribution


@pytest.fixture(scope="module")
def detector(data):
    X, y = data
    return AutoencoderOutlierDetector(AutoencoderTransformer(3, **TINY)).fit(X[y != 1])


def test_score_distribution_by_label(detector, data):
    X, y = data
    is_one = y == 1
    display = ScoreDistributionDisplay.from_estimator(
        detector, X, is_one, bins=12, histtype="bar"
    )
    scores = detector.score_samples(X)
    np.testing.assert_allclose(
        display.bin_edges_, np.histogram_bin_edges(scores, bins=12)
    )
    assert len(display.patches_) == 2  # False, then True
    for patches, group in zip(display.patches_, [~is_one, is_one]):
        heights, _ = np.histogram(scores[group], display.bin_edges_, density=True)
        np.testing.assert_allclose([p.get_height() for p in patches], heights)
    assert display.line_threshold_.get_xdata()[0] == pytest.approx(detector.offset_)
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert texts == [
        f"False ({np.sum(~is_one)})",
        f"True ({np.sum(is_one)})",
        f"threshold ({detector.offset_:.3g})",
    ]
    assert display.ax_.get_ylabel() == "density"
    assert display.ax_.get_title() == "AutoencoderOutlierDetector"
    assert display.figure_ is display.ax_.figure


def test_score_distribution_counts_without_labels(detector, data):
    X = data[0]
    display = ScoreDistributionDisplay.from_estimator(
        detector, X, density=False, histtype="bar", name="mine"
    )
    assert len(display.patches_) == 1
    heights = [p.get_height() for p in display.patches_[0]]
    assert sum(heights) == len(X)
    assert display.ax_.get_ylabel() == "count"
    assert display.ax_.get_title() == "mine"
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert texts == [f"threshold ({detector.offset_:.3g})"]


def test_score_distribution_of_a_model_has_no_threshold(ae, data):
    # an autoencoder's offset_ is its normalisation, not a threshold
    display = ScoreDistributionDisplay.from_estimator(ae, data[0])
    assert display.line_threshold_ is None
    assert display.ax_.get_legend() is None
    assert display.ax_.get_title() == "AutoencoderTransformer"


def test_score_distribution_of_sklearn_detectors(data):
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    X = data[0]
    for model in [
        IsolationForest(n_estimators=10, contamination=0.1, random_state=0),
        LocalOutlierFactor(novelty=True, contamination=0.1),
    ]:
        model.fit(X)
        display = ScoreDistributionDisplay.from_estimator(model, X)
        x = display.line_threshold_.get_xdata()[0]
        assert x == pytest.approx(model.offset_)
        # rows left of the line are the ones the detector calls outliers
        np.testing.assert_array_equal(
            model.score_samples(X) < x, model.predict(X) == -1
        )


def test_score_distribution_draws_on_given_ax(detector, data):
    fig, (ax0, ax1) = plt.subplots(1, 2)
    display = ScoreDistributionDisplay.from_estimator(detector, data[0], ax=ax1)
    assert display.ax_ is ax1
    assert display.figure_ is fig
    assert display.line_threshold_ in ax1.lines
    assert not ax0.patches and not ax0.lines


def test_score_distribution_direct_construction():
    scores = np.r_[np.zeros(5), np.ones(5)]
    display = ScoreDistributionDisplay(
        scores, labels=["a"] * 5 + ["b"] * 5, threshold=0.5
    ).plot(bins=[-0.5, 0.5, 1.5], color="C3")
    assert len(display.patches_) == 2
    assert display.ax_.get_title() == ""
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert texts == ["a (5)", "b (5)", "threshold (0.5)"]


def test_score_distribution_bad_input(detector, data):
    with pytest.raises(ValueError, match="labels has 10 entries"):
        ScoreDistributionDisplay.from_estimator(detector, data[0], data[1][:10])
    with pytest.raises(ValueError, match="1-dimensional"):
        ScoreDistributionDisplay(np.zeros((3, 2))).plot()


# ------------------------------------------------------------------ shared


@pytest.mark.parametrize(
    "make_display",
    [
        lambda est, X: LossCurveDisplay.from_estimator(est),
        lambda est, X: ReconstructionDisplay.from_estimator(est, X, image_shape=(8, 8)),
        lambda est, X: CodeScatterDisplay.from_estimator(est, X),
        lambda est, X: ScoreDistributionDisplay.from_estimator(est, X),
    ],
    ids=["loss", "reconstruction", "scatter", "scores"],
)
def test_not_fitted(make_display, data):
    with pytest.raises(NotFittedError):
        make_display(AutoencoderTransformer(), data[0])


def test_vae(data):
    X, y = data
    vae = VAETransformer(2, **TINY).fit(X)
    loss = LossCurveDisplay.from_estimator(vae)
    np.testing.assert_allclose(loss.line_train_.get_ydata(), vae.loss_curve_)
    recon = ReconstructionDisplay.from_estimator(vae, X, image_shape=(8, 8), n_images=2)
    np.testing.assert_allclose(
        recon.images_[1, 1].get_array(),
        vae.inverse_transform(vae.transform(X[:2]))[1].reshape(8, 8),
        rtol=1e-6,
    )
    scatter = CodeScatterDisplay.from_estimator(vae, X, y)
    np.testing.assert_allclose(scatter.scatter_.get_offsets(), vae.transform(X))


def test_pandas_output(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    X_df = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    est = AutoencoderTransformer(2, **TINY).set_output(transform="pandas").fit(X_df)
    assert isinstance(est.transform(X_df), pd.DataFrame)
    scatter = CodeScatterDisplay.from_estimator(est, X_df, pd.Series(y))
    np.testing.assert_allclose(
        scatter.scatter_.get_offsets(), est.transform(X_df).to_numpy()
    )
    recon = ReconstructionDisplay.from_estimator(est, X_df, image_shape=(8, 8))
    np.testing.assert_allclose(recon.images_[0, 3].get_array(), X[3].reshape(8, 8))


def test_any_fitted_transformer(data):
    # the displays need only transform / inverse_transform, e.g. PCA's
    from sklearn.decomposition import PCA

    X, y = data
    pca = PCA(3).fit(X)
    scatter = CodeScatterDisplay.from_estimator(pca, X, y, components=(1, 2))
    np.testing.assert_allclose(scatter.scatter_.get_offsets(), pca.transform(X)[:, 1:])
    recon = ReconstructionDisplay.from_estimator(pca, X, image_shape=(8, 8))
    np.testing.assert_allclose(
        recon.images_[1, 0].get_array(),
        pca.inverse_transform(pca.transform(X[:1]))[0].reshape(8, 8),
    )


# ---------------------------------------------------------- score breakdown


def test_score_breakdown_of_the_most_unusual_row(detector, data):
    X, _ = data
    display = ScoreBreakdownDisplay.from_estimator(detector, X, max_features=5)
    per_feature = detector.score_samples_per_feature(X)
    row = int(np.argmin(detector.score_samples(X)))
    assert display.row == row
    np.testing.assert_allclose(display.contributions, per_feature[row])
    top = np.argsort(per_feature[row])[:5]
    np.testing.assert_array_equal(display.features_, [f"x{i}" for i in top])
    # the top feature's bar at the top (barh draws the first at the bottom)
    widths = [bar.get_width() for bar in display.bars_]
    np.testing.assert_allclose(widths, -per_feature[row, top][::-1])
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert labels == [f"x{i}" for i in top[::-1]]
    title = display.ax_.get_title()
    assert title.startswith("AutoencoderOutlierDetector\n")
    assert f"row {row}: score {per_feature[row].sum():.3g}" in title
    assert display.figure_ is display.ax_.figure


def test_score_breakdown_of_a_named_row(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    columns = [f"px{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns, index=np.arange(len(X)) + 1000)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(3, **TINY)).fit(frame)
    _, ax = plt.subplots()
    display = ScoreBreakdownDisplay.from_estimator(
        detector, frame, row=-1, ax=ax, name="mine", max_features=100
    )
    assert display.ax_ is ax
    assert display.row == 1000 + len(X) - 1  # the index's label
    assert len(display.bars_) == 64  # every feature, at most max_features
    assert set(display.features_) == set(columns)
    assert display.ax_.get_title().startswith("mine\n")


def test_score_breakdown_bad_input(detector, data):
    X, _ = data
    with pytest.raises(ValueError, match="row must be"):
        ScoreBreakdownDisplay.from_estimator(detector, X[:5], row=5)
    with pytest.raises(ValueError, match="max_features"):
        ScoreBreakdownDisplay.from_estimator(detector, X[:5], max_features=0)
    with pytest.raises(ValueError, match="feature_names has 2"):
        ScoreBreakdownDisplay([-1.0, -2.0, -3.0], feature_names=["a", "b"]).plot()
    with pytest.raises(ValueError, match="1-dimensional"):
        ScoreBreakdownDisplay(np.ones((2, 2))).plot()
    with pytest.raises(NotFittedError):
        ScoreBreakdownDisplay.from_estimator(AutoencoderOutlierDetector(), X)
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=5, random_state=0).fit(X)
    with pytest.raises(TypeError, match="no score_samples_per_feature"):
        ScoreBreakdownDisplay.from_estimator(forest, X)
    vae = AutoencoderOutlierDetector(VAETransformer(2, **TINY)).fit(X)
    with pytest.raises(TypeError, match="no per-feature breakdown"):
        ScoreBreakdownDisplay.from_estimator(vae, X)
