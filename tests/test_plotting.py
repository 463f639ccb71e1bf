"""Learning-curve plots and history tables."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import backprop as bp

HISTORY = {"loss": [0.9, 0.5, 0.3], "accuracy": [0.6, 0.8, 0.9], "val_loss": [1.0, 0.6, 0.45],
           "val_accuracy": [0.55, 0.75, 0.85], "lr": [0.01, 0.01, 0.005]}


def curves(ax):
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
            for line in ax.get_lines()}


def test_plot_history_draws_train_and_validation_per_metric(tmp_path):
    path = tmp_path / "curves.png"
    fig = bp.plot_history(HISTORY, path, title="run 1")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    assert curves(loss_ax) == {"train": ([1, 2, 3], HISTORY["loss"]),
                               "validation": ([1, 2, 3], HISTORY["val_loss"])}
    assert curves(acc_ax)["validation"][1] == HISTORY["val_accuracy"]
    assert fig.get_suptitle() == "run 1"
    image = imread(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[1] > image.shape[0] > 100  # two panels side by side


def test_plot_from_a_real_history_and_other_formats(tmp_path, rng):
    X = rng.normal(size=(40, 2))
    net = bp.mlp([2, 4, 1], output="linear", seed=0)
    history = net.fit(X, X[:, 0], epochs=4, verbose=0, validation_split=0.25, seed=0)
    fig = bp.plot_history(history, tmp_path / "c.svg")
    assert [ax.get_title() for ax in fig.axes] == ["loss"]  # regression: the loss only
    assert curves(fig.axes[0])["train"][1] == pytest.approx(history["loss"])
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    bp.plot_history(history, tmp_path / "c.pdf")
    assert (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_errors_write_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"cannot save a plot as '.*c\.xyz': use one of"):
        bp.plot_history(HISTORY, tmp_path / "c.xyz")
    with pytest.raises(FileNotFoundError, match="folder .*missing does not exist"):
        bp.plot_history(HISTORY, tmp_path / "missing" / "c.png")
    with pytest.raises(ValueError, match="history is empty"):
        bp.plot_history({"loss": []})
    with pytest.raises(ValueError, match="different lengths"):
        bp.plot_history({"loss": [1.0], "val_loss": [1.0, 2.0]})
    with pytest.raises(TypeError, match="history must be a History or a dict"):
        bp.plot_history([1, 2])
    assert list(tmp_path.iterdir()) == []


def test_history_csv_round_trips(tmp_path):
    path = tmp_path / "h.csv"
    bp.save_history_csv({**HISTORY, "val_r2": [0.1, float("nan"), 0.3]}, path)
    table = pd.read_csv(path)
    assert list(table.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                   "val_r2"]
    assert table["epoch"].tolist() == [1, 2, 3]
    assert table["val_accuracy"].tolist() == HISTORY["val_accuracy"]  # exact floats
    assert np.isnan(table["val_r2"][1])


def test_the_cli_accepts_every_format_matplotlib_writes():
    import argparse

    from backprop.cli.args import plot_path as _plot_path
    from backprop.plotting import plot_formats

    formats = plot_formats()
    assert {"png", "pdf", "svg"} <= set(formats)
    for ext in formats:
        assert _plot_path(f"curves.{ext}") == f"curves.{ext}"
    with pytest.raises(argparse.ArgumentTypeError, match=r"end it in one of .*\.png"):
        _plot_path("curves.bmpx")
