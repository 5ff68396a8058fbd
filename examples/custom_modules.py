"""Your own torch modules in a scikit-learn Pipeline.

Any skae estimator takes an ``encoder`` and a ``decoder`` in place of its
built-in networks: ``nn.Module`` classes (built at ``fit``) or instances
(copied, never trained in place). A class receives ``n_features`` and
``n_components`` when its ``__init__`` takes them, and every
``encoder__<name>`` / ``decoder__<name>`` argument, which ``set_params``,
``clone`` and ``GridSearchCV`` reach like any other parameter. The module maps
``(n_samples, n_features)`` float32 rows to ``(n_samples, n_components)``
codes and back; skae checks the shapes with a dry run before training.

Here a residual MLP encoder and a plain decoder on scikit-learn's digits,
searched over the encoder's width and the bottleneck, scored by a logistic
regression on the codes; then the fitted model is pickled and reloaded.

Run with ``python examples/custom_modules.py`` (about a minute on 2 CPU
cores).
"""

# %%
import pickle

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from torch import nn

from skae import AutoencoderTransformer


# %%
# The modules: plain torch. Define them at module level (not inside a
# function) so that pickle can find them when a fitted model is loaded.
class ResidualEncoder(nn.Module):
    def __init__(self, n_features, n_components, width=64, n_blocks=2):
        super().__init__()
        self.stem = nn.Linear(n_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())
            for _ in range(n_blocks)
        )
        self.code = nn.Linear(width, n_components)

    def forward(self, X):
        h = self.stem(X)
        for block in self.blocks:
            h = h + block(h)
        return self.code(h)


class Decoder(nn.Module):
    def __init__(self, n_components, n_features, width=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_components, width),
            nn.GELU(),
            nn.Linear(width, n_features),
            nn.Sigmoid(),  # loss="bce" needs outputs in [0, 1]
        )

    def forward(self, Z):
        return self.net(Z)


# %%
# The estimator takes the classes and their arguments; GridSearchCV searches
# them through the Pipeline like any other parameter.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipe = make_pipeline(
    MinMaxScaler(),
    AutoencoderTransformer(
        encoder=ResidualEncoder,
        decoder=Decoder,
        encoder__width=64,
        loss="bce",
        max_epochs=40,
        random_state=0,
    ),
    StandardScaler(),
    LogisticRegression(max_iter=2000),
)
search = GridSearchCV(
    pipe,
    {
        "autoencodertransformer__n_components": [4, 16],
        "autoencodertransformer__encoder__width": [32, 128],
    },
    cv=3,
).fit(X_train, y_train)
print("best:", search.best_params_)
print(f"test accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# The fitted module is yours to inspect, and the model pickles with its
# weights as plain arrays.
autoencoder = search.best_estimator_[1]
print(autoencoder.net_.module_.encoder)
restored = pickle.loads(pickle.dumps(search.best_estimator_))
assert np.array_equal(restored.predict(X_test), search.predict(X_test))
print("reloaded model predicts the same labels")
