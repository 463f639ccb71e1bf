"""The founding note's figure, drawn for your own network on your own rows.

One column per layer: the forward function on top (blue) takes a[l-1] to a[l] and caches z[l]
(dashed line down); the backward function below (blue) takes da[l] to da[l-1], dW[l] and db[l].
Inputs are yellow (X, and the output gradient), inner outputs green (a[l], da[l-1]), outputs
red (the prediction, dW, db, dJ/dX), as in the note.  Every box holds the real shapes for the
given batch and a summary of the real values (norm, mean, standard deviation); the fused output
gradient ``dz = (a - y) / m`` is marked.  The arrays come from :meth:`Sequential.trace`
(:mod:`backprop.nn.trace`); ``backprop explain --text`` prints the same trace.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from backprop._utils import optional_import
from backprop.nn.sequential import Sequential
from backprop.nn.trace import LayerTrace, Trace
from backprop.saving.atomic import atomic_write

__all__ = ["plot_backprop", "COLORS"]

#: The note's colours: functions, inputs, inner outputs, outputs.
COLORS = {"function": "#cfe2ff", "input": "#fff3b0", "inner": "#c8f0c8", "output": "#f8c8c8",
          "edge": "#1f4e9c"}


def _norm(arr: np.ndarray | None) -> str:
    if arr is None:
        return ""
    x = np.asarray(arr, dtype=np.float64)
    return f"‖·‖ {np.linalg.norm(x):.3g}\nμ {x.mean():.2g}  σ {x.std():.2g}"


def _shape(arr: np.ndarray | None) -> str:
    return "" if arr is None else "(" + ", ".join(map(str, arr.shape)) + ")"


def _title(t: LayerTrace) -> str:
    shape_in = "×".join(map(str, t.a_prev.shape[1:]))
    shape_out = "×".join(map(str, t.a.shape[1:]))
    return f"{t.index}: {t.name} {shape_in}→{shape_out}"


def _forward_text(t: LayerTrace) -> str:
    k = t.index
    if t.z is None:
        return f"{_title(t)}\na[{k}] = {t.name.lower()}(a[{k - 1}])"
    return (f"{_title(t)}\nz[{k}] = a[{k - 1}]W[{k}] + b[{k}]\n"
            f"a[{k}] = {t.activation}(z[{k}])")


def _backward_text(t: LayerTrace, fused: str | None, last: bool) -> str:
    k = t.index
    lines = [f"{t.index}: {t.name} backward"]
    if t.z is not None:
        lines.append(f"dz[{k}] = (a[{k}] − y)/m" if (last and fused)
                     else f"dz[{k}] = da[{k}]·f′(z[{k}])")
        for name in t.grads:
            lines.append(f"d{name}[{k}] = a[{k - 1}]ᵀdz[{k}]" if name == "W" else
                         f"d{name}[{k}] = Σ dz[{k}]" if name == "b" else f"d{name}[{k}]")
        lines.append(f"da[{k - 1}] = dz[{k}]W[{k}]ᵀ")
    else:
        lines.append(f"da[{k - 1}] from da[{k}]")
        lines.extend(f"d{name}[{k}]" for name in t.grads)
    return "\n".join(lines)


def plot_backprop(net: Sequential, X: Any, y: Any, path: str | os.PathLike[str] | None = None,
                  title: str | None = None, dpi: int = 110) -> Any:
    """Draw the note's forward/backward figure for ``net`` on the rows ``X``, ``y``.

    Parameters
    ----------
    net : Sequential (a Network)
    X, y : a batch of inputs and targets, as ``fit`` takes them (a few dozen rows is plenty)
    path : str or path-like, optional
        Write the figure there, atomically (``.svg``, ``.png``, ``.pdf`` ...).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    return draw_trace(net.trace(X, y), path, title, dpi)


def draw_trace(trace: Trace, path: str | os.PathLike[str] | None = None,
               title: str | None = None, dpi: int = 110) -> Any:
    """Draw a :class:`~backprop.nn.trace.Trace` (see :func:`plot_backprop`)."""
    FigureCanvasAgg = optional_import("matplotlib.backends.backend_agg").FigureCanvasAgg
    Figure = optional_import("matplotlib.figure").Figure
    patches = optional_import("matplotlib.patches")
    fmt = None
    if path is not None:
        fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
        supported = sorted(FigureCanvasAgg.get_supported_filetypes())
        if fmt not in supported:
            raise ValueError(f"cannot save a figure as {os.fspath(path)!r}: use one of the "
                             f"extensions {supported}")
    layers = trace.layers
    L = len(layers)
    S = 2.2  # column spacing: a box is 1.6 wide, an arrow spans the 0.6 between boxes
    fig = Figure(figsize=(1.55 * S * (L + 2), 8.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 0.93))
    ax.set_xlim(-0.9, S * (L + 1) + 1.1)
    ax.set_ylim(-0.3, 7.6)
    ax.axis("off")
    font = 7.5 if L <= 8 else 6.5

    def box(x: float, y: float, w: float, h: float, text: str, color: str) -> None:
        ax.add_patch(patches.FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLORS[color], edgecolor=COLORS["edge"], linewidth=1.0))
        ax.text(x, y, text, ha="center", va="center", fontsize=font)

    def arrow(x0: float, y0: float, x1: float, y1: float, dashed: bool = False) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": COLORS["edge"], "lw": 1.1,
                                "linestyle": "--" if dashed else "-",
                                "shrinkA": 0, "shrinkB": 0})

    top, bottom, grad_y = 5.5, 2.65, 0.3
    bw, fh, bh = 1.6, 1.2, 1.55  # box width, forward and backward box heights
    first, last = layers[0], layers[-1]
    box(0, top, bw, 1.2, f"X = a[0]\n{_shape(first.a_prev)}\n{_norm(first.a_prev)}", "input")
    box(0, bottom, bw, 1.2, f"da[0] = ∂J/∂X\n{_shape(first.da_prev)}\n"
        f"{_norm(first.da_prev)}", "output")
    for i, t in enumerate(layers):
        x = S * (i + 1)
        box(x, top, bw, fh, _forward_text(t), "function")
        arrow(x - S + bw / 2, top, x - bw / 2, top)  # a[l-1] into the forward function
        kind = "output" if i == L - 1 else "inner"
        box(x + S / 2, top + 1.25, 1.35, 0.8, f"a[{t.index}] {_shape(t.a)}\n{_norm(t.a)}",
            kind)
        if t.z is not None:  # the cache, the note's dashed line
            arrow(x, top - fh / 2, x, bottom + bh / 2, dashed=True)
            ax.text(x + 0.06, (top + bottom) / 2 + 0.1, f"cache z[{t.index}]\n{_shape(t.z)}"
                    f"\n{_norm(t.z)}", fontsize=font - 0.5, va="center", ha="left",
                    color=COLORS["edge"])
        box(x, bottom, bw, bh, _backward_text(t, trace.fused, i == L - 1), "function")
        arrow(x - bw / 2, bottom, x - S + bw / 2, bottom)  # da[l-1] out, to the left
        if i > 0:
            box(x - S / 2, bottom - 1.3, 1.35, 0.72,
                f"da[{t.index - 1}] {_shape(t.da_prev)}\n{_norm(t.da_prev)}", "inner")
        if t.grads:
            text = "\n".join(f"d{n}[{t.index}] {_shape(g)}\n‖·‖ {np.linalg.norm(g):.3g}"
                             for n, g in t.grads.items())
            box(x, grad_y, bw, 0.85, text, "output")
            arrow(x, bottom - bh / 2, x, grad_y + 0.425)
    out_x = S * (L + 1)
    box(out_x, top, bw, 1.2, f"ŷ = a[{L}]\nJ = {trace.cost:.4g}\n({trace.loss})", "output")
    arrow(out_x - S + bw / 2, top, out_x - bw / 2, top)
    if trace.fused:
        start = (f"dz[{L}] = (a[{L}] − y)/m\nfused {trace.fused} + {trace.loss}\n"
                 f"{_shape(last.dz)}\n{_norm(last.dz)}")
    else:
        start = f"da[{L}] = ∂J/∂a[{L}]\n{_shape(last.da)}\n{_norm(last.da)}"
    box(out_x, bottom, bw + 0.2, 1.45, start, "input")
    arrow(out_x - (bw + 0.2) / 2, bottom, out_x - S + bw / 2, bottom)
    ax.text(-0.8, top + 1.9, "forward propagation", fontsize=font + 2.5, weight="bold")
    ax.text(-0.8, bottom + 1.3, "backward propagation", fontsize=font + 2.5, weight="bold")
    handles = [patches.Patch(facecolor=COLORS[k], edgecolor=COLORS["edge"], label=label)
               for k, label in (("function", "forward / backward function"),
                                ("input", "input"), ("inner", "inner output"),
                                ("output", "output"))]
    ax.legend(handles=handles, loc="upper right", fontsize=font + 0.5, ncol=4, frameon=False,
              bbox_to_anchor=(1.0, 1.0))
    rows = len(trace.y)
    fig.suptitle(title or f"backpropagation through {L} layers on {rows} rows", fontsize=11)
    if path is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
        atomic_write(path, buf.getvalue())
    return fig
