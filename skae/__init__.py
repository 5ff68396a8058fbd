"""skae: scikit-learn compatible autoencoders over PyTorch modules."""

from . import datasets, noise, plotting
from ._autoencoder import AutoencoderTransformer
from ._denoising import DenoisingAutoencoder
from ._outlier import ReconstructionOutlierDetector
from ._supervised import SupervisedAutoencoder
from ._training import NonFiniteLossError
from ._variational import VariationalAutoencoder

__version__ = "0.1.0.dev0"

__all__ = [
    "AutoencoderTransformer",
    "DenoisingAutoencoder",
    "NonFiniteLossError",
    "ReconstructionOutlierDetector",
    "SupervisedAutoencoder",
    "VariationalAutoencoder",
    "datasets",
    "noise",
    "plotting",
    "__version__",
]
