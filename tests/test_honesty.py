"""The honesty study (tests/honesty.py) as a regression test: no new misses, no looser bars.

Every trusted estimate's error bar must cover its true error (mpmath oracle). The few known
misses are listed with their cause; a miss not on the list fails, so a change can only
remove misses. The medians of error/true are capped at today's values (plus 10%: selection
can shift a little), so a change cannot silently loosen the bars either.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastdiff as fd
import honesty

# (method, n, variant, function, x): trusted estimates whose error exceeds their bar. None
# left (issue 9): the last ones were noisy f passing rate tests or saturating by chance (a
# collapsed difference now counts its truncation, a hold outweighs a saturation beside it)
# and undeclared relative noise at a zero of f (noise is now also learned as relative).
KNOWN_MISSES: set[tuple[str, int, str, str, float]] = set()

# today's median of error/true per (method, n) over every variant, n <= 4 (issue 9: they were
# 11.3-18.2; the rounding bound propagated through the tableau and the truncation left in a
# saturating entry that is on rate took them to 10.3-16.7 on the 62-function study; column
# 0's residual counted by its effect in the bar took them here, on the 68-function study,
# where they had been 10.2-16.6; derivative's first step tuned per n and stencil for n = 2, 3
# took those rows down by 0.8-1.8; an extrapolated candidate's bar counting half of column 0's
# correction (CORR0_SHARE) took central 9.69-15.3 -> 9.09-13.6, one-sided n = 3, 4 down by 0.7-1.8)
MEDIAN_CAP = {
    ("central", 1): 9.09,
    ("central", 2): 9.51,
    ("central", 3): 13.6,
    ("central", 4): 11.5,
    ("forward", 1): 10.2,
    ("forward", 2): 12.3,
    ("forward", 3): 10.9,
    ("forward", 4): 12.5,
    ("backward", 1): 10.6,
    ("backward", 2): 12.1,
    ("backward", 3): 10.8,
    ("backward", 4): 12.6,
}


@pytest.fixture(scope="module")
def records():
    with np.errstate(all="ignore"):
        return honesty.run(nmax=4)


def test_the_study_is_wide():
    assert len(honesty.FUNCTIONS) >= 68
    assert sum(len(points) for _, _, points in honesty.FUNCTIONS) >= 217


def test_no_trusted_estimate_misses_its_bar_beyond_the_known_cases(records):
    misses = {(r.method, r.n, r.variant, r.name, r.x) for r in records if r.miss}
    assert misses <= KNOWN_MISSES, sorted(misses - KNOWN_MISSES)


def test_plain_smooth_functions_are_trusted(records):
    # on noise-free f, at least 85% of the cases are trusted for every method and n <= 4
    for row in honesty.summary([r for r in records if r.variant == "plain"]):
        assert row.trusted >= 0.85 * row.cases, row


def test_error_bars_are_no_looser_than_today(records):
    for row in honesty.summary(records):
        assert row.median <= 1.1 * MEDIAN_CAP[(row.method, row.n)], row


# central ladders for n = 4, 5, 6 (step ratio sqrt(3)): trusted cases of 651 today (of 612
# before the study widened: 580, 555, 484; with the step ratio 1 + sqrt(2) 522, 479 and 393)
HIGH_N_TRUSTED = {4: 602, 5: 576, 6: 507}


def test_central_high_n_is_trusted_more_and_never_misses():
    with np.errstate(all="ignore"):
        recs = [
            honesty.run_case(name, x, n, "central", variant)
            for name, x, n, variant in honesty.cases(6)
            if n >= 4
        ]
    assert not [(r.n, r.variant, r.name, r.x) for r in recs if r.miss]
    for row in honesty.summary(recs):
        assert row.trusted >= 0.98 * HIGH_N_TRUSTED[row.n], row


# one-sided n = 5, 6 (default order 3): trusted cases of 612 today; with order 1 they were
# forward 362 / 293 and backward 365 / 323, with 15 misses (then 1, now none). The last one:
# sigmoid at 30 rounds to 1 - 9e-14, and its sixth derivative (-9e-14) is below what f
# resolves there; a stencil sum frozen at rounding level is no longer a saturation (see the
# test below; forward n = 6 trusts 349 of 651 since, the sigmoid case gone from them).
ONE_SIDED_HIGH_N_TRUSTED = {  # of 651 cases (of 612 before the study widened: 367, 338, 374, 343)
    ("forward", 5): 384,
    ("forward", 6): 351,
    ("backward", 5): 389,
    ("backward", 6): 359,
}
ONE_SIDED_HIGH_N_KNOWN_MISSES: set[tuple[str, int, str, str, float]] = set()


def test_one_sided_high_n_is_trusted_more_and_misses_less():
    with np.errstate(all="ignore"):
        recs = [
            honesty.run_case(name, x, n, method, variant)
            for method in ("forward", "backward")
            for name, x, n, variant in honesty.cases(6)
            if n >= 5
        ]
    misses = {(r.method, r.n, r.variant, r.name, r.x) for r in recs if r.miss}
    assert misses <= ONE_SIDED_HIGH_N_KNOWN_MISSES, sorted(misses - ONE_SIDED_HIGH_N_KNOWN_MISSES)
    for row in honesty.summary(recs):
        assert row.trusted >= 0.98 * ONE_SIDED_HIGH_N_TRUSTED[(row.method, row.n)], row


def test_a_stencil_sum_frozen_at_rounding_level_is_no_saturation():
    # sigmoid at 30 is 1 - 9.4e-14: 850 ulps below 1 at x, 0-55 ulps at the nodes of steps
    # 16, 6.6, 2.7, so sum_j w_j f_j barely moves and A_k grows like h^-6 (ratios 198 = q^6,
    # 124), each within its rounding bound of the last. It was trusted at 3.1e-15 from
    # h = 2.7 for a true error of 9.2e-14: the truncation there is the whole derivative.
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    true = float(mp.diff(lambda t: 1 / (1 + mp.exp(-t)), 30, 6))
    for x in (30.0, np.array([30.0, 30.0])):
        res = fd.derivative(lambda v: 1 / (1 + np.exp(-v)), x, n=6, method="forward")
        ok = np.asarray(res.success)
        assert np.all(np.abs(res.df - true)[ok] <= np.asarray(res.error)[ok]), res
    # the same growth in no fixed direction is rounding, and saturates as before: x^3 at 1,
    # n = 4, has a zero derivative that every step resolves to rounding
    res = fd.derivative(lambda v: (v - 1.0) ** 3 + v, 1.0, n=4, method="forward")
    assert res.success and abs(res.df) <= res.error, res


@pytest.mark.xfail(
    strict=True,
    reason="exp(-x^2) at x = 24.8 rounds its argument: x^2 = 616 is off by up to ulp(616) / 2, "
    "so f is off by up to ~600 ulps (its condition number), far above the eps per value the "
    "bound assumes; the forward n = 4 ladder does not learn that noise and is trusted at "
    "2.34e-265 for a true error of 2.72e-265 (found outside the study, 1 of 2352 trusted "
    "cases over 11 f, n = 1 ... 6, all stencils; issue 9)",
)
def test_an_argument_that_rounds_far_above_eps_is_learned_as_noise():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    x = 24.821948168503923
    true = float(mp.diff(lambda t: mp.exp(-t * t) * mp.sin(3 * t), x, 4))
    res = fd.derivative(lambda v: np.exp(-v * v) * np.sin(3 * v), x, n=4, method="forward")
    assert not res.success or abs(res.df - true) <= res.error, res


# issue 9: the study's last misses, as a user would call derivative() (noisy f from the study:
# relative noise 1e-10, declared through ``noise=`` or not). Each was trusted with a bar below
# its true error: (name, x, n, method, variant, bar before, true error before).
FORMER_MISSES = [
    ("cos(x^2)", 1.0, 2, "backward", "noisy", 4.5e-5, 5.2e-4),  # collapsed saturation
    ("x^1.5", 1.0, 4, "forward", "noisy", 6.05e-2, 6.38e-2),  # collapsed, no power law
    ("sinh", 0.0, 2, "forward", "noisy-undeclared", 5.5e-8, 4.5e-7),  # relative noise at 0
    ("x^5-3x^2", 0.0, 3, "backward", "noisy-undeclared", 3.7e-5, 4.7e-5),
    ("x log x", 1.0, 1, "central", "noisy-undeclared", 2.41e-11, 2.46e-11),
    ("log(1+x^2)", 0.0, 1, "backward", "noisy", 4.7e-13, 6.0e-13),  # hold beside saturation
]


@pytest.mark.parametrize(("name", "x", "n", "method", "variant", "_bar", "_true"), FORMER_MISSES)
def test_former_misses_are_honest(name, x, n, method, variant, _bar, _true):
    f = honesty.numpy_f(name, variant)
    with np.errstate(all="ignore"):
        res = fd.derivative(
            f, x, n=n, method=method, noise=honesty.NOISE if variant == "noisy" else None
        )
    true = abs(float(res.df) - honesty.exact(name, x, n))
    assert not res.success or true <= res.error + honesty.SLACK * max(1.0, abs(float(res.df))), res
