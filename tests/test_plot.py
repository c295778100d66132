"""plot_steps: rendered with Agg, and what was drawn checked artist by artist."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import fastdiff as fd
from fastdiff import _steps

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def show(*a, **k):
        raise AssertionError("plot_steps must never call plt.show()")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_draws_curve_slopes_levels_step_and_error_bar():
    x, exact = 0.7, np.cos(0.7)
    ax = fd.plot_steps(np.sin, x, exact=exact)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    L = lines_by_label(ax)
    res = fd.derivative(np.sin, x)

    # the curve: |central difference - exact| at the spacings drawn
    s, err = L["formula at step h"].get_data()
    ref = np.abs((np.sin(x + s) - np.sin(x - s)) / (2 * s) - exact)
    ok = ~np.isnan(err)
    assert np.allclose(err[ok], ref[ok], rtol=1e-9, atol=0)
    assert s.max() == 1.0 and s.min() < 1e-15  # from the scale down to rounding
    # truncation falls like h^2 and rounding rises like 1/h
    ts, tv = L["truncation ~ h^2"].get_data()
    rs, rv = L["rounding ~ eps / h^1"].get_data()
    assert np.allclose(np.diff(np.log(tv)) / np.diff(np.log(ts)), 2.0)
    slope = np.diff(np.log(rv)) / np.diff(np.log(rs))
    assert np.allclose(slope[10:], -1.0, atol=0.05)  # f's values vary a little at large h
    # the curve shows both regimes: near the truncation line at large h, rounding at small
    assert abs(err[4] / tv[4] - 1) < 0.05 and err[-1] > 1e3 * err[np.nanargmin(err)]
    # the ladder's levels: h0 / q^k from the first step down, on the curve
    ls, lv = L["ladder levels"].get_data()
    h0 = 2.0 ** _steps.initial_step_exponent(1)
    assert np.allclose(ls, h0 / _steps.DEFAULT_STEP_RATIO ** np.arange(ls.size), rtol=1e-12)
    assert ls.size >= 2 and ls.min() <= res.step * (1 + 1e-12)
    assert np.allclose(lv, np.abs((np.sin(x + ls) - np.sin(x - ls)) / (2 * ls) - exact))
    # the chosen step and the error bar
    assert L["step chosen"].get_xdata()[0] == res.step
    assert L["error bar of the estimate"].get_ydata()[0] == res.error
    assert ax.get_legend() is not None


def test_forward_formula_for_the_course_example_has_slope_one():
    ax = fd.plot_steps(lambda t: 2 * t**2, 0.7, method="forward", exact=2.8)
    L = lines_by_label(ax)
    s, err = L["formula at step h"].get_data()
    big = s > 1e-4  # truncation only: the error is 2 h exactly up to rounding
    assert np.allclose(err[big], 2 * s[big], rtol=1e-6)
    assert "truncation ~ h^1" in L
    assert np.nanmax(err[s < 1e-12]) > 1e-5  # the rounding rise


def test_draws_into_the_given_axes_and_returns_it():
    fig, ax = plt.subplots()
    out = fd.plot_steps(np.exp, 1.0, n=2, ax=ax, order=4)
    assert out is ax and len(fig.axes) == 1
    assert "truncation ~ h^4" in lines_by_label(ax) and "rounding ~ eps / h^2" in lines_by_label(ax)


def test_without_exact_the_reference_is_the_estimate():
    ax = fd.plot_steps(np.exp, 0.5)
    assert "fastdiff" in ax.get_ylabel()


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"^`method` must be one of 'central'"):
        fd.plot_steps(np.exp, 1.0, method="dual")
    with pytest.raises(ValueError, match=r"^`x` must be a single number"):
        fd.plot_steps(np.exp, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^`order` must be a positive even integer"):
        fd.plot_steps(np.exp, 1.0, order=3)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "fastdiff\[plot\]"'):
        fd.plot_steps(np.exp, 1.0)
