"""The parameter table and its checks: the parameters every estimator
takes (each variant writes its ``__init__`` out; ``tests/test_signatures.py``
holds the signatures to this table), the checks that scikit-learn's
``_parameter_constraints`` cannot express, the warm-start rules (which
parameters shape the network and cannot change once it is fitted), and
:class:`ParameterNames`, the mixin of the estimators' base that refuses
another library's names for them."""

import inspect
from numbers import Integral, Real

import numpy as np
import torch

from ._data import held_out
from ._objectives import PENALTIES, make_penalty
from ._pca_start import uses_pca_start
from .nn import ACTIVATIONS

#: The largest float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: The parameters every estimator takes, with their defaults, in signature
#: order (``n_components`` is the one positional parameter).
BASE_PARAMS = {
    "n_components": 2,
    "encoder": None,
    "decoder": None,
    "hidden_layer_sizes": (512,),
    "decoder_layer_sizes": None,
    "activation": "relu",
    "code_activation": None,
    "init": "auto",
    "loss": "auto",
    "categorical_features": "from_dtype",
    "column_likelihoods": None,
    "penalty": None,
    "alpha": 0.3,
    "target_weight": 0.0,
    "sparsity_target": 0.05,
    "n_nonzero_coefs": None,
    "sparse_output": False,
    "noise": None,
    "noise_level": 0.2,
    "dropout": 0.1,
    "weight_decay": 0.0,
    "batch_size": 128,
    "learning_rate": "one_cycle",
    "learning_rate_init": 3e-3,
    "max_iter": "auto",
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
    "tol": 1e-4,
    "callbacks": None,
    "device": "auto",
    "strategy": None,
    "random_state": None,
    "verbose": 0,
    "warm_start": False,
}

#: Parameters added since model files of format 2 and pickles were first
#: written, with the value that reproduces the older behaviour: a file or
#: pickle without them gets this value (the supervised option, issue 28;
#: TopK, issue 29; data-parallel training, issue 30).
ADDED_PARAMS = {
    "target_weight": 0.0,
    "n_nonzero_coefs": None,
    "sparse_output": False,
    "strategy": None,
    "categorical_features": "from_dtype",
    "column_likelihoods": None,
    "init": "random",
}

#: Parameters that shape the network (or the data's units): fixed once a
#: model is fitted, so a warm start or ``partial_fit`` that finds one changed
#: raises instead of silently training the old network. Every other
#: parameter (learning rate, weight decay, alpha, beta, noise, batch size,
#: the stopping rule) takes effect on the next call.
ARCHITECTURE = (
    "n_components",
    "encoder",
    "decoder",
    "hidden_layer_sizes",
    "decoder_layer_sizes",
    "activation",
    "code_activation",
    "init",
    "dropout",
    "penalty",
    "n_nonzero_coefs",
    "device",
)


#: Names that newcomers bring from neighbouring libraries (skorch, Keras,
#: PCA), with skae's parameter for the same thing. A constructor or
#: ``set_params`` given one (a TypeError or ValueError either way) names the
#: right parameter.
FOREIGN_NAMES = {
    "max_epochs": "max_iter (the number of epochs; skorch's max_epochs)",
    "epochs": "max_iter (the number of epochs)",
    "lr": "learning_rate_init (skorch's lr)",
    "module": "encoder and decoder (your own torch modules)",
    "criterion": "loss ('mse' or 'bce')",
    "optimizer__weight_decay": "weight_decay",
    "iterator_train__batch_size": "batch_size",
    "train_split": "early_stopping=True with validation_fraction",
    "patience": "n_iter_no_change",
    "seed": "random_state",
}


def foreign_name_hint(names):
    """ " Did you mean ...?" for the first of ``names`` that is a known name
    of another library, or ""."""
    for name in names:
        if name in FOREIGN_NAMES:
            return f" {name!r} is not a skae parameter: use {FOREIGN_NAMES[name]}."
    return ""


def check_n_components(estimator):
    """A float ``n_components`` (PCA's fraction of variance to keep) is
    refused with what skae's means instead; sklearn's constraint message
    does not say why."""
    value = estimator.n_components
    if isinstance(value, Real) and not isinstance(value, Integral | bool):
        if float(value).is_integer() and value >= 1:
            return  # 8.0: sklearn's constraint refuses it with its own words
        raise ValueError(
            f"n_components={value!r}: skae's n_components is the width of the "
            "code, a positive int. A float in (0, 1) is PCA's fraction of "
            "variance to keep, which an autoencoder has no counterpart for; "
            "pick a width (e.g. PCA(n_components=...).fit(X).n_components_ as "
            "a start) or compare a few with GridSearchCV."
        )


class ParameterNames:
    """Mixin of :class:`~skae._base.BaseAutoencoder`: another library's name
    for a parameter (skorch's ``max_epochs``, ``lr``) refused naming skae's,
    in the constructor and in ``set_params``, and a float ``n_components``
    refused saying why (:func:`check_n_components`)."""

    def __new__(cls, *args, **kwargs):
        # only to name the right parameter for another library's (skorch's
        # max_epochs, lr): __init__ is written out and takes no **kwargs
        hint = foreign_name_hint(kwargs)
        if hint:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument "
                f"{next(k for k in kwargs if k in FOREIGN_NAMES)!r}.{hint}"
            )
        return super().__new__(cls)

    def set_params(self, **params):
        """Set the parameters of this estimator (scikit-learn's
        ``set_params``; another library's name for a parameter, skorch's
        ``max_epochs`` say, is refused naming skae's).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        valid = self.get_params(deep=False)
        unknown = [name for name in params if name not in valid]
        hint = foreign_name_hint(unknown)
        if hint:
            raise ValueError(
                f"Invalid parameter {next(n for n in unknown if n in FOREIGN_NAMES)!r} "
                f"for estimator {type(self).__name__}.{hint}"
            )
        return super().set_params(**params)

    def _validate_params(self):
        check_n_components(self)  # before sklearn's less helpful message
        super()._validate_params()


def sizes_of(sizes):
    """Layer widths as a tuple of ints."""
    return tuple(int(s) for s in sizes)


def check_params(estimator, X, incremental):
    """Checks that ``_parameter_constraints`` cannot express (with X=None,
    those that need no data: ``skae.load`` checks a file's parameters)."""
    own = [n for n in ("encoder", "decoder") if getattr(estimator, n) is not None]
    if getattr(estimator, "init", "random") == "pca" and own:
        raise ValueError(
            f"init='pca' builds skae's own MLP blocks beside a linear path started "
            f"at PCA; it cannot start your own {' and '.join(own)}. Set "
            "init='random' (or leave init='auto'), or leave encoder and decoder "
            "at None."
        )
    for name in ("hidden_layer_sizes", "decoder_layer_sizes"):
        sizes = getattr(estimator, name)
        if sizes is None and name == "decoder_layer_sizes":
            continue
        if np.ndim(sizes) != 1 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
            for s in np.ravel(sizes)
        ):
            raise ValueError(
                f"{name} must be a sequence of positive integers, e.g. "
                f"(128, 64), or () for none; got {sizes!r}."
            )
    for name in ("activation", "code_activation"):
        value = getattr(estimator, name)
        if value is not None and value not in ACTIVATIONS:
            raise ValueError(
                f"The '{name}' parameter of {type(estimator).__name__} must be one "
                f"of {sorted(ACTIVATIONS)}"
                + (" or None" if name == "code_activation" else "")
                + f". Got {value!r} instead."
            )
    if estimator.penalty is not None and estimator.penalty not in PENALTIES:
        raise ValueError(
            f"The 'penalty' parameter of {type(estimator).__name__} must be one of "
            f"{sorted(PENALTIES)} or None. Got {estimator.penalty!r} instead."
        )
    if estimator.penalty is not None:
        penalty = make_penalty(estimator.penalty, estimator)
        penalty.code_activation(estimator.code_activation)
        penalty.check(estimator, X)
    for name in ("learning_rate_init", "weight_decay"):
        if getattr(estimator, name) > FLOAT32_MAX:
            raise ValueError(
                f"{name}={getattr(estimator, name)!r} is beyond float32's range "
                f"({FLOAT32_MAX:.3g}), in which the network trains; use a "
                "smaller value."
            )
    if estimator.early_stopping and not incremental and X is not None:
        n_valid = held_out(estimator.validation_fraction, X.shape[0])
        if n_valid >= X.shape[0]:
            raise ValueError(
                f"early_stopping=True holds out ceil(validation_fraction * "
                f"n_samples) = {n_valid} of the {X.shape[0]} samples, which "
                "leaves none to train on. Lower validation_fraction, or "
                "give more samples."
            )
    if estimator.noise == "masking" and estimator.noise_level >= 1:
        raise ValueError(
            "noise_level is the fraction of entries masked when noise='masking' "
            f"and must be below 1; got {estimator.noise_level!r}."
        )
    # at fit, every rule; a model file (X=None), the MLP's only
    check_no_effect(estimator, mlp_only=X is None)


#: The neutral values of the parameters that act only together with another
#: one: the value that means "off", accepted (as is each estimator's own
#: default) where the parameter has no effect, so that a grid can pin it.
#: A parameter with no neutral value (``sparsity_target``,
#: ``validation_fraction``) can only be left at its default there.
NEUTRAL = {
    "alpha": (0.0,),  # a penalty of strength 0
    "sparsity_target": (),
    "n_nonzero_coefs": (),
    "encoder": (),  # only None, the default
    "decoder": (),
    "noise_level": (0.0,),  # no corruption
    "validation_fraction": (),
    "dropout": (0.0,),  # no dropout
    "activation": ("identity",),  # linear either way
    "hidden_layer_sizes": ((),),  # no layer
    "decoder_layer_sizes": (None,),
    "kl_warmup": (0,),  # no warm-up
}


def _penalties_reading(name):
    """The penalties whose constructor takes the estimator's ``name``."""
    return sorted(p for p, cls in PENALTIES.items() if name in cls.params)


def no_effect(estimator, mlp_only=False):
    """The parameters that the estimator's other parameters make
    ineffective: ``{name: (why, fix)}``. With ``mlp_only``, those of the
    MLP only (what a model file is checked for: a file written before the
    other rules existed may hold an ignored value, which trained nothing)."""
    unused = {}
    hidden = sizes_of(estimator.hidden_layer_sizes)
    decoder_sizes = (
        hidden[::-1]
        if estimator.decoder_layer_sizes is None
        else sizes_of(estimator.decoder_layer_sizes)
    )
    mlp_layers = (len(hidden) if estimator.encoder is None else 0) + (
        len(decoder_sizes) if estimator.decoder is None else 0
    )
    if mlp_layers == 0:
        why = (
            "encoder and decoder are your own modules"
            if estimator.encoder is not None and estimator.decoder is not None
            else "no MLP hidden layer is built (hidden_layer_sizes=() and "
            "decoder_layer_sizes)"
        )
        build = (
            "configure your modules directly."
            if estimator.encoder is not None and estimator.decoder is not None
            else "give hidden_layer_sizes to build the layers it acts on."
        )
        unused["activation"] = (
            why,
            "set code_activation for a nonlinear code, or " + build,
        )
        unused["dropout"] = (why, build)
    if estimator.encoder is not None and (
        estimator.decoder is not None or estimator.decoder_layer_sizes is not None
    ):
        unused["hidden_layer_sizes"] = (
            "encoder is your own module",
            "configure your module directly.",
        )
    if estimator.decoder is not None:
        unused["decoder_layer_sizes"] = (
            "decoder is your own module",
            "configure your module directly.",
        )
    if mlp_only:
        return unused
    if estimator.penalty is None:
        named = ", ".join(repr(p) for p in sorted(PENALTIES))
        unused["alpha"] = (
            "without a penalty (penalty=None)",
            f"set penalty to one of {named} to use it.",
        )
    for name, penalty in (("sparsity_target", "kl"), ("n_nonzero_coefs", "topk")):
        readers = _penalties_reading(name)
        if estimator.penalty not in readers:
            unused[name] = (
                f"with penalty={estimator.penalty!r}: only penalty="
                + " or ".join(repr(p) for p in readers)
                + " reads it",
                f"set penalty={penalty!r} to use it.",
            )
    if estimator.penalty is not None:
        # what the penalty's network leaves unused (TopK's builds its own)
        for name, reason in (
            make_penalty(estimator.penalty, estimator).no_effect(estimator).items()
        ):
            unused.setdefault(name, reason)
    if estimator.noise is None:
        unused["noise_level"] = (
            "without noise (noise=None)",
            "set noise='masking' or 'gaussian' to use it.",
        )
    if not estimator.early_stopping:
        unused["validation_fraction"] = (
            "without early stopping (early_stopping=False): no rows are held out",
            "set early_stopping=True to use it.",
        )
    if getattr(estimator, "beta", None) == 0:
        unused["kl_warmup"] = (
            "with beta=0: there is no KL weight to ramp up",
            "set beta > 0 to use it.",
        )
    return unused


def check_no_effect(estimator, mlp_only=False):
    """One rule for every parameter: a value that has no effect is an error,
    unless it is the estimator's default or the parameter's neutral value
    (:data:`NEUTRAL`); a default must always pass, since ``clone`` and
    ``GridSearchCV`` rely on it."""
    unused = no_effect(estimator, mlp_only)
    defaults = {
        name: p.default
        for name, p in signature_params(type(estimator)).items()
        if name in unused
    }
    for name, (why, fix) in unused.items():
        value = getattr(estimator, name)
        accepted = (defaults[name], *NEUTRAL[name])
        if any(same_param(value, ok) for ok in accepted):
            continue
        leave = " or ".join(repr(v) for v in dict.fromkeys(accepted))
        raise ValueError(
            f"{name}={value!r} has no effect here: {why}. Leave {name} at its "
            f"default or neutral value ({leave}), or {fix}"
        )


def check_architecture_unchanged(estimator):
    """Refuse to continue a fitted network with parameters that would
    build another one."""
    requested = estimator._requested_likelihood()
    fitted_likelihood = estimator._fitted_likelihood()
    # a table's columns have their likelihoods, which loss does not choose
    table = getattr(estimator, "table_", None) is not None
    if not table and requested not in (None, fitted_likelihood):
        raise ValueError(
            f"warm_start=True and partial_fit continue a model fitted with "
            f"{estimator._likelihood_label(fitted_likelihood)}; it cannot "
            f"switch to {estimator._likelihood_label(requested)}. Set warm_start="
            "False (and call fit) to fit a new model."
        )
    fitted = estimator._fitted_params
    changed = [
        name
        for name in ARCHITECTURE
        if not same_param(getattr(estimator, name), fitted.get(name))
    ]
    if "init" in changed:
        # another init that builds the same network ("auto" is "pca" on a
        # table, "random" elsewhere) changes nothing
        now = {**fitted, "init": estimator.init}
        if uses_pca_start(estimator, fitted_likelihood, now) == uses_pca_start(
            estimator, fitted_likelihood
        ):
            changed.remove("init")
    if changed:
        listed = ", ".join(
            f"{n} (fitted {fitted.get(n)!r}, now {getattr(estimator, n)!r})"
            for n in changed
        )
        raise ValueError(
            f"warm_start=True and partial_fit continue the fitted network, "
            f"which these parameters would change: {listed}. Set them back, "
            "or set warm_start=False (and call fit) to fit a new model."
        )


def signature_params(cls):
    return inspect.signature(cls.__init__).parameters


def same_param(a, b):
    """Whether two parameter values are the same setting."""
    if isinstance(a, torch.nn.Module) or isinstance(b, torch.nn.Module):
        return a is b
    if isinstance(a, torch.device) or isinstance(b, torch.device):
        try:  # "cpu" and torch.device("cpu") are one device
            return torch.device(a) == torch.device(b)
        except (TypeError, RuntimeError):
            return False
    if isinstance(a, list | tuple | np.ndarray) or isinstance(
        b, list | tuple | np.ndarray
    ):
        try:
            return sizes_of(a) == sizes_of(b)
        except (TypeError, ValueError):
            return False
    return a == b or (a is None and b is None)
