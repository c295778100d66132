"""Each bad argument of fd_weights raises its own exception with its exact message (B4, B8)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fastdiff

VALUE_ERRORS = [
    # (offsets, n, message)
    ([0, 1, 1], 1, "`offsets` must be distinct (no repeated offset); got [0, 1, 1]."),
    (
        [0.5, -1.0, 0.5, 2.0],
        2,
        "`offsets` must be distinct (no repeated offset); got [0.5, -1.0, 0.5, 2.0].",
    ),
    ([0, float("nan"), 1], 1, "`offsets` must be finite; got [0, nan, 1]."),
    ([0, float("inf"), 1], 1, "`offsets` must be finite; got [0, inf, 1]."),
    (np.array([-np.inf, 0.0]), 1, "`offsets` must be finite; got array([-inf,   0.])."),
    ([float("nan"), float("nan")], 0, "`offsets` must be finite; got [nan, nan]."),
    ([], 0, "`offsets` must be a non-empty 1-D sequence; got []."),
    (np.empty(0), 0, "`offsets` must be a non-empty 1-D sequence; got array([], dtype=float64)."),
    ([[0, 1], [2, 3]], 1, "`offsets` must be a non-empty 1-D sequence; got [[0, 1], [2, 3]]."),
    (0.0, 0, "`offsets` must be a non-empty 1-D sequence; got 0.0."),
    ([0, 1, 2], -1, "`n` must be an integer with 0 <= n < len(offsets) = 3; got -1."),
    ([0, 1, 2], 3, "`n` must be an integer with 0 <= n < len(offsets) = 3; got 3."),
    ([0, 1, 2], 7, "`n` must be an integer with 0 <= n < len(offsets) = 3; got 7."),
    ([0, 1, 2], 1.0, "`n` must be an integer with 0 <= n < len(offsets) = 3; got 1.0."),
    ([0, 1, 2], True, "`n` must be an integer with 0 <= n < len(offsets) = 3; got True."),
    ([0, 1, 2], "1", "`n` must be an integer with 0 <= n < len(offsets) = 3; got '1'."),
    ([0, 1, 2], None, "`n` must be an integer with 0 <= n < len(offsets) = 3; got None."),
    (
        [0, 1, 2],
        np.float64(1),
        "`n` must be an integer with 0 <= n < len(offsets) = 3; got np.float64(1.0).",
    ),
    ([0, 1], np.int64(2), "`n` must be an integer with 0 <= n < len(offsets) = 2; got 2."),
    (
        [*range(30), 0],
        1,
        "`offsets` must be distinct (no repeated offset); "
        "got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16....",
    ),
]

TYPE_ERRORS = [
    ([1j, 0], "`offsets` must be real, not complex; got [1j, 0]."),
    (
        np.array([0, 1], dtype=complex),
        "`offsets` must be real, not complex; got array([0.+0.j, 1.+0.j]).",
    ),
    (["a", "b"], "`offsets` must be a real array_like of numbers; got ['a', 'b']."),
    ([0, None], "`offsets` must be a real array_like of numbers; got [0, None]."),
    ([[0, 1], [2]], "`offsets` must be a real array_like; got [[0, 1], [2]]."),
]


@pytest.mark.parametrize(("offsets", "n", "message"), VALUE_ERRORS)
def test_bad_argument_raises_value_error_with_exact_message(offsets, n, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        fastdiff.fd_weights(offsets, n)


@pytest.mark.parametrize(("offsets", "message"), TYPE_ERRORS)
def test_non_real_offsets_raise_type_error_with_exact_message(offsets, message):
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        fastdiff.fd_weights(offsets, 0)


def test_complex_is_rejected_even_with_zero_imaginary_part():
    with pytest.raises(TypeError, match="must be real, not complex"):
        fastdiff.fd_weights([0 + 0j, 1 + 0j], 1)


def test_validation_does_not_modify_the_input():
    offsets = np.array([0.0, 1.0, 1.0])
    with pytest.raises(ValueError):
        fastdiff.fd_weights(offsets, 1)
    np.testing.assert_array_equal(offsets, [0.0, 1.0, 1.0])


def test_integer_like_n_is_accepted():
    for n in (1, np.int64(1), np.int8(1), np.uint32(1)):
        np.testing.assert_array_equal(fastdiff.fd_weights([0, 1], n), [-1.0, 1.0])


def test_n_has_default_one():
    np.testing.assert_array_equal(fastdiff.fd_weights([0, 1]), [-1.0, 1.0])


@pytest.mark.parametrize("value", [0.0, 3, np.float32(1.5), [1, 2], [[1.0], [2.0]]])
def test_check_real_array_keeps_the_shape(value):
    # Regression: np.ascontiguousarray turned 0-d input into shape (1,), so a scalar `offsets`
    # was silently accepted as a one-point stencil.
    from fastdiff._validation import check_real_array

    arr = check_real_array("x", value)
    assert arr.shape == np.shape(value)
    assert arr.dtype == np.float64
    assert arr.flags.c_contiguous
