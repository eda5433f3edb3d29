"""The parameter table and its checks: the parameters every estimator
takes (each variant writes its ``__init__`` out; ``tests/test_signatures.py``
holds the signatures to this table), the checks that scikit-learn's
``_parameter_constraints`` cannot express, and the warm-start rules (which
parameters shape the network and cannot change once it is fitted)."""

import inspect
from numbers import Integral

import numpy as np
import torch

from ._data import held_out
from ._objectives import PENALTIES, likelihood
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
    "loss": "auto",
    "penalty": None,
    "alpha": 0.3,
    "sparsity_target": 0.05,
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
    "random_state": None,
    "verbose": 0,
    "warm_start": False,
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
    "dropout",
    "penalty",
    "device",
)


def sizes_of(sizes):
    """Layer widths as a tuple of ints."""
    return tuple(int(s) for s in sizes)


def check_params(estimator, X, incremental):
    """Checks that ``_parameter_constraints`` cannot express (with X=None,
    those that need no data: ``skae.load`` checks a file's parameters)."""
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
        PENALTIES[estimator.penalty]().code_activation(estimator.code_activation)
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
    check_unused_mlp_params(estimator)


def check_unused_mlp_params(estimator):
    """The MLP parameters that build no layer must keep their defaults:
    a value that would be silently ignored is an error."""
    hidden = sizes_of(estimator.hidden_layer_sizes)
    decoder_sizes = (
        hidden[::-1]
        if estimator.decoder_layer_sizes is None
        else sizes_of(estimator.decoder_layer_sizes)
    )
    mlp_layers = (len(hidden) if estimator.encoder is None else 0) + (
        len(decoder_sizes) if estimator.decoder is None else 0
    )
    unused = {}
    if mlp_layers == 0:
        why = (
            "encoder and decoder are your own modules"
            if estimator.encoder is not None and estimator.decoder is not None
            else "no MLP hidden layer is built (hidden_layer_sizes=() and "
            "decoder_layer_sizes)"
        )
        unused.update(activation=why, dropout=why)
    if estimator.encoder is not None and (
        estimator.decoder is not None or estimator.decoder_layer_sizes is not None
    ):
        unused["hidden_layer_sizes"] = "encoder is your own module"
    if estimator.decoder is not None:
        unused["decoder_layer_sizes"] = "decoder is your own module"
    defaults = {
        name: p.default
        for name, p in signature_params(type(estimator)).items()
        if name in unused
    }
    for name, why in unused.items():
        value = getattr(estimator, name)
        if name == "activation" and value == "identity":
            continue  # linear either way
        if not same_param(value, defaults[name]):
            raise ValueError(
                f"{name}={value!r} has no effect here: {why}. Leave {name} at "
                f"its default ({defaults[name]!r}); "
                + (
                    "code_activation makes the code itself nonlinear."
                    if name == "activation"
                    else "configure your module directly."
                )
            )


def check_architecture_unchanged(estimator):
    """Refuse to continue a fitted network with parameters that would
    build another one."""
    requested = estimator._requested_likelihood()
    if requested not in (None, likelihood(estimator.loss_)):
        raise ValueError(
            f"warm_start=True and partial_fit continue a model fitted with "
            f"{estimator._likelihood_label(likelihood(estimator.loss_))}; it cannot "
            f"switch to {estimator._likelihood_label(requested)}. Set warm_start="
            "False (and call fit) to fit a new model."
        )
    fitted = estimator._fitted_params
    changed = [
        name
        for name in ARCHITECTURE
        if not same_param(getattr(estimator, name), fitted.get(name))
    ]
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
