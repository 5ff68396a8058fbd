"""skae: scikit-learn compatible autoencoders over PyTorch modules."""

from ._autoencoder import AutoencoderTransformer
from ._training import NonFiniteLossError

__version__ = "0.1.0.dev0"

__all__ = ["AutoencoderTransformer", "NonFiniteLossError", "__version__"]
