"""skae: scikit-learn compatible autoencoders over PyTorch modules."""

from . import datasets, noise, plotting
from ._autoencoder import AutoencoderTransformer
from ._denoising import DenoisingAutoencoder
from ._outlier import ReconstructionOutlierDetector
from ._supervised import SupervisedAutoencoder
from ._training.net import NonFiniteLossError
from ._variational import VariationalAutoencoder
from ._version import __version__

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
