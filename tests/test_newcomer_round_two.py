"""Issue 32, "A newcomer's first hour, round two": one rule for parameters
that have no effect, a quickstart that wins, a blow-up under the one-cycle
schedule, the names and values newcomers bring from neighbouring libraries,
the warnings' arithmetic and lines, and the fast test selection."""

import inspect
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import skae
from skae._base import BaseAutoencoder

ROOT = Path(__file__).resolve().parent.parent

AUTOENCODERS = sorted(
    (
        getattr(skae, name)
        for name in skae.__all__
        if isinstance(getattr(skae, name), type)
        and issubclass(getattr(skae, name), BaseAutoencoder)
    ),
    key=lambda cls: cls.__name__,
)

#: Parameters that act whatever the others are (for fit).
ALWAYS = {
    "n_components", "code_activation", "loss", "sparse_output",
    "penalty", "noise", "weight_decay", "batch_size", "learning_rate",
    "learning_rate_init", "max_iter", "early_stopping", "n_iter_no_change",
    "tol", "callbacks", "device", "random_state", "verbose", "warm_start",
    "beta", "likelihood", "target_weight", "strategy",
    # they act on the data (a table's columns), whatever the others are
    "categorical_features", "column_likelihoods",
    # it starts the network; with the user's own modules "pca" is an error
    "init",
}  # fmt: skip

#: parameter -> (the setting that makes it ineffective, a value that then
#: does nothing and is neither a default nor neutral)
NO_EFFECT = {
    "alpha": (dict(penalty=None), 0.7),
    "sparsity_target": (dict(penalty=None), 0.2),
    "noise_level": (dict(noise=None), 0.9),
    "validation_fraction": (dict(early_stopping=False), 0.3),
    "dropout": (dict(hidden_layer_sizes=()), 0.5),
    "activation": (dict(hidden_layer_sizes=()), "tanh"),
    "hidden_layer_sizes": (
        dict(encoder=torch.nn.Linear(4, 3), decoder=torch.nn.Linear(3, 4)),
        (7,),
    ),
    "decoder_layer_sizes": (dict(decoder=torch.nn.Linear(3, 4)), (7,)),
    "kl_warmup": (dict(beta=0.0), 2),
    "n_nonzero_coefs": (dict(penalty="l1"), 2),
    # penalty="topk" builds its own linear network
    "encoder": (dict(penalty="topk", noise=None), torch.nn.Linear(4, 3)),
    "decoder": (dict(penalty="topk", noise=None), torch.nn.Linear(3, 4)),
}

X4 = np.random.default_rng(0).normal(size=(30, 4))


def _check(est):
    est._validate_params()
    est._check_params(X4, incremental=False)


def _applies(cls, context):
    """Whether the class takes the context at all (the VAE refuses TopK)."""
    return not (cls is skae.VAETransformer and context.get("penalty") == "topk")


def _cases():
    for cls in AUTOENCODERS:
        for name in inspect.signature(cls.__init__).parameters:
            if name in NO_EFFECT and _applies(cls, NO_EFFECT[name][0]):
                yield pytest.param(cls, name, id=f"{cls.__name__}-{name}")


#: The neutral values the user guide's table documents.
NEUTRAL = {
    "alpha": (0.0,),
    "sparsity_target": (),
    "noise_level": (0.0,),
    "validation_fraction": (),
    "dropout": (0.0,),
    "activation": ("identity",),
    "hidden_layer_sizes": ((),),
    "decoder_layer_sizes": (None,),
    "kl_warmup": (0,),
    "n_nonzero_coefs": (),
    "encoder": (),
    "decoder": (),
}


def test_every_parameter_is_classified():
    """A new parameter must say whether it can be without effect."""
    from skae._params import NEUTRAL as table

    assert table == NEUTRAL
    for cls in AUTOENCODERS:
        names = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert names <= ALWAYS | set(NO_EFFECT), (cls, names - ALWAYS - set(NO_EFFECT))


@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda c: c.__name__)
def test_defaults_always_pass(cls):
    # and with each context that makes a parameter ineffective
    _check(cls(n_components=3))
    for name, (context, _) in NO_EFFECT.items():
        if name in inspect.signature(cls.__init__).parameters and _applies(
            cls, context
        ):
            _check(clone(cls(n_components=3, **context)))


@pytest.mark.parametrize(("cls", "name"), list(_cases()))
def test_parameter_rule_every_estimator_and_parameter(cls, name):
    """A value with no effect is an error unless it is the default or the
    neutral value; the error names the parameter, why, and the fix."""
    context, value = NO_EFFECT[name]
    default = inspect.signature(cls.__init__).parameters[name].default
    est = cls(n_components=3, **context, **{name: value})
    with pytest.raises(ValueError, match=rf"^{name}=.* has no effect here: .*Leave"):
        _check(est)
    for ok in (default, *NEUTRAL[name]):
        _check(cls(n_components=3, **context, **{name: ok}))
    # where it has an effect, the same value is accepted
    if name == "alpha":
        _check(cls(n_components=3, penalty="l1", alpha=value))
    if name == "noise_level":
        _check(cls(n_components=3, noise="gaussian", noise_level=value))


def test_alpha_grid_without_penalty_is_refused_at_fit():
    X = load_digits().data[:200]
    with pytest.raises(ValueError, match=r"alpha=0\.5 has no effect.*penalty"):
        skae.AutoencoderTransformer(8, alpha=0.5, max_iter=1).fit(X)
    with pytest.raises(ValueError, match=r"noise_level=0\.9 has no effect.*noise"):
        skae.AutoencoderTransformer(8, noise_level=0.9, max_iter=1).fit(X)
    # dropout=0.0 (off) pins a grid that includes hidden_layer_sizes=()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        skae.AutoencoderTransformer(
            8, hidden_layer_sizes=(), dropout=0.0, max_iter=1
        ).fit(X)


# ------------------------------------------------------------ item 2


def _readme_quickstart():
    """The README's quickstart: its first code block and the output shown
    under it."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    return code, shown


@pytest.mark.slow
def test_readme_quickstart_runs_wins_and_prints_what_the_readme_shows(capsys):
    code, shown = _readme_quickstart()
    exec(compile(code, "README quickstart", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.split() == shown.split()
    scores = dict(re.findall(r"(\w+)\s+accuracy ([\d.]+)", printed))
    assert float(scores["AutoencoderTransformer"]) > float(scores["PCA"]) + 0.02


# ------------------------------------------------------------ item 4


@pytest.mark.parametrize("schedule", ["one_cycle", "constant"])
def test_blowup_is_an_error_under_both_schedules(schedule):
    X = load_digits().data
    est = skae.AutoencoderTransformer(
        8, learning_rate_init=1e3, loss="mse", max_iter=5, learning_rate=schedule
    )
    with pytest.raises(ValueError, match="diverged.*Lower learning_rate_init"):
        est.fit(X)
    assert not hasattr(est, "net_")


def test_a_legitimate_fit_does_not_trip_the_blowup_check():
    X = load_digits().data[:400]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = skae.AutoencoderTransformer(8, max_iter=5, random_state=0).fit(X)
    assert est.loss_curve_[-1] < 1


# ------------------------------------------------------------ item 7


def test_contamination_auto_is_a_robust_threshold():
    X = load_digits().data[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det = skae.AutoencoderOutlierDetector(
            skae.AutoencoderTransformer(8, max_iter=3, random_state=0),
            contamination="auto",
        ).fit(X)
    scores = det.estimator_.score_samples(X)
    median = np.median(scores)
    mad = np.median(np.abs(scores - median))
    assert det.offset_ == pytest.approx(median - 3 * 1.4826 * mad)
    assert 0 <= np.mean(det.predict(X) == -1) < 0.5


def test_load_of_a_missing_file_is_file_not_found(tmp_path):
    path = tmp_path / "missing.skae"
    with pytest.raises(FileNotFoundError, match="missing.skae"):
        skae.load(path)


@pytest.mark.parametrize(
    ("name", "ours"), [("max_epochs", "max_iter"), ("lr", "learning_rate_init")]
)
def test_skorch_names_are_refused_naming_ours(name, ours):
    with pytest.raises(
        TypeError, match=rf"'{name}' is not a skae parameter: use {ours}"
    ):
        skae.AutoencoderTransformer(**{name: 3})
    with pytest.raises(ValueError, match=rf"'{name}'.*use {ours}"):
        skae.VAETransformer().set_params(**{name: 3})


def test_float_n_components_is_refused_with_pca_meaning():
    with pytest.raises(ValueError, match="fraction of variance"):
        skae.AutoencoderTransformer(0.95).fit(load_digits().data[:50])


def test_readme_says_random_state_none_varies():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"random_state=None`[^.]*(every|each) fit", readme)


# ------------------------------------------------------------ item 8


def test_convergence_warning_states_a_fall_the_loss_curve_holds():
    # the text names the rule (more than 2% over the last epochs), not the
    # fit's own figure, which loss_curve_ holds: relative to the earlier
    # loss, so at most 100%
    X = load_digits().data[:400]
    with pytest.warns(ConvergenceWarning, match="still falling") as record:
        est = skae.AutoencoderTransformer(8, max_iter=5, random_state=0).fit(X)
    message = str(next(w for w in record if w.category is ConvergenceWarning).message)
    percent, window = re.search(
        r"by more than (\d+)% over the last (\d+) epochs", message
    ).groups()
    curve = est.loss_curve_
    fall = (curve[-1 - int(window)] - curve[-1]) / curve[-1 - int(window)]
    assert int(percent) / 100 < fall <= 1


def test_imputer_empty_column_warning_points_at_the_caller():
    X = load_digits().data[:120].copy()
    X[::3, 5] = np.nan
    X[:, 7] = np.nan
    imputer = skae.AutoencoderImputer(
        skae.DenoisingAutoencoder(
            8, hidden_layer_sizes=(8,), noise="masking", noise_level=0.25, max_iter=2
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(X)
    with pytest.warns(UserWarning, match="Skipping features") as record:
        imputer.transform(X)
    assert {w.filename for w in record} == {__file__}


def test_imputer_around_an_estimator_without_masking_noise_warns_once():
    X = load_digits().data[:120].copy()
    X[::3, 5] = np.nan
    imputer = skae.AutoencoderImputer(
        skae.AutoencoderTransformer(8, hidden_layer_sizes=(8,), max_iter=2)
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        imputer.fit(X)
    noise = [w for w in record if "masking" in str(w.message)]
    assert len(noise) == 1 and noise[0].filename == __file__
    assert "noise='masking'" in str(noise[0].message)


# ------------------------------------------------------------ item 9


def test_slow_marker_is_registered_and_the_fast_run_documented():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("slow:") for m in markers)
    assert 'python -m pytest -m "not slow"' in (ROOT / "README.md").read_text()
