"""Layer 1: the torch modules (``nn.Module`` only, no scikit-learn).

Each module stores its hyperparameters and builds its layers in one place, so
that skorch can build it from the class and its ``module__*`` arguments.
"""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def dense_stack(sizes, *, activation, dropout=0.0, batch_norm=False):
    """Linear layers through ``sizes``, each followed by its normalisation,
    activation and dropout.

    ``sizes`` lists the input width then each layer's width, so
    ``dense_stack((784, 256, 64), ...)`` holds two linear layers.
    """
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(nn.Linear(n_in, n_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class DenseEncoder(nn.Module):
    """Maps ``n_features`` inputs through ``hidden_layer_sizes`` to a linear
    code of ``n_components`` units.

    The code layer has no activation, so the code is not clipped at zero (no
    dead code units) and a one-layer encoder spans the same space as PCA.
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_components = n_components
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        widths = (n_features, *self.hidden_layer_sizes)
        self.hidden = dense_stack(
            widths, activation=activation, dropout=dropout, batch_norm=batch_norm
        )
        self.code = nn.Linear(widths[-1], n_components)

    def forward(self, X):
        return self.code(self.hidden(X))


class DenseDecoder(nn.Module):
    """Mirror of :class:`DenseEncoder`: from ``n_components`` through the
    reversed ``hidden_layer_sizes`` to ``n_features`` outputs passed through
    ``output_activation``."""

    def __init__(
        self,
        n_components,
        n_features,
        hidden_layer_sizes=(),
        activation="relu",
        output_activation="identity",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        self.n_components = n_components
        self.n_features = n_features
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.output_activation = output_activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        widths = (n_components, *reversed(self.hidden_layer_sizes))
        self.hidden = dense_stack(
            widths, activation=activation, dropout=dropout, batch_norm=batch_norm
        )
        self.output = nn.Sequential(
            nn.Linear(widths[-1], n_features), ACTIVATIONS[output_activation]()
        )

    def forward(self, Z):
        return self.output(self.hidden(Z))


class DenseAutoencoder(nn.Module):
    """A :class:`DenseEncoder` and its mirrored :class:`DenseDecoder`.

    ``forward`` returns ``(reconstruction, code)`` so that losses and penalties
    can use either; ``encode`` and ``decode`` run one half.
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(),
        activation="relu",
        output_activation="identity",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_components = n_components
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.output_activation = output_activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.encoder = DenseEncoder(
            n_features,
            n_components,
            hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        self.decoder = DenseDecoder(
            n_components,
            n_features,
            hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )

    def encode(self, X):
        return self.encoder(X)

    def decode(self, Z):
        return self.decoder(Z)

    def forward(self, X):
        code = self.encoder(X)
        return self.decoder(code), code


class ClassifierHead(nn.Module):
    """Logits over ``n_classes`` from a code of ``n_components`` values,
    through ``layer_sizes`` hidden layers."""

    def __init__(
        self, n_components, n_classes, layer_sizes=(), activation="relu", dropout=0.0
    ):
        super().__init__()
        self.n_components = n_components
        self.n_classes = n_classes
        self.layer_sizes = tuple(layer_sizes)
        self.activation = activation
        self.dropout = dropout

        widths = (n_components, *self.layer_sizes)
        self.hidden = dense_stack(widths, activation=activation, dropout=dropout)
        self.logits = nn.Linear(widths[-1], n_classes)

    def forward(self, Z):
        return self.logits(self.hidden(Z))


class SupervisedDenseAutoencoder(DenseAutoencoder):
    """A :class:`DenseAutoencoder` with a :class:`ClassifierHead` off its code.

    ``forward`` returns ``(reconstruction, code, logits)``; ``classify`` gives
    the logits of an input.
    """

    def __init__(
        self,
        n_features,
        n_components,
        n_classes,
        hidden_layer_sizes=(),
        classifier_layer_sizes=(),
        activation="relu",
        output_activation="identity",
        dropout=0.0,
        classifier_dropout=0.0,
        batch_norm=False,
    ):
        super().__init__(
            n_features,
            n_components,
            hidden_layer_sizes,
            activation=activation,
            output_activation=output_activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        self.n_classes = n_classes
        self.classifier_layer_sizes = tuple(classifier_layer_sizes)
        self.classifier_dropout = classifier_dropout
        self.classifier = ClassifierHead(
            n_components,
            n_classes,
            classifier_layer_sizes,
            activation=activation,
            dropout=classifier_dropout,
        )

    def classify(self, X):
        return self.classifier(self.encoder(X))

    def forward(self, X):
        code = self.encoder(X)
        return self.decoder(code), code, self.classifier(code)
