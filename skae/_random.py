"""Where a fit's random numbers come from: the seeds of its streams, the
stream of torch's global generator that a user's module trains on, and the
process-wide lock around that generator. skae's own blocks draw from the
fit's ``torch.Generator`` instead (see :func:`skae.nn.drawing_from`)."""

import threading
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state

from .nn import ACTIVATIONS

#: Process-wide: torch's global generator is one per process, so fits
#: running in threads take turns at the moments they draw from it (building
#: a network from a user's module; a training step of a user's module that
#: may draw from it), each drawing the same numbers as it would alone.
#: skae's own blocks never draw from it, and never take the lock.
_GLOBAL_RNG_LOCK = threading.RLock()


def _generator_states(device):
    """torch's global generator state for the CPU and, on an accelerator,
    for ``device``."""
    states = [torch.get_rng_state()]
    if device.type == "cuda":
        states.append(torch.cuda.get_rng_state(device))
    elif device.type != "cpu":
        states.append(getattr(torch, device.type).get_rng_state())
    return states


def _set_generator_states(device, states):
    torch.set_rng_state(states[0])
    if device.type == "cuda":
        torch.cuda.set_rng_state(states[1], device)
    elif device.type != "cpu":
        getattr(torch, device.type).set_rng_state(states[1])


def _seed_generators(seed, device):
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)
    elif device.type != "cpu":  # mps, xpu: one generator per backend module
        getattr(torch, device.type).manual_seed(seed)


@contextmanager
def seeded(seed, device):
    """Seed torch's global generators for the block, holding the lock, and
    restore the caller's state afterwards."""
    with _GLOBAL_RNG_LOCK:
        saved = _generator_states(device)
        try:
            _seed_generators(seed, device)
            yield
        finally:
            _set_generator_states(device, saved)


class GlobalStream:
    """torch's global generator as one training run's private stream, for a
    network that may draw from it (a user's module: ``nn.Dropout``,
    ``F.dropout``, ``torch.randn_like``).

    Each :meth:`drawing` block (one training or validation step) holds the
    lock, swaps the run's state in (seeded with ``seed`` the first time),
    and swaps the caller's back at its end: the run draws the same numbers
    as it would alone, whatever other threads draw between its steps, and
    the caller's state is untouched. Between steps the lock is free.
    """

    def __init__(self, seed, device):
        self.seed = seed
        self.device = device
        self.states = None

    @contextmanager
    def drawing(self):
        device = self.device
        with _GLOBAL_RNG_LOCK:
            saved = _generator_states(device)
            try:
                if self.states is None:
                    _seed_generators(self.seed, device)
                else:
                    _set_generator_states(device, self.states)
                yield
            finally:
                self.states = _generator_states(device)
                _set_generator_states(device, saved)


#: torch layers whose forward and initialisation draw no random numbers.
#: A network made only of these and of skae's own classes never touches
#: torch's global generator (skae's blocks draw from the fit's generator,
#: see :func:`skae.nn.drawing_from`); any other module (a class of yours, a
#: dropout layer of torch's, a lazy layer of torch's) may, and trains
#: seeded, on the global generator's stream of its fit.
DETERMINISTIC_LAYERS = frozenset(
    {
        torch.nn.Sequential,
        torch.nn.ModuleList,
        torch.nn.ModuleDict,
        torch.nn.Identity,
        torch.nn.Flatten,
        torch.nn.Unflatten,
        torch.nn.Linear,
        torch.nn.Conv1d,
        torch.nn.Conv2d,
        torch.nn.Conv3d,
        torch.nn.ConvTranspose1d,
        torch.nn.ConvTranspose2d,
        torch.nn.ConvTranspose3d,
        torch.nn.BatchNorm1d,
        torch.nn.BatchNorm2d,
        torch.nn.BatchNorm3d,
        torch.nn.LayerNorm,
        torch.nn.GroupNorm,
        torch.nn.MaxPool1d,
        torch.nn.MaxPool2d,
        torch.nn.AvgPool1d,
        torch.nn.AvgPool2d,
        torch.nn.Upsample,
        torch.nn.Softplus,
        torch.nn.Softmax,
        *ACTIVATIONS.values(),
    }
)


def draws_from_global_rng(module):
    """Whether building or training ``module`` may draw from torch's global
    generator: whether it holds anything but skae's own classes and
    :data:`DETERMINISTIC_LAYERS` (exact classes: a subclass may draw)."""
    return not all(
        type(m) in DETERMINISTIC_LAYERS or type(m).__module__.startswith("skae.")
        for m in module.modules()
    )


#: The streams a fit draws from besides its net's generator (shuffling,
#: corruption, skae's dropout), each seeded apart from the others: with one
#: seed for all, a user's lazy layer and skae's code head drew the same
#: numbers (one weight matrix a scaled copy of the other).
_STREAMS = {"weights": 1, "global": 2, "rank": 3}


def stream_seed(seed, stream):
    """The seed of one of a fit's streams (:data:`_STREAMS`), derived from
    the fit's ``seed`` with numpy's ``SeedSequence``: independent of the
    seed itself and of the other streams."""
    state = np.random.SeedSequence([seed, _STREAMS[stream]]).generate_state(1)
    return int(state[0] >> 1)  # below 2**31: any torch generator takes it


def training_seed(random_state):
    """The torch seed of a training run, drawn from ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
