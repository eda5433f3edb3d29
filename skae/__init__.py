"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._autoencoder import AutoencoderTransformer
from ._denoising import DenoisingAutoencoder
from ._persistence import load, save
from ._sparse import SparseAutoencoder, hoyer_sparsity
from ._vae import VAETransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderTransformer",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "VAETransformer",
    "__version__",
    "hoyer_sparsity",
    "load",
    "save",
]
