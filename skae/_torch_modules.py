"""Layer 1: the torch modules (``nn.Module`` only, no scikit-learn).

Each module stores its hyperparameters and builds its layers in one place.
Encoders map rows (n_samples, n_features) to codes and decoders map codes back
to rows; image and sequence modules reshape rows inside, so that data stays
2-D outside the network. :class:`AutoencoderModule` joins any such pair.
"""

import torch
import torch.nn.functional as F
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


def _activation(name):
    return ACTIVATIONS[name]()


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
        layers.append(_activation(activation))
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
            nn.Linear(widths[-1], n_features), _activation(output_activation)
        )

    def forward(self, Z):
        return self.output(self.hidden(Z))


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


class ConvEncoder(nn.Module):
    """Reads each row as an image of ``image_shape`` (C, H, W), passes it
    through a strided 3x3 convolution per entry of ``channels`` (each halves
    the height and width), then through dense ``hidden_layer_sizes`` to a
    linear code of ``n_components`` units.

    Height and width are zero-padded (bottom and right) up to a multiple of
    ``2 ** len(channels)``, so any image size works. With ``channels_last``
    a row holds its pixels as (H, W, C) instead (Keras's, PIL's and
    matplotlib's layout), moved to (C, H, W) before the first convolution.
    """

    def __init__(
        self,
        image_shape,
        n_components,
        channels=(16, 32),
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        channels_last=False,
    ):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.channels_last = channels_last
        self.n_components = n_components
        self.channels = tuple(channels)
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        n_channels, height, width = self.image_shape
        self.padding, (h, w) = conv_geometry(height, width, len(self.channels))
        layers = []
        for c_in, c_out in zip(
            (n_channels, *self.channels[:-1]), self.channels, strict=True
        ):
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(_activation(activation))
        self.features = nn.Sequential(*layers)
        self.dense = DenseEncoder(
            self.channels[-1] * h * w,
            n_components,
            hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )

    def forward(self, X):
        if self.channels_last:
            n_channels, height, width = self.image_shape
            # contiguous: the convolutions then run as on (C, H, W) rows
            images = X.view(-1, height, width, n_channels).permute(0, 3, 1, 2)
            images = images.contiguous()
        else:
            images = X.view(-1, *self.image_shape)
        images = F.pad(images, self.padding)
        return self.dense(self.features(images).flatten(1))


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder`: dense layers from the code to the
    smallest feature map, a stride-2 transposed convolution per entry of the
    reversed ``channels`` (each doubles height and width, the last one
    outputs the image's channels), then the padding cropped off and
    ``output_activation`` applied. Returns rows of ``C * H * W`` values,
    (H, W, C) ordered with ``channels_last``."""

    def __init__(
        self,
        n_components,
        image_shape,
        channels=(16, 32),
        hidden_layer_sizes=(),
        activation="relu",
        output_activation="identity",
        dropout=0.0,
        batch_norm=False,
        channels_last=False,
    ):
        super().__init__()
        self.n_components = n_components
        self.image_shape = tuple(image_shape)
        self.channels_last = channels_last
        self.channels = tuple(channels)
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.output_activation = output_activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        n_channels, height, width = self.image_shape
        _, (h, w) = conv_geometry(height, width, len(self.channels))
        self.map_shape = (self.channels[-1], h, w)
        self.dense = DenseDecoder(
            n_components,
            self.channels[-1] * h * w,
            hidden_layer_sizes,
            activation=activation,
            output_activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        widths = (*reversed(self.channels), n_channels)
        layers = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(
                nn.ConvTranspose2d(
                    c_in, c_out, 3, stride=2, padding=1, output_padding=1
                )
            )
            if i < len(widths) - 2:
                if batch_norm:
                    layers.append(nn.BatchNorm2d(c_out))
                layers.append(_activation(activation))
        self.features = nn.Sequential(*layers)
        self.output = _activation(output_activation)

    def forward(self, Z):
        images = self.features(self.dense(Z).view(-1, *self.map_shape))
        _, height, width = self.image_shape
        images = images[:, :, :height, :width]
        if self.channels_last:
            images = images.permute(0, 2, 3, 1)
        return self.output(images.flatten(1))


def conv_geometry(height, width, depth):
    """``(padding, (h, w))``: the ``F.pad`` widths that bring an image up to
    a multiple of ``2 ** depth`` in each direction, and the size of the
    feature map after ``depth`` halvings."""
    multiple = 2**depth
    padded_h = -(-height // multiple) * multiple
    padded_w = -(-width // multiple) * multiple
    padding = (0, padded_w - width, 0, padded_h - height)
    return padding, (padded_h // multiple, padded_w // multiple)


RECURRENT_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentEncoder(nn.Module):
    """Reads each row as a sequence of ``sequence_shape`` (n_timesteps,
    n_channels), time major, runs a recurrent layer of ``units`` over it and
    maps its last output through dense ``hidden_layer_sizes`` to a linear
    code of ``n_components`` units."""

    def __init__(
        self,
        sequence_shape,
        n_components,
        units=64,
        cell="lstm",
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        self.sequence_shape = tuple(sequence_shape)
        self.n_components = n_components
        self.units = units
        self.cell = cell
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        self.recurrent = RECURRENT_CELLS[cell](
            self.sequence_shape[1], units, batch_first=True
        )
        self.dense = DenseEncoder(
            units,
            n_components,
            hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )

    def forward(self, X):
        outputs, _ = self.recurrent(X.view(-1, *self.sequence_shape))
        return self.dense(outputs[:, -1])


class RecurrentDecoder(nn.Module):
    """Mirror of :class:`RecurrentEncoder`: dense layers from the code to a
    vector of ``units`` values, fed at every one of the ``n_timesteps`` steps
    of a recurrent layer (the "repeat vector" decoder), whose outputs a
    linear layer maps to ``n_channels`` values per step, then
    ``output_activation``. Returns rows of ``n_timesteps * n_channels``
    values, time major."""

    def __init__(
        self,
        n_components,
        sequence_shape,
        units=64,
        cell="lstm",
        hidden_layer_sizes=(),
        activation="relu",
        output_activation="identity",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        self.n_components = n_components
        self.sequence_shape = tuple(sequence_shape)
        self.units = units
        self.cell = cell
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.output_activation = output_activation
        self.dropout = dropout
        self.batch_norm = batch_norm

        self.dense = DenseDecoder(
            n_components,
            units,
            hidden_layer_sizes,
            activation=activation,
            output_activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        self.recurrent = RECURRENT_CELLS[cell](units, units, batch_first=True)
        self.output = nn.Sequential(
            nn.Linear(units, self.sequence_shape[1]), _activation(output_activation)
        )

    def forward(self, Z):
        steps = self.dense(Z).unsqueeze(1).expand(-1, self.sequence_shape[0], -1)
        outputs, _ = self.recurrent(steps)
        return self.output(outputs).flatten(1)


def scale_gradient(X, scale):
    """``X`` unchanged, through which ``scale`` times the gradient flows back
    (``X`` itself when ``scale`` is 1)."""
    if scale == 1:
        return X
    detached = X.detach()
    # detached + 0 in the forward pass, bit for bit
    return detached + scale * (X - detached)


class Standardize(nn.Module):
    """Fixed per-feature standardization, ``(X - mean) / scale``, and its
    inverse; ``mean`` and ``scale`` are buffers (saved with the weights,
    never trained)."""

    def __init__(self, n_features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def forward(self, X):
        return (X - self.mean) / self.scale

    def inverse(self, X):
        return X * self.scale + self.mean


class AutoencoderModule(nn.Module):
    """An encoder and a decoder, any ``nn.Module`` pair that maps rows to
    codes and codes back to rows, and optionally a :class:`Standardize`
    between the data and the network.

    ``forward`` returns ``(reconstruction, code)`` so that losses and
    penalties can use either; the reconstruction is in the network's units,
    those of ``scale_input(X)``, which the losses compare it with. ``encode``
    and ``decode`` run one half, from and to the data's own units.
    """

    # How many encoder outputs each code unit takes.
    ENCODER_OUTPUTS_PER_UNIT = 1

    def __init__(self, encoder, decoder, standardize=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.standardize = standardize

    def scale_input(self, X):
        """``X`` in the network's units: standardized, or as it is."""
        return X if self.standardize is None else self.standardize(X)

    def encode(self, X):
        return self.encoder(self.scale_input(X))

    def decode(self, Z):
        X = self.decoder(Z)
        return X if self.standardize is None else self.standardize.inverse(X)

    def forward(self, X, reconstruction_gradient=1.0):
        """``(reconstruction, code)``. The decoder's input passes on
        ``reconstruction_gradient`` times its gradient to the encoder (all of
        it by default; none at 0, where the decoder still learns to decode
        the codes that other terms shape)."""
        code = self.encode(X)
        return self.decoder(scale_gradient(code, reconstruction_gradient)), code


class SupervisedAutoencoderModule(AutoencoderModule):
    """An :class:`AutoencoderModule` with a classifier (a
    :class:`ClassifierHead`, say) off its code.

    ``forward`` returns ``(reconstruction, code, logits)``; ``classify`` gives
    the logits of an input.
    """

    def __init__(self, encoder, decoder, classifier, standardize=None):
        super().__init__(encoder, decoder, standardize)
        self.classifier = classifier

    def classify(self, X):
        return self.classifier(self.encode(X))

    def forward(self, X):
        code = self.encode(X)
        return self.decoder(code), code, self.classifier(code)


class VariationalAutoencoderModule(AutoencoderModule):
    """A variational autoencoder: an encoder whose ``2 * n_components``
    outputs are the mean and the log-variance of a diagonal Gaussian
    posterior over the code, and a decoder from ``n_components`` codes to the
    means of the likelihood of a row.

    ``forward`` draws one code by reparameterization, ``z = mean + exp(
    log_var / 2) * noise`` with standard normal noise from torch's generator,
    in training and evaluation mode alike (the validation loss is an ELBO
    too), and returns ``(reconstruction, z, mean, log_var)``. ``encode``
    gives the posterior mean, deterministic; ``posterior`` the pair.
    """

    # The log-variance is clamped to this range, as diffusers' Gaussian
    # posterior does: exp(log_var) then stays finite in float32 whatever the
    # input's scale, and the range is far wider than training ever reaches.
    LOG_VAR_RANGE = (-30.0, 20.0)

    # a mean and a log-variance per code unit
    ENCODER_OUTPUTS_PER_UNIT = 2

    def posterior(self, X):
        """``(mean, log_var)`` of the posterior of each row's code: the first
        and second half of the encoder's outputs, the log-variance clamped to
        ``LOG_VAR_RANGE``."""
        mean, log_var = self.encoder(self.scale_input(X)).chunk(2, dim=1)
        return mean, log_var.clamp(*self.LOG_VAR_RANGE)

    def encode(self, X):
        return self.posterior(X)[0]

    @staticmethod
    def reparameterize(mean, log_var, noise):
        """The codes ``mean + exp(log_var / 2) * noise``."""
        return mean + torch.exp(0.5 * log_var) * noise

    def forward(self, X):
        mean, log_var = self.posterior(X)
        z = self.reparameterize(mean, log_var, torch.randn_like(mean))
        return self.decoder(z), z, mean, log_var


class AutoencoderEnsemble(nn.Module):
    """Autoencoders of one architecture trained side by side, each on rows of
    its own, run as one batched network.

    The members' parameters and buffers are stacked along a first axis of
    members (``parameters`` and ``buffers``, named as in a member with dots
    turned into ``__``), and a member's computation is its module run with
    the member's slice of them (``torch.func.functional_call`` on a template
    that holds no data): ``torch.func.vmap`` runs all members as one network,
    one batched matrix product per layer; a module that vmap cannot batch
    (batch normalisation in training, a recurrent layer) runs member by
    member. Each member keeps its own initial weights (``members`` are
    built, then stacked) and its own gradients, as separate networks would.

    In training, ``forward`` reads ``(n_members, n_rows, n_features)``
    batches, member ``e`` the rows ``X[e]``, and returns the stacked
    ``(reconstruction, code)`` in each member's units (``scale_input``
    likewise). For new rows ``encode`` gives every member's code side by
    side, ``(n_rows, n_members * n_components)``, and ``decode`` the mean of
    the members' decodings of their parts, in the data's units;
    ``member_outputs`` each member's reconstruction, code and scaled input.
    """

    ENCODER_OUTPUTS_PER_UNIT = 1

    def __init__(self, members):
        super().__init__()
        self.n_members = len(members)
        self.parameters_ = nn.ParameterDict()
        self.buffers_ = nn.Module()
        for name, _ in members[0].named_parameters():
            stacked = torch.stack([dict(m.named_parameters())[name] for m in members])
            self.parameters_[name.replace(".", "__")] = nn.Parameter(stacked.detach())
        for name, _ in members[0].named_buffers():
            stacked = torch.stack([dict(m.named_buffers())[name] for m in members])
            self.buffers_.register_buffer(name.replace(".", "__"), stacked.detach())
        # the members' structure, without data (not a submodule: it holds no
        # state of its own)
        vars(self)["template"] = members[0].to("meta")
        # None until a first call tells whether vmap batches the members
        vars(self)["_batched"] = None

    def _state(self):
        """The members' stacked parameters and buffers, by their names in a
        member."""
        return (
            {k.replace("__", "."): v for k, v in self.parameters_.items()},
            {k.replace("__", "."): v for k, v in self.buffers_.named_buffers()},
        )

    def _members(self, fn, X, shared):
        """``fn(module, rows)`` for every member, with the member's
        parameters in the template ``module``, stacked: on its own rows
        ``X[e]``, or on the same rows ``X`` when ``shared``."""
        from torch.func import functional_call, vmap

        parameters, buffers = self._state()
        template = self.template
        # the template is no submodule: it follows the ensemble's mode here
        template.train(self.training)

        def call(params, buffs, rows):
            return functional_call(
                _Call(template, fn), (_prefixed(params), _prefixed(buffs)), (rows,)
            )

        if self._batched is not False:
            try:
                outputs = vmap(
                    call, in_dims=(0, 0, None if shared else 0), randomness="different"
                )(parameters, buffers, X)
            except Exception:
                if self._batched:
                    raise
                vars(self)["_batched"] = False
            else:
                vars(self)["_batched"] = True
                return outputs
        outputs = [
            call(
                {k: v[e] for k, v in parameters.items()},
                {k: v[e] for k, v in buffers.items()},
                X if shared else X[e],
            )
            for e in range(self.n_members)
        ]
        if isinstance(outputs[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*outputs, strict=True))
        return torch.stack(outputs)

    def scale_input(self, X):
        return self._members(lambda m, rows: m.scale_input(rows), X, shared=False)

    def forward(self, X):
        return self._members(lambda m, rows: m(rows), X, shared=False)

    def member_outputs(self, X):
        """``(reconstruction, code, target)`` of the rows ``X`` under every
        member, each stacked along a first axis of members: the
        reconstruction and the target (the scaled rows) in the member's
        units."""
        return self._members(
            lambda m, rows: (*m(rows), m.scale_input(rows)), X, shared=True
        )

    def encode(self, X):
        codes = self._members(lambda m, rows: m.encode(rows), X, shared=True)
        return codes.transpose(0, 1).reshape(X.shape[0], -1)

    def decode(self, Z):
        parts = torch.stack(Z.chunk(self.n_members, dim=1))
        decoded = self._members(lambda m, rows: m.decode(rows), parts, shared=False)
        return decoded.mean(dim=0)


class _Call(nn.Module):
    """``fn(module, X)`` as a module's forward, so that
    ``torch.func.functional_call`` can run any method of ``module``."""

    def __init__(self, module, fn):
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, X):
        return self.fn(self.module, X)


def _prefixed(named):
    return {f"module.{name}": value for name, value in named.items()}
