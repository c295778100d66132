"""Build the asv dashboard over the last N commits of main, publish it, make it work offline
and serve it (``nox -s dashboard``; see docs/dev/benchmarks.md).

Steps: ``asv machine --yes``; ``asv run`` on the first-parent history ``main~N+1 .. main``
(asv builds a real wheel of every commit in its own virtualenv, with every peer of
``asv.conf.json`` installed; benchmarks come from this checkout's ``benchmarks/``);
``asv publish``; ``tools/asv_offline.py`` (vendors the CDN scripts from npm); then
``python -m http.server`` on 127.0.0.1 until Ctrl-C.

Usage::

    python tools/dashboard.py [--commits 5] [--branch main] [--bench REGEX] [--quick]
                              [--no-serve] [--port 8123]

``--quick`` passes asv's ``--quick`` (one sample per benchmark: timings are rough, the
``track_speedup`` ratios are not affected because they time both tools themselves). Results
accumulate in ``.asv/results``; commits already measured are skipped.
"""

from __future__ import annotations

import argparse
import http.server
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdin=subprocess.DEVNULL)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, default=5, help="how many commits of main (>= 1)")
    ap.add_argument("--branch", default="main", help="the branch whose history is measured")
    ap.add_argument("--bench", default=None, help="asv --bench regex (default: all)")
    ap.add_argument("--quick", action="store_true", help="asv --quick: one sample each")
    ap.add_argument("--no-serve", action="store_true", help="stop after publishing")
    ap.add_argument("--port", type=int, default=8123)
    a = ap.parse_args(argv)
    if a.commits < 1:
        ap.error(f"--commits must be >= 1, got {a.commits}")
    try:
        git("rev-parse", "--verify", "--quiet", f"refs/heads/{a.branch}")
    except subprocess.CalledProcessError:
        sys.exit(f"dashboard: no local branch {a.branch!r} (asv.conf.json publishes 'main')")
    hashes = git("rev-list", "--first-parent", "-n", str(a.commits), a.branch).split()
    print(f"dashboard: {len(hashes)} commit(s) of {a.branch}: {hashes[-1][:8]}..{hashes[0][:8]}")

    t0 = time.perf_counter()
    run(sys.executable, "-m", "asv", "machine", "--yes")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(hashes) + "\n")
    cmd = [sys.executable, "-m", "asv", "run", f"HASHFILE:{fh.name}", "--skip-existing-commits"]
    cmd += ["--show-stderr", "--launch-method", "forkserver"]  # import once per commit
    if a.bench:
        cmd += ["--bench", a.bench]
    if a.quick:
        cmd += ["--quick"]
    try:
        run(*cmd)
    finally:
        pathlib.Path(fh.name).unlink()
    run(sys.executable, "-m", "asv", "publish")
    html = ROOT / ".asv" / "html"
    run(sys.executable, str(ROOT / "tools" / "asv_offline.py"), str(html))
    print(f"dashboard: built in {time.perf_counter() - t0:.0f} s: {html}/index.html")
    if a.no_serve:
        return 0

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(html), **kwargs)

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Quiet) as srv:
        print(f"dashboard: serving http://127.0.0.1:{a.port}/ (Ctrl-C stops)", flush=True)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
