"""
Choosing ``n_components``: reconstruction score against a downstream model
==========================================================================

The default ``score`` of :class:`skae.AutoencoderTransformer` is minus the mean
reconstruction error, which keeps improving as the bottleneck grows, so a
search scored by it always picks the largest ``n_components``. When the codes
feed a model, score the search by that model instead: put the autoencoder in a
Pipeline before it.

Run with ``python examples/choose_n_components.py`` (about a minute on 2 CPU
cores).
"""

# %%
# Data: scikit-learn's digits, 8x8 images, scaled to [0, 1] inside each
# pipeline so that no statistic leaks from the validation folds.
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
sizes = [2, 4, 8, 16, 32]
autoencoder = AutoencoderTransformer(max_epochs=60, random_state=0)

# %%
# Scored by reconstruction: the error only falls as the bottleneck widens.
by_reconstruction = GridSearchCV(
    make_pipeline(MinMaxScaler(), autoencoder),
    {"autoencodertransformer__n_components": sizes},
    cv=3,
).fit(X)

# %%
# Scored by a classifier on the codes: accuracy levels off as the bottleneck
# widens. The one-standard-error rule, passed as ``refit``, keeps the smallest
# bottleneck whose accuracy is within one standard deviation of the best.


def one_standard_error(cv_results):
    mean, std = cv_results["mean_test_score"], cv_results["std_test_score"]
    best = np.argmax(mean)
    close = np.flatnonzero(mean >= mean[best] - std[best])
    n_components = cv_results["param_autoencodertransformer__n_components"]
    return close[np.argmin(np.asarray(n_components)[close])]


by_classifier = GridSearchCV(
    make_pipeline(MinMaxScaler(), autoencoder, LogisticRegression(max_iter=2000)),
    {"autoencodertransformer__n_components": sizes},
    cv=3,
    refit=one_standard_error,
).fit(X, y)

table = pd.DataFrame(
    {
        "n_components": sizes,
        "minus reconstruction MSE": by_reconstruction.cv_results_["mean_test_score"],
        "classifier accuracy": by_classifier.cv_results_["mean_test_score"],
        "accuracy std": by_classifier.cv_results_["std_test_score"],
    }
)
print(table.round(4).to_string(index=False))
print("picked by reconstruction:", by_reconstruction.best_params_)
print("picked by the classifier, one-standard-error rule:", by_classifier.best_params_)
