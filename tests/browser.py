"""Headless Chromium for the page checks (the asv dashboard, the docs site).

Chromium runs with the flags this machine needs (no sandbox as root, no GPU, no background
networking: the network is closed), a fresh ``--user-data-dir`` each time, a hard timeout,
and is killed (its whole process group) whatever happens. Pages are served from a directory
on 127.0.0.1 by a thread in this process (asv's pages load JSON, so ``file://`` fails).

``FASTDIFF_BROWSER_CHECKS=require`` (set by .ci/run) turns the skips of a missing Chromium
or a missing published site into failures, so CI cannot pass them by skipping.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def required() -> bool:
    return os.environ.get("FASTDIFF_BROWSER_CHECKS", "") == "require"


def skip_or_fail(reason: str) -> None:
    if required():
        pytest.fail(f"{reason} (FASTDIFF_BROWSER_CHECKS=require)")
    pytest.skip(reason)


def chromium() -> str:
    """The Chromium executable, or skip (fail under FASTDIFF_BROWSER_CHECKS=require)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    skip_or_fail("no chromium on PATH (Debian: apt-get install -y chromium)")
    raise AssertionError("unreachable")


def run_chromium(args: list[str], timeout: float = 90.0) -> str:
    """Run Chromium headless with `args`; return stdout. Killed on timeout or error."""
    with tempfile.TemporaryDirectory(prefix="fastdiff-chromium-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
        # not the test process's preloads: under tools/sanitize.sh, LD_PRELOAD carries libasan,
        # and an uninstrumented Chromium with it preloaded hangs until the timeout
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: we kill all its children
            text=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited with {proc.returncode}: {err[-2000:]}")
    return out


def dump_dom(url: str, budget_ms: int = 20000, window: str = "1400,1000") -> str:
    """The DOM after the page's scripts ran for `budget_ms` of virtual time."""
    return run_chromium(
        [f"--window-size={window}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
    )


def screenshot(url: str, path: str, budget_ms: int = 10000, window: str = "1400,1000") -> None:
    run_chromium(
        [
            f"--window-size={window}",
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={path}",
            url,
        ]
    )


def probe_result(dom: str) -> str:
    """The text of ``<pre id="probe-result">`` that an injected probe script wrote."""
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    if not m:
        raise AssertionError(f"the probe wrote no result; page text starts: {dom[:500]!r}")
    return html.unescape(m.group(1))


@contextlib.contextmanager
def serve(directory: str) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (an ephemeral port); yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=directory)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass
