"""Sphinx configuration of the fastdiff documentation site (``nox -s docs``).

The API reference is generated from ``fastdiff.__all__`` at build time (into ``docs/api/``,
git-ignored): every public name gets a page, so names added to ``__all__`` appear without
editing the docs. The docstrings are numpydoc; the pages are MyST Markdown.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import types

import fastdiff

project = "fastdiff"
author = "the fastdiff developers"
copyright = "2026, the fastdiff developers"
release = version = fastdiff.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "matplotlib.sphinxext.plot_directive",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

numpydoc_show_class_members = False  # one page per public name lists what it needs
numpydoc_xref_param_type = False
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
intersphinx_mapping = {}  # offline builds: no inventories fetched

# gallery.md: figures drawn at build time, PNG only, no source or format links
plot_formats = [("png", 100)]
plot_html_show_source_link = False
plot_html_show_formats = False
plot_include_source = True

html_theme = "pydata_sphinx_theme"
html_title = f"fastdiff {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}

HERE = pathlib.Path(__file__).resolve().parent


def _directive(name: str, obj: object) -> str:
    full = f"fastdiff.{name}"
    if isinstance(obj, types.ModuleType):
        return f".. automodule:: {full}\n   :members:\n"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return f".. autoexception:: {full}\n"
        return f".. autoclass:: {full}\n   :members:\n"
    return f".. autofunction:: {full}\n"


def write_api_pages() -> None:
    """docs/api/<name>.rst for every public name, and docs/api/index.rst listing them."""
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    names = [n for n in sorted(fastdiff.__all__, key=str.lower) if not n.startswith("_")]
    for old in out.glob("*.rst"):
        if old.stem != "index" and old.stem not in names:
            old.unlink()
    for name in names:
        page = f"{name}\n{'=' * len(name)}\n\n.. currentmodule:: fastdiff\n\n"
        page += _directive(name, getattr(fastdiff, name))
        _write(out / f"{name}.rst", page)
    index = (
        "API reference\n=============\n\n"
        "Every public name of ``fastdiff`` (its ``__all__``), one page each.\n\n"
        ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {n}\n" for n in names)
    )
    _write(out / "index.rst", index)


def _write(path: pathlib.Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:  # keep mtimes: incremental builds
        path.write_text(text)


write_api_pages()


_BARS = re.compile(r"(?<![\\`|])\|(?=[^\s|])([^|\n`]*?[^\s\\|])\|(?![|_])")


def _escape_abs_bars(app, what, name, obj, options, lines):
    """`|x|` in a docstring is an absolute value, not an rST substitution: escape the bars
    (outside doctest lines), so the text reads the same in help() and on the site."""
    for i, line in enumerate(lines):
        if not line.lstrip().startswith((">>>", "...")):
            lines[i] = _BARS.sub(r"\\|\1\\|", line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_abs_bars, priority=400)
