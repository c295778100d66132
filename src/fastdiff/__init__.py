"""fastdiff: fast numerical derivatives with honest error estimates."""

from fastdiff import math
from fastdiff._check import check_gradient, check_jacobian
from fastdiff._derivative import derivative
from fastdiff._dualarray import DualArray
from fastdiff._grid import grid_derivative
from fastdiff._kernels._dual import Dual
from fastdiff._multivariate import gradient, hessdiag, hessian, jacobian, jvp
from fastdiff._optimize import DerivativeError, gradient_of, hessian_of, jacobian_of
from fastdiff._plot import plot_steps
from fastdiff._result import Result
from fastdiff._status import Status
from fastdiff._stencils import fd_weights

__version__ = "0.1.0"

__all__ = [
    "DerivativeError",
    "Dual",
    "DualArray",
    "Result",
    "Status",
    "__version__",
    "check_gradient",
    "check_jacobian",
    "derivative",
    "fd_weights",
    "gradient",
    "gradient_of",
    "grid_derivative",
    "hessdiag",
    "hessian",
    "hessian_of",
    "jacobian",
    "jacobian_of",
    "jvp",
    "math",
    "plot_steps",
]
