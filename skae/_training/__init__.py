"""Layer 2: training through skorch, one concern per module, as skorch splits
its own: ``losses`` (the criteria and the code penalty), ``data`` (in-memory
datasets, the batch iterator, the validation split and batched inference),
``callbacks`` (early stopping, the progress bar), ``distributed``
(data-parallel training over a ``torch.distributed`` process group), ``net``
(the skorch net that trains every estimator) and ``randomness`` (devices and
seeds). Nothing here knows scikit-learn's estimators.
"""
