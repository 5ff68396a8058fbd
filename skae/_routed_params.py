"""Layer 3: parameters routed to the objects an estimator builds.

``encoder__<name>`` and ``decoder__<name>`` keyword arguments configure the
user's encoder and decoder classes, as skorch routes ``module__<name>``, and
``optimizer__<name>`` arguments the optimizer, as skorch routes them:
``get_params``, ``set_params``, ``clone`` and ``GridSearchCV`` reach them like
any named parameter.
"""


class RoutedParamsMixin:
    """Keyword arguments beyond the named parameters, each ``<prefix>__<name>``
    for one of ``_ROUTED_PREFIXES``."""

    _ROUTED_PREFIXES = ("encoder__", "decoder__", "optimizer__")

    def _set_routed_params(self, params):
        # Kept in one private dict (scikit-learn allows no attribute but the
        # named parameters) and checked at fit, as scikit-learn checks every
        # parameter: __init__ and set_params never raise.
        if "_kwargs" not in vars(self):
            self._kwargs = {}
        self._kwargs.update(params)

    def _extra_params(self):
        """The keyword arguments beyond the named parameters."""
        return dict(vars(self).get("_kwargs", {}))

    def _routed_params(self, role):
        """The arguments for ``role`` ("encoder", ...), without the prefix."""
        prefix = f"{role}__"
        return {
            key[len(prefix) :]: value
            for key, value in self._extra_params().items()
            if key.startswith(prefix)
        }

    def _check_routed_params(self):
        """A TypeError naming the keyword arguments that nothing takes."""
        unknown = sorted(
            key
            for key in self._extra_params()
            if not key.startswith(self._ROUTED_PREFIXES)
        )
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}; "
                "beyond its named parameters it takes only encoder__<name>, "
                "decoder__<name> and optimizer__<name> arguments for the "
                "encoder and decoder classes and the optimizer."
            )

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of parameter values that are
            estimators themselves, as ``<parameter>__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values, the named parameters
            and any ``encoder__<name>``, ``decoder__<name>`` and
            ``optimizer__<name>`` arguments.
        """
        return {**super().get_params(deep=deep), **self._extra_params()}

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters: the named parameters, and
            ``encoder__<name>``, ``decoder__<name>`` and ``optimizer__<name>``
            arguments for the ``encoder`` and ``decoder`` classes and the
            optimizer (new names included), which are checked and passed to
            them at ``fit``.

        Returns
        -------
        self : object
            The estimator.
        """
        extra = self._extra_params()
        self._set_routed_params(
            {
                key: params.pop(key)
                for key in list(params)
                if key.startswith(self._ROUTED_PREFIXES) or key in extra
            }
        )
        return super().set_params(**params)
