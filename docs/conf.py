"""Sphinx configuration: the user guide (Markdown, via MyST) and the API reference (autodoc
with numpydoc).  Builds offline: ``sphinx-build -W -b html docs docs/_build/html``."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import skdgm  # noqa: E402

project = "skdgm"
author = "the skdgm developers"
release = version = skdgm.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]

autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# numpydoc's member tables would list every inherited method; autodoc's ``members`` documents
# the package's own (see ``_skip_foreign`` below)
numpydoc_show_class_members = False
# no remote inventories: the build must work without a network (set SKDGM_DOCS_INTERSPHINX=1
# to link to the Python, NumPy, scikit-learn and PyTorch docs)
if os.environ.get("SKDGM_DOCS_INTERSPHINX"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }

html_theme = "pydata_sphinx_theme"
html_title = "skdgm"


def _skip_foreign(app, what, name, obj, skip, options):
    """Leave out members that scikit-learn, skorch, modAL or torch define (``get_params``,
    ``set_output``, the ``set_*_request`` methods, ...): their docstrings are theirs, with
    cross-references into their own documentation."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("sklearn", "skorch", "modAL", "torch"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign)
