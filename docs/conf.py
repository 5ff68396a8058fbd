"""Sphinx configuration of skae's documentation site.

CI builds without running the gallery examples (offline, no warnings allowed)::

    python -m sphinx -W --keep-going -D plot_gallery=0 -b html docs docs/_build/html

A full build also runs every ``examples/plot_*.py`` and renders its output and
figures (about 7 minutes on 2 cores). The examples read MNIST through
:func:`skae.datasets.fetch_mnist` from its data home: point ``SKAE_DATA`` at a
folder holding the IDX files (or call ``fetch_mnist()`` once to download
them); without MNIST they fall back to scikit-learn's 8x8 digits::

    SKAE_DATA=../shared/data \
        python -m sphinx -W --keep-going -b html docs docs/_build/html

Set ``SKAE_DOCS_INTERSPHINX=1`` to link names of scikit-learn, NumPy, PyTorch
and skorch to their own documentation; that needs the internet, so it is off
by default.
"""

import os
import re
import sys
from pathlib import Path

import skae

DOCS = Path(__file__).resolve().parent
# docs/sphinxext holds the gallery's sort key (imported by name, so that
# Sphinx can cache the configuration).
sys.path.insert(0, str(DOCS / "sphinxext"))
EXAMPLES = DOCS.parent / "examples"

project = "skae"
author = "The skae developers"
copyright = "The skae developers"
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]
# ``:class:`~sklearn...``` and other references that nothing resolves render as
# plain code rather than warn (intersphinx links them when it is on).
nitpicky = False

# -- API reference: autosummary writes one page per public name, from the
# templates in _templates/autosummary, into generated/ (not committed; it is
# rebuilt on every build, as scikit-learn does with modules/generated/).
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
add_module_names = False
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Markdown pages (the guide, and the Benchmarks and Changelog files that
# live beside the code) are read by MyST.
myst_heading_anchors = 3

# -- Gallery: every examples/plot_*.py, split into ``# %%`` cells. The other
# scripts in examples/ are not part of it. With no plot_ file there is no
# gallery page at all (no empty placeholder), and the toctree of index.md gets
# no entry for it.
HAS_GALLERY = any(EXAMPLES.glob("plot_*.py"))
sphinx_gallery_conf = {
    "examples_dirs": [os.path.relpath(EXAMPLES, DOCS)] if HAS_GALLERY else [],
    "gallery_dirs": ["auto_examples"] if HAS_GALLERY else [],
    # Which files belong to the gallery, and which of those a full build runs.
    "ignore_pattern": r"(^|[\\/])(?!plot_)[^\\/]*$",
    "filename_pattern": r"(^|[\\/])plot_",
    # An example that fails to run fails the build.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "doc_module": ("skae",),
    "reference_url": {"skae": None},
    "backreferences_dir": "generated/backreferences" if HAS_GALLERY else None,
    "remove_config_comments": True,
    "download_all_examples": False,
    "within_subsection_order": "gallery_order.ExampleOrder",
}
if not HAS_GALLERY:
    exclude_patterns += ["auto_examples", "sg_execution_times.rst"]
# The class and function templates show an example mini-gallery when there
# is a gallery to draw it from.
autosummary_context = {"has_gallery": HAS_GALLERY}

# -- Links to the projects skae builds on, only when asked for (online).
intersphinx_mapping = {}
if os.environ.get("SKAE_DOCS_INTERSPHINX", "0") not in ("", "0"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    }

# -- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 7,
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "getting_started": [], "changelog": []}
html_show_sourcelink = False


# Methods inherited from scikit-learn (set_output, get_metadata_routing,
# score, ...) keep scikit-learn's docstrings, whose :ref: and :term: roles
# name labels of scikit-learn's own site (its user guide, its glossary): they
# are shown as their text.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _sklearn_roles_as_text(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn."):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ROLE.sub(lambda m: m[1] or m[2], line)


_GALLERY_MARKER = re.compile(r"^% gallery toctree entry.*$", re.MULTILINE)


def _gallery_toctree(app, docname, source):
    """Put the gallery in the root toctree where index.md marks its place,
    when there is a gallery."""
    if docname == root_doc:
        entry = "```{toctree}\n:hidden:\n\nauto_examples/index\n```"
        source[0] = _GALLERY_MARKER.sub(entry if HAS_GALLERY else "", source[0])


def setup(app):
    app.connect("source-read", _gallery_toctree)
    app.connect("autodoc-process-docstring", _sklearn_roles_as_text)
