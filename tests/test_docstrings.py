"""Every public class, method and function documents its parameters, all of
them and only them, in numpydoc form; and the API reference lists every
public name.

Public names are found, not listed: those in ``skae.__all__`` and in the
``__all__`` of every public submodule (``skae.noise``, ...), so that a new
estimator, function or module is checked without anyone remembering to.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import skae

API_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

# numpydoc's validation codes that this test enforces: a docstring exists,
# its sections are known and in order, and its Parameters section names
# every parameter of the signature, in order, with a type, and nothing else.
# (Style codes, such as a missing Examples or See Also section, are not.)
CHECKS = {
    "GL06": "unknown section",
    "GL07": "sections in the wrong order",
    "GL08": "no docstring",
    "PR01": "parameters not documented",
    "PR02": "unknown parameters documented",
    "PR03": "parameters documented out of order",
    "PR04": "parameter without a type",
    "PR10": "no space before the colon of a parameter",
}


def public_modules():
    """skae and its public submodules, imported."""
    names = [
        f"skae.{info.name}"
        for info in pkgutil.iter_modules(skae.__path__)
        if not info.name.startswith("_")
    ]
    return [skae] + [importlib.import_module(name) for name in sorted(names)]


def public_names():
    """Dotted names of the public classes and functions, as users import
    them: ``skae.AutoencoderTransformer``, ``skae.noise.gaussian_noise``."""
    names = []
    for module in public_modules():
        exported = getattr(module, "__all__", None)
        if exported is None:
            exported = [
                name
                for name, obj in vars(module).items()
                if not name.startswith("_")
                and getattr(obj, "__module__", None) == module.__name__
            ]
        for name in exported:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                names.append(f"{module.__name__}.{name}")
    return names


def _own_methods(cls):
    """Public methods of ``cls`` written in skae (inherited ones from
    scikit-learn, torch or Python are theirs to document)."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        attr = getattr(cls, name)
        if callable(attr) and getattr(attr, "__module__", "").startswith("skae"):
            yield name


def documented_objects():
    objects = []
    for dotted in public_names():
        objects.append(dotted)
        module, _, name = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module), name)
        if inspect.isclass(obj):
            objects.extend(f"{dotted}.{method}" for method in _own_methods(obj))
    return objects


def test_public_names_found():
    names = public_names()
    assert "skae.AutoencoderTransformer" in names
    assert "skae.noise.gaussian_noise" in names
    assert "skae.NonFiniteLossError" in names


@pytest.mark.parametrize("name", documented_objects())
def test_docstring_documents_the_parameters(name):
    validate = pytest.importorskip(
        "numpydoc.validate", reason="numpydoc (in the docs extra) parses docstrings"
    ).validate
    errors = [
        f"{code} ({CHECKS[code]}): {message}"
        for code, message in validate(name)["errors"]
        if code in CHECKS
    ]
    assert not errors, f"{name}:\n" + "\n".join(errors)


@pytest.mark.parametrize("name", documented_objects())
def test_shared_parameter_docs_are_filled_in(name):
    # fill_doc replaces each {{name}} line; one left over is a missing entry.
    *path, attr = name.split(".")
    obj = importlib.import_module(path[0])
    for part in [*path[1:], attr]:
        obj = getattr(obj, part)
    assert "{{" not in (obj.__doc__ or "")


def api_reference_entries(text):
    """Dotted names that the autosummary tables of ``text`` list, each under
    the module its ``module`` or ``currentmodule`` directive set."""
    entries, module, in_table = set(), None, False
    for line in text.splitlines():
        directive = re.match(r"\.\. (?:current)?module:: (\S+)", line)
        if directive:
            module, in_table = directive[1], False
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.startswith("   ") and line.strip():
            if not line.strip().startswith(":"):
                entries.add(f"{module}.{line.strip()}")
        elif in_table and line.strip():
            in_table = False
    return entries


@pytest.mark.skipif(not API_REFERENCE.exists(), reason="no docs/ beside the tests")
def test_api_reference_lists_every_public_name():
    listed = api_reference_entries(API_REFERENCE.read_text(encoding="utf-8"))
    public = set(public_names())
    assert not public - listed, f"not in docs/api.rst: {sorted(public - listed)}"
    assert not listed - public, f"not public: {sorted(listed - public)}"
