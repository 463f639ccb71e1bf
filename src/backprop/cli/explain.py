"""``backprop explain``: the founding note's figure (or its text form) for a saved model on
real rows."""

from __future__ import annotations

import argparse

from backprop.cli.args import check_outputs_apart
from backprop.cli.model_commands import model_data
from backprop.diagram import draw_trace
from backprop.model import load
from backprop.nn.trace import format_trace
from backprop.saving import check_destination

__all__ = ["cmd_explain"]


def cmd_explain(args: argparse.Namespace) -> int:
    """Trace one forward and backward pass of MODEL on the first ``--rows`` rows of ``--data``;
    draw it (``--out``) and/or print it (``--text``)."""
    if args.out is None and not args.text:
        raise ValueError("say what to make: --out FIGURE (.svg, .png, .pdf) and/or --text")
    if args.out is not None:
        check_outputs_apart({"--out": args.out}, {"MODEL": args.model, "--data": args.data})
        check_destination(args.out)
    net = load(args.model)
    data, rows = model_data(args, net, need_target=True)
    n = min(args.rows, data.X.shape[0])
    trace = net.trace(data.X[:n], data.y[:n])
    if args.text:
        print(f"backpropagation through {args.model} on the first {n} rows of {rows}")
        print(format_trace(trace))
    if args.out is not None:
        draw_trace(trace, args.out, title=f"{args.model} on {n} rows of {args.data}")
        print(f"saved figure: {args.out}")
    return 0
