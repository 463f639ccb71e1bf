"""Write a Titanic-like passenger table: the kind of CSV people really have.

Numbers (Pclass, Age, SibSp, Parch, Fare), text categories (Sex, Embarked), empty cells (Age,
Fare, Cabin, Embarked), an id column (PassengerId), free text (Name), a high-cardinality code
(Ticket), a date (Boarded) and the target (Survived, 0/1).  Survival depends on sex, class, age
and fare, with noise, so that a model has something real to learn.

    python examples/titanic_like.py passengers.csv [--rows 1200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

FIRST = ["John", "Mary", "William", "Anna", "James", "Elizabeth", "George", "Margaret",
         "Thomas", "Helen", "Charles", "Alice", "Frederick", "Edith", "Arthur", "Florence"]
LAST = ["Smith", "Brown", "Johnson", "Andersson", "Williams", "Sage", "Goodwin", "Carter",
        "Skoog", "Panula", "Rice", "Fortune", "Asplund", "Baclini", "Ford", "Harper"]


def titanic_like(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    """The passenger table as a DataFrame (text cells as Python strings, gaps as None/NaN)."""
    rng = np.random.default_rng(seed)
    pclass = rng.choice([1, 2, 3], size=rows, p=[0.24, 0.21, 0.55])
    female = rng.random(rows) < 0.36
    age = np.clip(rng.normal(30 - 4 * (pclass - 2), 13, rows), 0.5, 80).round(1)
    sibsp = rng.poisson(0.5, rows)
    parch = rng.poisson(0.4, rows)
    fare = (rng.lognormal(np.log([1, 80, 20, 9])[pclass], 0.5)).round(2)
    embarked = rng.choice(["S", "C", "Q"], size=rows, p=[0.72, 0.19, 0.09]).astype(object)
    logit = (2.4 * female - 1.0 * (pclass - 2) - 0.03 * (age - 30) + 0.004 * fare
             - 0.3 * sibsp + 0.4 * (embarked == "C") - 0.6)
    survived = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    title = np.where(female, np.where(age < 18, "Miss.", "Mrs."),
                     np.where(age < 14, "Master.", "Mr."))
    names = [f"{LAST[i]}, {t} {FIRST[j]}" for i, t, j in
             zip(rng.integers(len(LAST), size=rows), title, rng.integers(len(FIRST), size=rows))]
    cabin = np.array([f"{'ABCDEFG'[rng.integers(7)]}{rng.integers(1, 130)}"
                      for _ in range(rows)], dtype=object)
    cabin[(pclass > 1) | (rng.random(rows) < 0.3)] = None
    boarded = pd.Timestamp("1912-04-10") + pd.to_timedelta(rng.integers(0, 2, rows), unit="D")
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, rows + 1),
        "Survived": survived,
        "Pclass": pclass,
        "Name": names,
        "Sex": np.where(female, "female", "male"),
        "Age": age,
        "SibSp": sibsp,
        "Parch": parch,
        "Ticket": [f"{rng.choice(['', 'PC ', 'A/5 ', 'STON/O2. '])}{rng.integers(1000, 400000)}"
                   for _ in range(rows)],
        "Fare": fare,
        "Cabin": cabin,
        "Embarked": embarked,
        "Boarded": boarded.strftime("%Y-%m-%d"),
    })
    frame.loc[rng.random(rows) < 0.2, "Age"] = np.nan
    frame.loc[rng.random(rows) < 0.01, "Fare"] = np.nan
    frame.loc[rng.random(rows) < 0.005, "Embarked"] = None
    return frame


def main() -> None:
    """Write the table to the path given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    titanic_like(args.rows, args.seed).to_csv(args.path, index=False)
    print(f"wrote {args.path}: {args.rows} passengers")


if __name__ == "__main__":
    main()
