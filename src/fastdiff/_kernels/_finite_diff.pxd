# What other kernel modules call of _finite_diff without a Python call: the compiled scalar
# path of derivative() (fastdiff._kernels._dual.derivative, the public entry, tries it first).
cdef object scalar_derivative(object f, object x, object n, object method, object order,
                              object step, object rtol, object atol, object bounds,
                              object vectorized, object args, object kwargs, object noise)
