"""Parameter descriptions shared by several estimators, written once.

A docstring line that holds only ``{{name}}`` is replaced by the entry
``name`` below, indented as the marker is.
"""

# Where skae's documentation is published: the HTML repr of an estimator
# links to its page under generated/ (the API reference's autosummary pages).
DOCUMENTATION_URL = "https://skae.readthedocs.io/en/latest/"

PARAMETER_DOCS = {
    "n_components": """\
n_components : int, default=2
    Size of the bottleneck: the number of columns that ``transform`` returns.""",
    "hidden_layer_sizes": """\
hidden_layer_sizes : "auto" or tuple of int, default="auto"
    Widths of the encoder's hidden layers, from the input towards the code;
    the decoder mirrors them. ``()`` gives a single linear layer each way.
    "auto" is one hidden layer of ``max(256, 2 * n_components)`` units,
    never narrower than the code, and a second of half as many for a code
    of at most 8 values learned from at least 2000 training rows. Over 17
    data sets of 6 to 784 features (the Benchmarks page) a second layer
    overfitted the sets of a few hundred rows, helped the larger sets coded
    in 2 to 4 values, and hurt or did not help wider codes (MNIST's 32,
    where it also doubled the fit time). The denoising, supervised and
    variational autoencoders share the rule, measured on 8 of those sets
    (the Benchmarks page, "The other estimators' defaults"). A warm start
    keeps the widths of the fit it continues;
    ``hidden_layer_sizes_`` holds the widths used.""",
    "activation": """\
activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "leaky_relu", \
"identity"}, default="relu"
    Activation of the hidden layers. The code layer is linear, and the output
    layer's activation follows ``loss``.""",
    "loss": """\
loss : {"auto", "mse", "bce"}, default="auto"
    Reconstruction loss. "mse" (mean squared error, linear output) suits any
    scaled data; "bce" (binary cross-entropy, sigmoid output) suits data in
    [0, 1] such as pixel intensities, and raises a ``ValueError`` on anything
    else. "auto" chooses from the training data: "bce" when every value lies
    in [0, 1] (pixels divided by 255, a ``MinMaxScaler``'s output), "mse"
    otherwise (standardized data) and with your own ``decoder``; ``loss_``
    holds the loss used. On MNIST
    "bce" roughly halves the test error of "mse" (the Benchmarks page). Rows
    scored later must then lie in [0, 1] too.""",
    "dropout": """\
dropout : float, default=0.0
    Dropout probability after each hidden layer, during training only.""",
    "batch_norm": """\
batch_norm : bool, default=False
    Whether to put batch normalisation after each hidden linear layer.""",
    "image_shape": """\
image_shape : tuple of int or None, default=None
    Read each row as an image of shape ``(C, H, W)`` (or ``(H, W)`` for one
    channel), in the order of ``X.reshape(-1, C, H, W)`` (one entry may be
    -1, inferred from the number of features), and build a convolutional
    encoder and decoder around the code (``conv_channels``);
    ``hidden_layer_sizes`` are then dense layers between the last feature map
    and the code. Any height and width works: the network pads and crops.
    ``X`` stays 2-D, ``C * H * W`` columns.""",
    "channels_last": """\
channels_last : bool, default=False
    Whether each image row holds its pixels channels last, in the order of
    ``X.reshape(-1, H, W, C)`` (the layout of Keras, PIL and matplotlib),
    with ``image_shape=(H, W, C)``; by default rows are channels first,
    PyTorch's ``(C, H, W)``. Decoded rows come back in the same layout.
    Used with ``image_shape``.""",
    "conv_channels": """\
conv_channels : tuple of int, default=(16, 32)
    Channels of the encoder's convolutions (3x3, stride 2: each halves height
    and width); the decoder mirrors them with transposed convolutions. Used
    with ``image_shape``.""",
    "sequence_shape": """\
sequence_shape : tuple of int or None, default=None
    Read each row as a sequence of shape ``(n_timesteps, n_channels)``, time
    major (``X.reshape(-1, n_timesteps, n_channels)``; one entry may be -1),
    and build a recurrent sequence-to-sequence autoencoder: a recurrent
    encoder whose last output leads to the code, and a recurrent decoder
    unrolled back over ``n_timesteps`` steps. ``hidden_layer_sizes`` are
    dense layers between the recurrent layer and the code.""",
    "recurrent_cell": """\
recurrent_cell : {"lstm", "gru"}, default="lstm"
    Recurrent layer of the sequence autoencoder. Used with ``sequence_shape``.""",
    "recurrent_units": """\
recurrent_units : int, default=64
    Width of the encoder's and decoder's recurrent layers. Used with
    ``sequence_shape``.""",
    "encoder": """\
encoder : torch.nn.Module subclass or instance, default=None
    Your own encoder in place of the built-in one: a module mapping
    ``(n_samples, n_features)`` float32 rows to ``(n_samples, n_components)``
    codes. A class is instantiated at ``fit`` with the ``encoder__*``
    parameters, plus ``n_features`` and ``n_components`` when its
    ``__init__`` takes them; an instance is copied, never trained in place.""",
    "decoder": """\
decoder : torch.nn.Module subclass or instance, default=None
    Your own decoder, mapping codes back to ``(n_samples, n_features)`` rows;
    built like ``encoder`` from the ``decoder__*`` parameters. With
    ``loss="bce"`` its output must lie in [0, 1] (end it with a sigmoid).""",
    "sparsity_weight": """\
sparsity_weight : float, default=0.0
    Weight of a sparsity penalty on the codes, added to the training loss:
    the L1 norm of each code averaged over the batch (the activity
    regularizer of a sparse autoencoder) or, when ``sparsity_target`` is
    set, the KL divergence to that target. 0 disables it.""",
    "sparsity_target": """\
sparsity_target : float in (0, 1) or None, default=None
    Target mean activation of the code units for the KL sparsity penalty:
    ``sum_j KL(target || mean(sigmoid(code_j)))`` over the batch. None uses
    the L1 penalty instead.""",
    "contractive_weight": """\
contractive_weight : float, default=0.0
    Weight of the contractive penalty: the squared Frobenius norm of the
    encoder's Jacobian with respect to its input, averaged over the batch
    (Rifai et al., 2011), which makes the codes insensitive to small input
    changes. It costs ``n_components`` extra backward passes per batch.
    0 disables it.""",
    "embedding_weight": """\
embedding_weight : float, default=0.0
    Weight of a neighbour-embedding term in the encoder's loss, UMAP's:
    the codes are trained to keep each training row among its
    ``n_neighbors`` nearest rows, so that even 2-D codes separate the
    groups of the data as UMAP's map does, while ``transform`` still maps
    new rows and ``inverse_transform`` decodes any point. 0 turns it off.
    With it, ``fit`` first builds the rows' neighbour graph (an exact
    search on the training device; scikit-learn's ``NearestNeighbors`` for
    sparse rows) and lays the rows out on it as UMAP does;
    the encoder then learns to place each row where UMAP's ``transform``
    would, and ``transform`` refines its codes against the layout (see
    ``transform_n_iter`` and the user guide's "Maps in two dimensions").""",
    "n_neighbors": """\
n_neighbors : int, default=15
    With ``embedding_weight``: how many nearest training rows make a row's
    neighbourhood (UMAP's ``n_neighbors``). Fewer keep finer local
    structure, more the global arrangement.""",
    "min_dist": """\
min_dist : float, default=0.1
    With ``embedding_weight``: how close codes may pack, in [0, 1] (UMAP's
    ``min_dist``); lower values give tighter clusters.""",
    "transform_n_iter": """\
transform_n_iter : int, default=100
    With ``embedding_weight``: the steps by which ``transform`` refines
    each row's code, as UMAP's ``transform`` does: from the encoder's code,
    towards the layout's points of the row's ``n_neighbors`` nearest
    training rows and away from random ones. The training rows are kept
    for this search. 0 returns the encoder's codes; read at ``transform``
    time, so it can be changed on a fitted model.""",
    "reconstruction_weight_encoder": """\
reconstruction_weight : float, default=1.0
    The share of the reconstruction loss's gradient that reaches the
    encoder. The decoder always learns the whole reconstruction loss, so
    at 0 the codes are shaped by ``embedding_weight``'s term alone and
    ``inverse_transform`` still decodes them; 0 needs
    ``embedding_weight > 0``.""",
    "optimizer": """\
optimizer : {"adam", "adamw", "sgd", "rmsprop", "adagrad"} or \
torch.optim.Optimizer subclass, default="adam"
    The optimizer, by name or as a class; it is built with ``lr`` and any
    ``optimizer__<name>`` arguments.""",
    "lr": """\
lr : float, default=1e-3
    Learning rate.""",
    "max_grad_norm": """\
max_grad_norm : float or None, default=None
    Clip the gradient of every training step to this total (L2) norm over all
    parameters, as ``torch.nn.utils.clip_grad_norm_`` does, before the
    optimizer steps. A guard against exploding gradients, for instance with
    a high learning rate or a recurrent network; None does not clip.""",
    "batch_size": """\
batch_size : int, default=64
    Rows per training batch: fewer when there are fewer samples, and a last
    batch of a single row joins the one before it.""",
    "max_epochs": """\
max_epochs : int or "auto", default="auto"
    Most passes over the training data; training stops sooner when the
    monitored loss stops improving (see ``n_iter_no_change``). "auto" is
    200, or fewer on large data: as many epochs as make 30000 batches
    (MNIST's 60000 rows at ``batch_size=64``: 32 epochs); data of up to
    9600 rows at that batch size keep 200. ``max_epochs_`` is the count a
    fit used.""",
    "early_stopping": """\
early_stopping : bool, default=False
    Whether to hold out ``validation_fraction`` of the training data, stop
    when its loss has not improved for ``n_iter_no_change`` epochs, and
    restore the weights of the best epoch. When False, training stops once the
    training loss has not improved by ``tol`` for ``n_iter_no_change``
    epochs, as in :class:`~sklearn.neural_network.MLPRegressor`.""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Fraction of the training data held out when ``early_stopping=True``.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Epochs without an improvement of at least ``tol`` before training stops.""",
    "tol": """\
tol : float, default=1e-4
    Smallest decrease of the monitored loss that counts as an improvement.""",
    "warm_start": """\
warm_start : bool, default=False
    When True, ``fit`` continues from the weights of the previous fit instead
    of starting afresh.""",
    "callbacks": """\
callbacks : list of skorch callbacks or (name, callback) tuples, default=None
    Extra :mod:`skorch.callbacks` for the training loop, for example
    ``skorch.callbacks.LRScheduler``.""",
    "device": """\
device : str or torch.device, default="auto"
    Where to train and infer: "auto" uses CUDA when present and the CPU
    otherwise; or "cpu", "cuda", "cuda:1", ... A fitted model can be
    unpickled and used on a machine without the device it was trained on.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, the validation split and dropout.
    An int gives the same weights and outputs on the CPU, bit for bit, for a
    given number of threads. Fitting never changes numpy's or torch's global
    random state.""",
    "verbose": """\
verbose : int, default=0
    0 is silent; 1 shows a progress bar over epochs with the latest losses;
    2 prints a table row per epoch.""",
    "module_params": """\
**kwargs : dict
    ``encoder__<name>`` and ``decoder__<name>`` arguments for the ``encoder``
    and ``decoder`` classes, and ``optimizer__<name>`` arguments for the
    optimizer, as skorch routes them: ``optimizer__weight_decay=1e-4``,
    ``optimizer__lr`` in place of ``lr``, ``optimizer__param_groups`` (a
    list of ``(pattern, options)`` pairs, the patterns over the names of
    ``net_.module_.named_parameters()``). Settable with ``set_params`` and
    searchable with ``GridSearchCV`` like any other parameter.""",
}

# The fit options every estimator takes, for the ``fit`` and ``partial_fit``
# docstrings.
FIT_PARAMETER_DOCS = {
    "sample_weight": """\
sample_weight : array-like of shape (n_samples,), default=None
    Non-negative weights of the rows in the training loss (the weighted mean
    of the rows' losses in each batch), so that a weight of 2 counts a row as
    two copies of it within a batch. None weighs every row alike.""",
    "X_val": """\
X_val : {array-like, sparse matrix} of shape (n_val_samples, n_features), \
default=None
    Validation rows, scored after every epoch (``valid_loss`` in
    ``history_``) and watched by early stopping (``early_stopping=True``)
    instead of a ``validation_fraction`` split of ``X``. In a Pipeline, have
    the steps before transform it with ``Pipeline(..., transform_input=
    ["X_val"])`` and metadata routing.""",
    "y_val_ignored": """\
y_val : None
    Ignored.""",
    "sample_weight_val": """\
sample_weight_val : array-like of shape (n_val_samples,), default=None
    Weights of the validation rows in ``valid_loss``.""",
}

FITTED_ATTRIBUTE_DOCS = {
    "training": """\
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (``n_features_in_``,)
    Names of features seen during ``fit``, when ``X`` has string column names.
net_ : skorch.NeuralNet
    The fitted skorch net; ``net_.module_`` is the torch module.
history_ : skorch.History
    Per-epoch records: ``train_loss``, ``valid_loss`` (with early
    stopping), ``dur``, ...
n_iter_ : int
    Number of epochs run, all ``fit`` and ``partial_fit`` calls together.
n_parameters_ : int
    Number of trainable parameters of the network, ``net_.module_``.
loss_ : str
    The reconstruction loss used, "mse" or "bce": ``loss``, with "auto"
    resolved from the training data.
hidden_layer_sizes_ : tuple of int
    The hidden widths used: ``hidden_layer_sizes``, with "auto" resolved.""",
    "embedding_": """\
embedding_ : ndarray of shape (n_samples, n_components)
    With ``embedding_weight``: the layout of the last fit's training rows,
    a point per row, that the codes were trained towards and that
    ``transform`` refines new rows' codes against (UMAP's
    ``embedding_``).""",
}


def fill_doc(obj):
    """Replace each ``{{name}}`` line of ``obj``'s docstring with its entry."""
    docs = {**PARAMETER_DOCS, **FIT_PARAMETER_DOCS, **FITTED_ATTRIBUTE_DOCS}
    lines = []
    for line in obj.__doc__.splitlines():
        marker = line.strip()
        if marker.startswith("{{") and marker.endswith("}}"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(
                indent + text if text else text
                for text in docs[marker[2:-2]].splitlines()
            )
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
