"""Reports of a training run's :class:`~backprop.train.History`: learning-curve plots
(matplotlib, Agg backend, no window) and a CSV table, both written atomically."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from typing import Any

from backprop._utils import optional_import
from backprop.saving.atomic import atomic_write

__all__ = ["plot_history", "save_history_csv", "plot_gradient_flow"]

#: Keys that are bookkeeping rather than metrics; not plotted.
_SKIP = ("lr",)


def _as_dict(history: Any) -> dict[str, list[float]]:
    """``History`` or a mapping of metric name -> per-epoch values, validated."""
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"history must be a History or a dict of lists, got "
                        f"{type(history).__name__}")
    out = {str(k): [float(v) for v in vals] for k, vals in data.items()}
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise ValueError(f"history metrics have different lengths: "
                         f"{ {k: len(v) for k, v in out.items()} }")
    if not out or not lengths.pop():
        raise ValueError("history is empty: no finished epoch to report")
    return out


def _panels(data: dict[str, list[float]]) -> list[str]:
    """Base metric names in panel order: loss first, then the others as they appear."""
    bases = []
    for key in data:
        base = key[4:] if key.startswith("val_") else key
        if base not in bases and base not in _SKIP:
            bases.append(base)
    return sorted(bases, key=lambda b: b != "loss")


def plot_formats() -> list[str]:
    """The file extensions matplotlib's Agg canvas can write (``"png"``, ``"pdf"``, ...);
    raises ``ImportError`` with install instructions when matplotlib is missing."""
    canvas = optional_import("matplotlib.backends.backend_agg").FigureCanvasAgg
    return sorted(canvas.get_supported_filetypes())


def plot_history(
    history: Any,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    dpi: int = 100,
) -> Any:
    """Draw learning curves: one panel per metric (loss first, then accuracy or any other
    metric), training and validation curves together, epochs from 1.

    Parameters
    ----------
    history : History or dict of str -> list of float
        E.g. the return value of :meth:`Network.fit`; keys ``loss``, ``val_loss``,
        ``accuracy``, ``val_accuracy`` ... (``lr`` is not drawn).
    path : str or path-like, optional
        Write the figure there, atomically; the format follows the extension (``.png``,
        ``.svg``, ``.pdf`` ...).  Its folder must exist.
    title : str, optional
        Figure title.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    matplotlib.figure.Figure
        Made without pyplot (no window, no global state), so it works on headless machines.
    """
    FigureCanvasAgg = optional_import("matplotlib.backends.backend_agg").FigureCanvasAgg
    Figure = optional_import("matplotlib.figure").Figure

    data = _as_dict(history)
    panels = _panels(data)
    if not panels:
        raise ValueError(f"history has no metric to plot (keys: {sorted(data)})")
    fmt = _format(path)
    fig = Figure(figsize=(5.2 * len(panels), 3.8), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    n = len(next(iter(data.values())))
    epochs = range(1, n + 1)
    for ax, base in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        for key, label, style in ((base, "train", "-"), (f"val_{base}", "validation", "--")):
            if key in data:
                ax.plot(epochs, data[key], style, marker="o" if n <= 30 else None,
                        markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(base)
        ax.set_title(base)
        ax.grid(True, alpha=0.3)
        ax.legend()
        if n <= 12:
            ax.set_xticks(list(epochs))
    if title:
        fig.suptitle(title)
    _save(fig, path, fmt)
    return fig


def save_history_csv(history: Any, path: str | os.PathLike[str]) -> None:
    """Write the history to ``path`` as CSV, atomically: a header ``epoch,loss,...``, then one
    row per epoch (``epoch`` from 1; floats in their shortest exact form, empty when NaN or
    infinite)."""
    data = _as_dict(history)
    n = len(next(iter(data.values())))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["epoch", *data])
    for i in range(n):
        writer.writerow([i + 1, *(repr(v[i]) if math.isfinite(v[i]) else ""
                                  for v in data.values())])
    atomic_write(path, buf.getvalue())


def plot_gradient_flow(flow: Any, path: str | os.PathLike[str] | None = None,
                       title: str | None = None, dpi: int = 100) -> Any:
    """Draw a :class:`~backprop.train.GradientFlow` record: each layer's gradient norm per
    epoch (epoch 0: before training) and its weight-update ratio, both on log scales, one
    line per layer, so that vanishing gradients show as a fan of lines decades apart.

    Returns the matplotlib Figure; with ``path``, written there atomically.
    """
    FigureCanvasAgg = optional_import("matplotlib.backends.backend_agg").FigureCanvasAgg
    Figure = optional_import("matplotlib.figure").Figure
    if not getattr(flow, "layers", None):
        raise ValueError("the gradient flow is empty: use the callback in a fit first")
    fmt = _format(path)
    fig = Figure(figsize=(10.4, 3.9), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    cmap = optional_import("matplotlib").colormaps["viridis"]
    n = len(flow.layers)
    for k, name in enumerate(flow.layers):
        color = cmap(k / max(n - 1, 1))
        norms = flow.grad_norms[name]
        left.semilogy(range(len(norms)), norms, marker="o", markersize=3, color=color,
                      label=f"layer {name}")
        ratios = flow.update_ratios[name]
        if ratios:
            right.semilogy(range(1, len(ratios) + 1), ratios, marker="o", markersize=3,
                           color=color, label=f"layer {name}")
    left.set(xlabel="epoch (0: before training)", ylabel="‖dJ/dW‖", title="gradient norm")
    right.set(xlabel="epoch", ylabel="‖ΔW‖ / ‖W‖", title="weight-update ratio")
    ticker = optional_import("matplotlib.ticker")
    for ax in (left, right):
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path, fmt)
    return fig


def _format(path: str | os.PathLike[str] | None) -> str | None:
    """The image format of ``path`` (its extension), checked against matplotlib's."""
    if path is None:
        return None
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    supported = plot_formats()
    if fmt not in supported:
        raise ValueError(f"cannot save a plot as {os.fspath(path)!r}: use one of the "
                         f"extensions {sorted(supported)}")
    return fmt


def _save(fig: Any, path: str | os.PathLike[str] | None, fmt: str | None) -> None:
    if path is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
        atomic_write(path, buf.getvalue())
