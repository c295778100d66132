"""The published asv dashboard, opened in headless Chromium.

Needs a published dashboard (``nox -s dashboard``, or in CI ``.ci/run``'s quick one) in
``$FASTDIFF_ASV_HTML`` (default: ``.asv/html`` of this checkout) and Chromium; skips without
them, unless ``FASTDIFF_BROWSER_CHECKS=require`` (CI), where a skip would be a failure.

The page draws with flot into canvases, which the DOM does not show, so a small probe script
is added to a copy of ``index.html``: it scrolls through the grid (thumbnails are drawn when
scrolled into view), then reads flot's own plot objects (series, points) and counts the
coloured pixels of each canvas (flot draws the series in asv's colours; the frame is grey),
and writes the findings into the DOM for ``--dump-dom``.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest

from browser import dump_dom, probe_result, serve, skip_or_fail

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEERS = {"numdifftools", "scipy", "jax", "autograd", "num_dual", "jacobi", "findiff"}

PROBE = r"""
(function () {
  function colored(canvas) {          // pixels clearly not grey/white: drawn series
    if (!canvas) return 0;
    var d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    var n = 0;
    for (var i = 0; i < d.length; i += 4) {
      var r = d[i], g = d[i + 1], b = d[i + 2];
      if (d[i + 3] > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    return n;
  }
  function done(obj) {
    var pre = document.createElement('pre');
    pre.id = 'probe-result';
    pre.textContent = JSON.stringify(obj);
    document.body.appendChild(pre);
  }
  function series(plot) {
    return plot.getData().map(function (s) {
      return {label: String(s.label || ''),
              points: s.data.filter(function (p) { return p && p[1] !== null; }).length};
    });
  }
  var t0 = Date.now();
  if (!location.hash || location.hash === '#') {
    var y = 0;
    (function step() {
      if (!$('.benchmark-plot').length && Date.now() - t0 < 15000) {
        return setTimeout(step, 200);        // the grid is built after index.json loads
      }
      window.scrollTo(0, y); $(window).trigger('scroll'); y += 500;
      var bottom = document.documentElement.scrollHeight;
      if (y < bottom + 500 && Date.now() - t0 < 25000) {
        return setTimeout(step, 200);
      }
      setTimeout(function () {
        var plots = $('.benchmark-plot').map(function () {
          var plot = $(this).data('plot');
          return {id: this.id, points: plot ? series(plot)[0].points : 0,
                  ink: colored($(this).find('canvas.flot-base')[0])};
        }).get();
        done({page: 'grid', plots: plots});
      }, 1500);
    })();
  } else {
    (function wait() {
      var plot = $('#main-graph').data('plot');
      if (plot && plot.getData().length) {
        return setTimeout(function () {
          plot = $('#main-graph').data('plot');
          done({page: location.hash, series: series(plot),
                ink: colored($('#main-graph canvas.flot-base')[0])});
        }, 1000);
      }
      if (Date.now() - t0 > 15000) return done({page: location.hash, series: [], ink: 0});
      setTimeout(wait, 200);
    })();
  }
})();
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    published = pathlib.Path(os.environ.get("FASTDIFF_ASV_HTML", ROOT / ".asv" / "html"))
    if not (published / "index.html").is_file():
        skip_or_fail(f"no published asv dashboard at {published} (run `nox -s dashboard`)")
    if not (published / "vendor").is_dir():
        skip_or_fail(f"{published} is not made offline-ready (tools/asv_offline.py)")
    copy = tmp_path_factory.mktemp("asv") / "html"
    shutil.copytree(published, copy)
    (copy / "probe.js").write_text(PROBE)
    index = copy / "index.html"
    text = index.read_text()
    assert "</body>" in text
    index.write_text(text.replace("</body>", '<script src="probe.js"></script></body>', 1))
    with serve(str(copy)) as url:
        yield url


def probe(url: str) -> dict:
    return json.loads(probe_result(dump_dom(url, budget_ms=30000)))


def tool_of(label: str) -> str:
    """asv labels a series by its parameter: "tool-fastdiff", "peer-jax"."""
    label = label.strip().strip("'\"")
    return label.split("-", 1)[1] if label.startswith(("tool-", "peer-")) else label


def test_grid_thumbnails_are_drawn(site):
    res = probe(f"{site}/index.html")
    plots = res["plots"]
    # The grid lists every benchmark asv discovered; those never run (CI runs only the
    # Scalar race) have no data and stay empty. Every one with data must be drawn, and
    # every race thumbnail must have data from more than one commit.
    with_data = [p for p in plots if p["points"] >= 1]
    blank = [p["id"] for p in with_data if p["ink"] < 20]
    assert not blank, f"thumbnails with data but nothing drawn: {blank}"
    race = [p for p in plots if p["id"].startswith("summarygrid-race.Scalar")]
    assert len(race) >= 2, [p["id"] for p in plots]
    short = [p["id"] for p in race if p["points"] < 2 or p["ink"] < 20]
    assert not short, f"race thumbnails without a drawn history: {short}"


def test_a_race_graph_shows_fastdiff_and_at_least_two_peers(site):
    res = probe(f"{site}/index.html#race.Scalar.time_call")
    drawn = {tool_of(s["label"]) for s in res["series"] if s["points"] >= 1}
    assert "fastdiff" in drawn, res
    assert len(drawn & PEERS) >= 2, res
    assert res["ink"] > 100, res


def test_a_speedup_graph_has_more_than_one_commit(site):
    res = probe(f"{site}/index.html#race.ScalarSpeedup.track_speedup")
    assert res["series"], res
    longest = max(s["points"] for s in res["series"])
    assert longest >= 2, res
    assert res["ink"] > 100, res
