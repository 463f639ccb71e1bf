"""What sniffing a CSV file's dialect costs: ``read_table`` (sniffed) against pyarrow told the
delimiter, decimal mark and encoding, on the same numbers written three ways.

    python benchmarks/bench_csv_dialect.py [--rows 200000] [--cols 20] [--repeat 3]

Prints, per file: its size, the sniff alone, pyarrow's read told the dialect, ``read_table``
sniffing it, and the ratio of the last two (best of ``--repeat``).  Timings are noisy on a
shared machine; the sniff reads 256 KiB whatever the file's size.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow.csv as pv

from backprop.data import read_table
from backprop.data.csv_dialect import sniff

#: name -> (to_csv arguments, the dialect pyarrow is told)
FILES = {
    "comma, UTF-8": ({"sep": ",", "decimal": ".", "encoding": "utf-8"}, (",", ".", "utf8")),
    "semicolon, decimal comma, UTF-8 BOM": (
        {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"}, (";", ",", "utf8")),
    "tab, decimal comma, UTF-16": (
        {"sep": "\t", "decimal": ",", "encoding": "utf-16"}, ("\t", ",", "utf-16")),
}


def best(fn, repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``fn()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Write the files, time the reads, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(args.rows, args.cols)).round(6),
                      columns=[f"x{j}" for j in range(args.cols)])
    df["label"] = rng.choice(["a", "b"], size=args.rows)
    print(f"{args.rows} rows x {args.cols + 1} columns, best of {args.repeat}")
    print(f"{'file':38} {'MB':>6} {'sniff s':>8} {'pyarrow s':>10} {'read_table s':>13} "
          f"{'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for name, (how, (sep, decimal, encoding)) in FILES.items():
            path = os.path.join(folder, "data.csv")
            df.to_csv(path, index=False, **how)

            def told(path=path, sep=sep, decimal=decimal, encoding=encoding):
                return pv.read_csv(path, read_options=pv.ReadOptions(use_threads=False,
                                                                     encoding=encoding),
                                   parse_options=pv.ParseOptions(delimiter=sep),
                                   convert_options=pv.ConvertOptions(
                                       decimal_point=decimal,
                                       strings_can_be_null=True)).to_pandas()

            got = read_table(path)
            assert got.shape == df.shape and np.array_equal(got["x0"].to_numpy(),
                                                            df["x0"].to_numpy())
            t_sniff = best(lambda path=path: sniff(path), args.repeat)
            t_told = best(told, args.repeat)
            t_read = best(lambda path=path: read_table(path), args.repeat)
            size = os.path.getsize(path) / 1e6
            print(f"{name:38} {size:6.1f} {t_sniff:8.4f} {t_told:10.3f} {t_read:13.3f} "
                  f"{t_read / t_told:6.2f}")


if __name__ == "__main__":
    main()
