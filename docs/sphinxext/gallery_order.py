"""The order of the example gallery: from a first autoencoder to the
specialised estimators, as a reader would take them."""

from pathlib import Path

ORDER = (
    "plot_dense_mnist.py",
    "plot_code_as_image.py",
    "plot_denoising.py",
    "plot_conv_and_vae.py",
    "plot_code_grid.py",
    "plot_supervised_codes.py",
    "plot_tsne.py",
    "plot_choose_n_components.py",
    "plot_outliers.py",
)


class ExampleOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``: the files of
    ``ORDER`` in that order, then any other example by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        rank = ORDER.index(name) if name in ORDER else len(ORDER)
        return rank, name

    def __repr__(self):
        return f"<{type(self).__name__}>"
