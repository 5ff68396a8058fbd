"""Private scikit-learn helpers, imported in one place because they move
between releases."""

from sklearn.base import _fit_context
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import (
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "_check_sample_weight",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "get_chunk_n_rows",
    "validate_data",
    "validate_params",
]
