"""skae: scikit-learn compatible autoencoders on PyTorch."""

from ._autoencoder import AutoencoderTransformer
from ._vae import VAETransformer

__version__ = "0.1.0.dev0"

__all__ = ["AutoencoderTransformer", "VAETransformer", "__version__"]
