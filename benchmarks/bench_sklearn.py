"""BackpropClassifier / BackpropRegressor against scikit-learn's MLPClassifier / MLPRegressor.

Each model is a ``Pipeline(StandardScaler, estimator)`` with the same hidden sizes, epochs
(``max_iter``), batch size (``min(200, n)``), learning rate and seed; both stop with the same
``n_iter_no_change``/``tol`` rule.  For every data set the script prints the median fit time over
``--repeats`` runs (the two libraries alternate, so load from other processes hits both alike),
the ratio, the epochs run and the held-out accuracy (R^2 for diabetes).  Fashion-MNIST (a
``--fashion-rows`` subset of the official training split, scored on the 10 000 test images) is
included when its IDX files are found.

Usage: python benchmarks/bench_sklearn.py [--repeats 5] [--epochs 200] [--hidden 64]
       [--fashion-rows 10000] [--fashion-epochs 15] [--data-dir FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backprop.data import DataError, load_dataset
from backprop.sklearn import BackpropClassifier, BackpropRegressor


def pair(task: str, hidden: tuple[int, ...], epochs: int, seed: int):
    """(ours, theirs) with matching hyperparameters."""
    common = dict(hidden_layer_sizes=hidden, random_state=seed)  # batch min(200, n) in both
    if task == "regression":
        return (BackpropRegressor(max_iter=epochs, **common),
                MLPRegressor(max_iter=epochs, **common))
    return (BackpropClassifier(max_iter=epochs, **common),
            MLPClassifier(max_iter=epochs, **common))


def bench(name, X_train, X_test, y_train, y_test, task, hidden, epochs, repeats):
    """Print one row per library."""
    times: dict[str, list[float]] = {"backprop": [], "sklearn": []}
    results = {}
    for rep in range(repeats):
        for label, est in zip(times, pair(task, hidden, epochs, seed=rep)):
            model = make_pipeline(StandardScaler(), est)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            times[label].append(time.perf_counter() - start)
            if rep == 0:  # seed 0: the score reported
                results[label] = (model.score(X_test, y_test), est.n_iter_)
    ours, theirs = (statistics.median(times[k]) for k in times)
    metric = "R^2" if task == "regression" else "accuracy"
    for label in times:
        score, n_iter = results[label]
        median = statistics.median(times[label])
        print(f"{name:<15} {label:<9} {median:>9.3f} s  epochs {n_iter:>4}  test {metric} "
              f"{score:.4f}")
    print(f"{'':<15} {'ratio':<9} {ours / theirs:>9.2f}    (backprop time / sklearn time)")


def main() -> None:
    """Run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", default="64", help="comma-separated hidden layer sizes")
    parser.add_argument("--fashion-rows", type=int, default=10000)
    parser.add_argument("--fashion-epochs", type=int, default=15)
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX folder")
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    warnings.simplefilter("ignore", ConvergenceWarning)  # both libraries warn at max epochs

    print(f"hidden={hidden} epochs<={args.epochs} batch_size=min(200, n) adam lr=1e-3, median of "
          f"{args.repeats} fits (seeds 0..{args.repeats - 1}); scores of seed 0 on a 25% split")
    for name, loader, task in [("breast_cancer", load_breast_cancer, "classification"),
                               ("digits", load_digits, "classification"),
                               ("wine", load_wine, "classification"),
                               ("diabetes", load_diabetes, "regression")]:
        X, y = loader(return_X_y=True)
        split = train_test_split(X, y, test_size=0.25, random_state=0,
                                 stratify=None if task == "regression" else y)
        bench(name, *split, task, hidden, args.epochs, args.repeats)

    try:
        data = load_dataset("fashion-mnist", data_dir=args.data_dir)
    except DataError as exc:
        print(f"fashion-mnist skipped: {exc}")
        return
    train, test = data.split
    rows = np.random.default_rng(0).permutation(train)[: args.fashion_rows]
    bench(f"fashion[{len(rows)}]", data.X[rows], data.X[test], data.y[rows], data.y[test],
          "classification", (128,), args.fashion_epochs, max(1, args.repeats // 2))


if __name__ == "__main__":
    main()
