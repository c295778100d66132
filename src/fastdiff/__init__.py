"""fastdiff: fast numerical derivatives with honest error estimates."""

from fastdiff import math
from fastdiff._derivative import derivative
from fastdiff._kernels._dual import Dual
from fastdiff._multivariate import gradient, hessdiag, hessian, jacobian, jvp
from fastdiff._optimize import DerivativeError, gradient_of, hessian_of, jacobian_of
from fastdiff._result import Result
from fastdiff._status import Status
from fastdiff._stencils import fd_weights

__version__ = "0.1.0"

__all__ = [
    "DerivativeError",
    "Dual",
    "Result",
    "Status",
    "__version__",
    "derivative",
    "fd_weights",
    "gradient",
    "gradient_of",
    "hessdiag",
    "hessian",
    "hessian_of",
    "jacobian",
    "jacobian_of",
    "jvp",
    "math",
]
