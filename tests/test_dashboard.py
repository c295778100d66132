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
      window.scrollTo(0, y); $(window).trigger('scroll'); y += 600;
      if (y < document.body.scrollHeight + 600 && Date.now() - t0 < 15000) {
        return setTimeout(step, 250);
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
    return label.strip().strip("'\"")


def test_grid_thumbnails_are_drawn(site):
    res = probe(f"{site}/index.html")
    plots = res["plots"]
    assert len(plots) >= 3, plots  # CI publishes only the Scalar race: 3 benchmarks
    blank = [p["id"] for p in plots if p["points"] < 1 or p["ink"] < 20]
    assert not blank, f"thumbnails not drawn: {blank}"
    assert max(p["points"] for p in plots) >= 2  # history: more than one commit


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
