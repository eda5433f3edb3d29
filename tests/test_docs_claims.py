"""The docs' comparisons with PCA say what the benchmark table says.

The sentences in the user guide's "Against PCA, TruncatedSVD and NMF" and
the README's MNIST table rest on the quality table of docs/benchmarks.md
(``benchmarks/bench_quality.py``'s output). Each claim is checked against
that table, and its figures are formatted from it: a rerun that changes
the table fails here until the sentences are brought in line. No training.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("AutoencoderTransformer", "SparseAutoencoder", "VAETransformer")
DATA = ("digits", "MNIST-5k")


def _section(text, heading):
    """The text under a markdown heading, up to the next heading of the same
    or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    assert match, f"no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def _tables(text):
    """Each markdown table in text as a list of dicts, header -> cell."""
    tables, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if len(rows) > 2:
            header = rows[0]
            tables.append([dict(zip(header, row, strict=True)) for row in rows[2:]])
        rows = []
    return tables


def _plain(cell):
    return cell.replace("*", "").strip()


def _normalised(text):
    return " ".join(text.split())


@pytest.fixture(scope="module")
def quality():
    """(data, k, model) -> (error / PCA, LR accuracy) from the quality table."""
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    section = _section(text, "Quality against PCA: reconstruction and features")
    # the section's first table with these columns: the current one
    table = next(t for t in _tables(section) if {"/ PCA", "LR acc"} <= set(t[0]))
    return {
        (row["data"], int(row["k"]), _plain(row["model"])): (
            float(_plain(row["/ PCA"])),
            float(_plain(row["LR acc"])),
            float(_plain(row["sq. error"])),
        )
        for row in table
    }


@pytest.fixture(scope="module")
def guide():
    text = (ROOT / "docs" / "user_guide.md").read_text()
    return _normalised(_section(text, "Against PCA, TruncatedSVD and NMF"))


def _ratio(quality, data, k, model):
    return quality[data, k, model][0]


def _acc_gain(quality, data, k, model):
    return quality[data, k, model][1] - quality[data, k, "PCA"][1]


def test_the_table_holds_the_models_the_guide_names(quality, guide):
    assert {key[2] for key in quality} == {"PCA", *MODELS}
    assert {key[0] for key in quality} == set(DATA)
    assert {key[1] for key in quality} == {2, 8, 30}
    assert "`AutoencoderTransformer`, `SparseAutoencoder` and `VAETransformer`" in (
        guide
    )


def test_reconstruction_at_two_components(quality, guide):
    assert all(_ratio(quality, d, 2, m) < 1 for d in DATA for m in MODELS)
    assert "at k = 2 every one beat PCA on both sets" in guide


def test_reconstruction_at_eight_components(quality, guide):
    losers = [(d, m) for d in DATA for m in MODELS if _ratio(quality, d, 8, m) >= 1]
    assert losers == [("digits", "VAETransformer")]
    ratio = _ratio(quality, "digits", 8, "VAETransformer")
    assert f"k = 8 every one but the VAE on the digits ({ratio:.3f}× PCA's error)" in (
        guide
    )


def test_reconstruction_at_thirty_components(quality, guide):
    digits = [m for m in MODELS if _ratio(quality, "digits", 30, m) < 1]
    assert digits == ["AutoencoderTransformer"]
    ratio = _ratio(quality, "digits", 30, "AutoencoderTransformer")
    assert (
        f"only `AutoencoderTransformer` beat it on the digits ({ratio:.3f}× "
        "PCA's error)" in guide
    )
    mnist = {m: _ratio(quality, "MNIST-5k", 30, m) for m in MODELS}
    assert all(r < 1 for r in mnist.values())
    best = min(mnist, key=mnist.get)
    assert f"on MNIST-5k all three did, `{best}` most ({mnist[best]:.3f}×)" in guide


def test_classifier_accuracy(quality, guide):
    assert all(
        _acc_gain(quality, d, k, m) > 0 for d in DATA for k in (2, 8) for m in MODELS
    )
    assert "at k = 2 and 8 every one beat PCA's on both sets" in guide
    assert all(abs(_acc_gain(quality, d, 30, m)) < 0.02 for d in DATA for m in MODELS)
    assert all(_acc_gain(quality, "MNIST-5k", 30, m) < 0 for m in MODELS)
    assert (
        "at k = 30 all were within 0.02 of PCA's, and on MNIST-5k PCA's was the "
        "highest" in guide
    )


def test_the_readme_mnist_table_is_the_benchmark_table(quality):
    text = (ROOT / "README.md").read_text()
    (table,) = _tables(_section(text, "Against PCA on MNIST"))
    for row in table:
        k = int(row["k"])
        pca_error, pca_acc = map(float, re.findall(r"[\d.]+", _plain(row["PCA"])))
        assert pca_error == pytest.approx(quality["MNIST-5k", k, "PCA"][2], abs=6e-3)
        assert pca_acc == quality["MNIST-5k", k, "PCA"][1]
        for model in MODELS:
            error, ratio, acc = map(float, re.findall(r"[\d.]+", _plain(row[model])))
            expected_ratio, expected_acc, expected_error = quality["MNIST-5k", k, model]
            assert (error, ratio, acc) == (
                pytest.approx(expected_error, abs=6e-3),
                expected_ratio,
                expected_acc,
            ), (k, model)
