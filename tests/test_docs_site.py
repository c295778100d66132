"""The documentation site: its pages' examples run, and the built site opens in Chromium.

The Chromium checks need a built site (``nox -s docs``; in CI ``.ci/run`` builds it) in
``$FASTDIFF_DOCS_HTML`` (default ``docs/_build/html``) and Chromium; they skip without them,
unless ``FASTDIFF_BROWSER_CHECKS=require`` (CI), where that is a failure.
"""

from __future__ import annotations

import doctest
import os
import pathlib
import re

import pytest

import fastdiff
from browser import dump_dom, serve, skip_or_fail

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ is not beside this tests/ copy")
@pytest.mark.parametrize("page", ["index.md", "optimize.md"])
def test_page_examples_run(page):
    result = doctest.testfile(
        str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted >= 3 and result.failed == 0


@pytest.fixture(scope="module")
def site():
    built = pathlib.Path(os.environ.get("FASTDIFF_DOCS_HTML", DOCS / "_build" / "html"))
    if not (built / "index.html").is_file():
        skip_or_fail(f"no built docs site at {built} (run `nox -s docs`)")
    with serve(str(built)) as url:
        yield url


def public_names():
    return sorted(n for n in fastdiff.__all__ if not n.startswith("_"))


def test_front_page_renders_with_the_theme_and_links_every_section(site):
    dom = dump_dom(f"{site}/index.html", budget_ms=5000)
    assert "<title>fastdiff" in dom
    assert "pydata-sphinx-theme" in dom or "pydata_sphinx_theme" in dom
    for page in (
        "tutorial.html",
        "optimize.html",
        "gallery.html",
        "how_it_works.html",
        "comparison.html",
        "api/index.html",
    ):
        assert page in dom, page
    # the front page's example rendered as highlighted code
    assert 'class="highlight' in dom and "derivative" in dom


def test_api_index_lists_every_public_name(site):
    dom = dump_dom(f"{site}/api/index.html", budget_ms=5000)
    missing = [n for n in public_names() if f'href="{n}.html"' not in dom]
    assert not missing, f"API reference lacks pages for {missing}"


def test_an_api_page_shows_signature_parameters_and_examples(site):
    dom = dump_dom(f"{site}/api/gradient.html", budget_ms=5000)
    assert 'id="fastdiff.gradient"' in dom
    assert re.search(r">\s*Parameters\s*:?\s*<", dom) and re.search(r">\s*Returns\s*:?\s*<", dom)
    assert "Examples" in dom and "&gt;&gt;&gt;" in dom


def test_gallery_figures_are_drawn_at_build_time(site):
    # the plot directive ran plot_steps and grid_derivative while the site was built
    dom = dump_dom(f"{site}/gallery.html", budget_ms=5000)
    images = re.findall(r'<img[^>]*class="plot-directive"[^>]*src="([^"]+)"', dom)
    assert len(set(images)) == 3, images
    built = pathlib.Path(os.environ.get("FASTDIFF_DOCS_HTML", DOCS / "_build" / "html"))
    for src in images:
        png = (built / src).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, src
