"""The ``"lbfgs"`` solver: SciPy's L-BFGS-B over the network's flattened parameters.

As scikit-learn's MLP does, the whole training set is one batch: the objective is the network's
cost ``J`` (the mean loss plus the L2 term) and its gradient, both from one forward and backward
pass (:meth:`backprop.nn.Sequential.forward_backward`), with every parameter array laid end to
end in one float64 vector for SciPy.  ``max_iter`` bounds the iterations, ``max_fun`` the cost
evaluations and ``tol`` the projected gradient (SciPy's ``gtol``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.optimize

from backprop.nn.workspace import Workspace

if TYPE_CHECKING:
    from backprop.nn.sequential import Sequential

__all__ = ["LbfgsResult", "minimize_lbfgs"]

Array = np.ndarray


class LbfgsResult(NamedTuple):
    """What one L-BFGS run did."""

    n_iter: int  #: iterations, at most ``max_iter``
    loss: float  #: the cost at the final parameters
    losses: list[float]  #: the cost after each iteration
    converged: bool  #: SciPy reported success (else a limit was reached, or the line search failed)
    message: str  #: SciPy's reason for stopping


class _Objective:
    """``theta -> (J, dJ/dtheta)`` for a network and fixed data; ``theta`` is written into the
    parameter arrays themselves (so the network holds the last point evaluated)."""

    def __init__(self, network: Sequential, X: Any, y: Array, w: Array | None) -> None:
        self.network, self.w = network, w
        self.X = network.check_inputs(X)
        self.y = network.check_targets(y, self.X.shape[0])  # as the loss wants them
        self.params = network.parameters()
        self.bounds = np.cumsum([0] + [p.size for p in self.params])
        self.grad = np.empty(self.bounds[-1], dtype=np.float64)
        self.ws = Workspace()  # one set of arrays for every evaluation

    def pack(self) -> Array:
        """The current parameters as one float64 vector."""
        return np.concatenate([p.ravel() for p in self.params]).astype(np.float64)

    def unpack(self, theta: Array) -> None:
        """Write ``theta`` into the parameter arrays (cast to the network's dtype)."""
        for p, start, stop in zip(self.params, self.bounds, self.bounds[1:]):
            p[...] = theta[start:stop].reshape(p.shape)

    def __call__(self, theta: Array) -> tuple[float, Array]:
        self.unpack(theta)
        # NaN/inf are the line search's to back away from; NumPy's warnings would be noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            J, grads, _, _ = self.network.forward_backward(self.X, self.y, self.w, training=True,
                                                           workspace=self.ws)
        flat = [g for layer in grads for g in layer.values()]
        for g, start, stop in zip(flat, self.bounds, self.bounds[1:]):
            self.grad[start:stop] = g.ravel()
        return float(J), self.grad.copy()


def minimize_lbfgs(network: Sequential, X: Any, y: Array, w: Array | None, *, max_iter: int,
                   max_fun: int, tol: float, verbose: bool) -> LbfgsResult:
    """Train ``network`` in place by L-BFGS-B on ``(X, y, w)`` (``X`` a dense array or a
    sparse CSR matrix; ``w`` checked); ``verbose`` prints the cost after each iteration."""
    objective = _Objective(network, X, y, w)
    losses: list[float] = []

    def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        losses.append(float(intermediate_result.fun))
        if verbose:
            print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}")

    result = scipy.optimize.minimize(
        objective, objective.pack(), method="L-BFGS-B", jac=True, callback=record,
        options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
    )
    objective.unpack(result.x)
    return LbfgsResult(n_iter=min(int(result.nit), max_iter), loss=float(result.fun),
                       losses=losses, converged=bool(result.success),
                       message=str(result.message))
