"""Layer 3: the fitted network applied to rows, for every estimator.

:class:`InferenceMixin` validates the rows (or codes) a public method
receives and runs the fitted network on them in the inference blocks of
:func:`skae._training.data.map_blocks`, so that every method of every
estimator shares one guarantee: a row's output does not depend on the rows
beside it. The public methods themselves live on the estimators and on
:class:`~skae._estimator_base.CodesMixin`.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_array, check_is_fitted

from ._sklearn_compat import validate_data
from ._training.data import inference_block_rows, map_blocks
from ._training.losses import reconstruction_loss
from ._validation import check_loss_range


class InferenceMixin:
    """Validation of the rows to infer on, and the fitted network's codes,
    reconstructions and errors of them, in inference blocks. Needs the
    fitted ``net_``, ``loss_``, ``n_features_in_`` and ``_n_features_out``
    (the codes' width, for ``inverse_transform``)."""

    def _validate_inference_data(self, X):
        """Validate rows to infer on. Their finiteness is checked block by
        block during inference, while each block is in the CPU's cache:
        scikit-learn's separate pass over the whole of X added about 3% to a
        ``transform`` of 50000 rows of 20 features."""
        check_is_fitted(self)
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=(np.float32, np.float64),
            reset=False,
            ensure_all_finite=False,
        )

    def _validate_codes(self, Z):
        check_is_fitted(self)
        Z = check_array(Z, dtype=(np.float32, np.float64))
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} features "
                "(the columns of transform) as input."
            )
        return Z

    def _inference_block_rows(self):
        """The rows of every block that inference runs the fitted network on
        (see :func:`~skae._training.data.inference_blocks`), the same for
        every method and call; worked out once per fitted network."""
        rows = vars(self).get("_block_rows")
        if rows is None:
            rows = inference_block_rows(self.net_.module_, self.n_features_in_)
            self._block_rows = rows
        return rows

    def _map(self, X, fn, n_outputs=None, *, codes=False, dtype=np.float32):
        """``fn`` applied to ``X`` (input rows, or ``codes``) in inference
        blocks, in evaluation mode and without gradients, gathered into an
        array of ``dtype`` with ``n_outputs`` columns (1-D when None)."""
        module = self.net_.module_
        # eval() walks the whole module tree; skip it when nothing trains
        if any(submodule.training for submodule in module.modules()):
            module.eval()
        return map_blocks(
            X,
            fn,
            self._inference_block_rows(),
            torch.device(self.net_.device),
            n_outputs,
            dtype,
            check_finite=not codes,
            name=type(self).__name__,
        )

    def _encode(self, X):
        return self._map(X, self.net_.module_.encode, self._n_features_out)

    def _transform(self, X):
        """The codes that ``transform`` returns: the encoder's."""
        return self._encode(X)

    def _inverse_transform(self, Z):
        return self._map(Z, self.net_.module_.decode, self.n_features_in_, codes=True)

    def _reconstruct(self, X):
        module = self.net_.module_
        return self._map(
            X, lambda Xb: module.decode(module.encode(Xb)), self.n_features_in_
        )

    def _block_errors(self, Xb, reduction):
        """The reconstruction errors of the block ``Xb``, in the network's
        units (standardized, when it standardizes): one per row
        (``reduction="sample"``) or per entry ("none")."""
        module = self.net_.module_
        return reconstruction_loss(
            module.decoder(module.encode(Xb)),
            module.scale_input(Xb),
            self.loss_,
            reduction=reduction,
        )

    def _reconstruction_error(self, X, reduction="sample"):
        """Per-sample (``reduction="sample"``, float64 like every score) or
        per-entry ("none", float32) reconstruction errors of ``X``."""
        check_loss_range(self.loss_, X, None, self.loss)
        if reduction == "sample":
            errors = self._map(X, lambda Xb: self._block_errors(Xb, "sample"))
            return errors.astype(np.float64)
        return self._map(
            X, lambda Xb: self._block_errors(Xb, "none"), self.n_features_in_
        )
