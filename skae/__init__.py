"""skae: scikit-learn compatible autoencoders on PyTorch."""

from . import (
    _topk,  # noqa: F401  (registers the penalties "topk" and "batchtopk")
    nn,
)
from ._autoencoder import AutoencoderTransformer
from ._contractive import ContractiveAutoencoder
from ._denoising import DenoisingAutoencoder
from ._impute import AutoencoderImputer
from ._outlier import AutoencoderOutlierDetector
from ._persistence import load, save
from ._sparse import SparseAutoencoder, hoyer_sparsity
from ._vae import VAETransformer

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderImputer",
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "VAETransformer",
    "__version__",
    "hoyer_sparsity",
    "load",
    "nn",
    "save",
]
