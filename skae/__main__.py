"""End-to-end demo on scikit-learn's digits, with no download: ``python -m skae``.

Fits an AutoencoderTransformer and PCA with the same number of components on
the training split, then prints each one's reconstruction error on the test
split and the accuracy of a logistic regression trained on each one's codes.
"""

import time


def main(n_components=8, random_state=0):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from skae import AutoencoderTransformer

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    print(
        f"digits: {X_train.shape[0]} training and {X_test.shape[0]} test images "
        f"of {X.shape[1]} pixels, scaled to [0, 1]; n_components={n_components}\n"
    )
    print(f"{'model':<24}{'test MSE':>10}{'accuracy':>10}{'fit (s)':>9}")
    for name, reducer in [
        (
            "AutoencoderTransformer",
            AutoencoderTransformer(n_components, random_state=random_state),
        ),
        ("PCA", PCA(n_components, random_state=random_state)),
    ]:
        model = make_pipeline(MinMaxScaler(), reducer)
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        scaled_test = model[0].transform(X_test)
        reconstructed = reducer.inverse_transform(model.transform(X_test))
        mse = ((reconstructed - scaled_test) ** 2).mean()
        classifier = LogisticRegression(max_iter=2000)
        classifier.fit(model.transform(X_train), y_train)
        accuracy = classifier.score(model.transform(X_test), y_test)
        print(f"{name:<24}{mse:>10.4f}{accuracy:>10.3f}{seconds:>9.1f}")
    print(
        "\ntest MSE: mean squared reconstruction error per pixel; accuracy: "
        "LogisticRegression trained on the codes of the training images."
    )


if __name__ == "__main__":
    main()
