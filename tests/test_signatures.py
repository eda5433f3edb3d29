"""Every estimator's written-out ``__init__`` against the parameter table.

The shared parameters, their order and defaults live once, in
``skae._params.BASE_PARAMS``; each variant's signature repeats them. The
variants' own defaults and parameters are written here, as the public API
they document: changing one is an API change, made in the class and here.
"""

import inspect

import pytest

import skae
from skae._base import BaseAutoencoder
from skae._params import ARCHITECTURE, BASE_PARAMS

#: class -> (the defaults it overrides, its own parameters after the shared ones)
VARIANTS = {
    skae.AutoencoderTransformer: ({}, {}),
    skae.SparseAutoencoder: ({"penalty": "l1", "loss": "mse"}, {}),
    skae.DenoisingAutoencoder: ({"noise": "gaussian"}, {}),
    skae.ContractiveAutoencoder: ({"penalty": "contractive", "alpha": 0.1}, {}),
    skae.VAETransformer: ({}, {"beta": 1.0, "kl_warmup": 0, "likelihood": "auto"}),
}


def _expected(overrides, own):
    """(name, kind, default, type of the default) of each parameter after
    ``self``, as the table says."""
    params = {**BASE_PARAMS, **overrides, **own}
    first = next(iter(params))
    return [
        (
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if name == first
            else inspect.Parameter.KEYWORD_ONLY,
            default,
            type(default),
        )
        for name, default in params.items()
    ]


def _actual(cls):
    (self, *params) = inspect.signature(cls.__init__).parameters.values()
    assert self.name == "self" and self.default is inspect.Parameter.empty
    return [(p.name, p.kind, p.default, type(p.default)) for p in params]


def test_every_variant_is_in_the_table():
    public = {
        getattr(skae, name)
        for name in skae.__all__
        if isinstance(getattr(skae, name), type)
        and issubclass(getattr(skae, name), BaseAutoencoder)
    }
    assert public == set(VARIANTS)


def test_the_table_is_consistent():
    assert next(iter(BASE_PARAMS)) == "n_components"
    assert set(ARCHITECTURE) <= set(BASE_PARAMS)
    for overrides, own in VARIANTS.values():
        assert set(overrides) <= set(BASE_PARAMS)
        assert not set(own) & set(BASE_PARAMS)
        # an override that repeats the shared default belongs in neither place
        assert all(BASE_PARAMS[name] != value for name, value in overrides.items())


@pytest.mark.parametrize("cls", list(VARIANTS), ids=lambda cls: cls.__name__)
def test_signature_is_the_table(cls):
    overrides, own = VARIANTS[cls]
    assert _actual(cls) == _expected(overrides, own)


@pytest.mark.parametrize("cls", list(VARIANTS), ids=lambda cls: cls.__name__)
def test_signature_names_are_the_constraints(cls):
    names = [name for name, *_ in _actual(cls)]
    assert len(names) == len(set(names))
    assert set(names) == set(cls._parameter_constraints)


@pytest.mark.parametrize("cls", list(VARIANTS), ids=lambda cls: cls.__name__)
def test_init_only_stores_its_arguments(cls):
    """As scikit-learn requires: each parameter stored under its own name,
    unchanged (the same object), and nothing else set."""
    sentinels = {name: object() for name, *_ in _actual(cls)}
    first = next(iter(sentinels))
    rest = {name: value for name, value in sentinels.items() if name != first}
    estimator = cls(sentinels[first], **rest)
    assert vars(estimator).keys() == sentinels.keys()
    assert all(getattr(estimator, name) is value for name, value in sentinels.items())
    assert cls.__init__.__doc__ == "Store the parameters; see the class docstring."
