"""The examples run as a user runs them, so that the docs stay true."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# The ODDS outlier sets, stored beside the project (see ../shared/data/README.md).
ODDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "odds"
GALLERY = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))


@pytest.mark.parametrize("name", ["custom_modules.py"])
def test_example_runs(name, capsys):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert "reloaded model predicts the same labels" in capsys.readouterr().out


@pytest.mark.parametrize("name", GALLERY)
def test_gallery_example_runs(name, tmp_path, monkeypatch):
    """Each gallery example runs to its figures. The data home is an empty
    folder, so the MNIST examples take their stand-in, scikit-learn's 8x8
    digits, and run in seconds; the documentation's full build runs them on
    MNIST."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    if name == "plot_outliers.py":
        if not ODDS.is_dir():
            pytest.skip(f"needs the ODDS sets in {ODDS}")
        (tmp_path / "odds").symlink_to(ODDS)
    monkeypatch.setenv("SKAE_DATA", str(tmp_path))
    monkeypatch.chdir(EXAMPLES)  # where sphinx-gallery runs them
    plt.close("all")
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        assert plt.get_fignums(), f"{name} drew no figure"
    finally:
        plt.close("all")
