"""The parameter table: the parameters every estimator shares.

Each variant writes its ``__init__`` out (as scikit-learn's estimators do),
with these names in this order and these defaults, except where the variant
documents its own default, and then any parameters of its own;
``tests/test_signatures.py`` checks every signature against this table.
"""

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
