"""fastdiff.Status mirrors the C status table in csrc/fastdiff.h exactly (B4, B8.10)."""

from __future__ import annotations

import fastdiff
from fastdiff._kernels import _finite_diff


def test_status_mirrors_the_c_table_names_and_codes_in_order():
    c_table = [(name, code) for name, code, _ in _finite_diff.status_table()]
    assert [(s.name, s.value) for s in fastdiff.Status] == c_table


def test_c_status_codes_and_names_are_unique():
    table = _finite_diff.status_table()
    assert len({name for name, _, _ in table}) == len(table)
    assert len({code for _, code, _ in table}) == len(table)


def test_every_c_status_has_a_message():
    for name, _, message in _finite_diff.status_table():
        assert isinstance(message, str)
        assert message.strip(), name


def test_converged_is_zero_and_sign_carries_trust():
    assert fastdiff.Status.CONVERGED == 0
    trusted = {s.name for s in fastdiff.Status if s >= 0}
    assert trusted == {"CONVERGED", "DOMAIN_ADAPTED", "BOUNDS_ADAPTED"}


def test_status_docstring_lists_every_member():
    doc = fastdiff.Status.__doc__ or ""
    for s in fastdiff.Status:
        assert f"``{s.name}``" in doc, s.name
