"""Per-element status codes: a mirror of the C table ``FD_STATUS_TABLE`` in csrc/fastdiff.h."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Status of each element of a :class:`Result`; ``success == (status >= 0)``.

    ====  ==================  ======================================================
    code  name                meaning
    ====  ==================  ======================================================
     0    ``CONVERGED``       converged; the error estimate is trusted
     1    ``DOMAIN_ADAPTED``  f was non-finite somewhere; a smaller or one-sided
                              stencil was used, and its error is trusted
     2    ``BOUNDS_ADAPTED``  the stencil was made one-sided or shrunk to stay
                              inside `bounds`; the error is trusted
    -1    ``NOT_CONVERGED``   the requested `rtol`/`atol` was not met
    -2    ``NO_FINITE``       f was non-finite on every stencil tried
    -3    ``INCONSISTENT``    estimates do not settle as the step shrinks (noise,
                              a kink, aliasing of an oscillation)
    -4    ``COMPLEX_LOST``    complex step: f dropped the imaginary part or is not
                              real-analytic
    ====  ==================  ======================================================
    """

    CONVERGED = 0
    DOMAIN_ADAPTED = 1
    BOUNDS_ADAPTED = 2
    NOT_CONVERGED = -1
    NO_FINITE = -2
    INCONSISTENT = -3
    COMPLEX_LOST = -4
