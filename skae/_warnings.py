"""Warnings that name the user's line: the ``stacklevel`` past skae's and
scikit-learn's own frames (standard library and scikit-learn only, so that
every layer may import it)."""

import os
import sys

import sklearn

# Where skae's and scikit-learn's own frames come from: a warning skips them.
_INTERNAL = tuple(
    os.path.dirname(path) + os.sep for path in (__file__, sklearn.__file__)
)


def external_stacklevel():
    """The ``stacklevel`` that makes a ``warnings.warn`` in the function
    that calls this name the first frame outside skae and scikit-learn: the
    user's line, however many of their wrappers (``_fit_context``, a
    ``Pipeline``, skae's own decorators) stand between."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    return level
