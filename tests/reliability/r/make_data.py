"""Writes the data sets the R script fits (run once: python tests/reliability/r/make_data.py).

rotating.csv: 300 targets, each rated by 2 or 3 of 12 raters who rotate (the platform's design),
true variances target 1.0, rater 0.3, residual 0.5.
oneway_unbalanced.csv: 40 targets with 2 to 5 ratings each (for the one-way ICC with k0).
gstudy_balanced.csv: 10 trainees x 3 sessions x 3 raters with a trainee x rater interaction.
"""
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def rotating(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    raters = [f"r{j:02d}" for j in range(12)]
    r_eff = dict(zip(raters, rng.normal(0, np.sqrt(0.3), 12)))
    rows = []
    for t in range(300):
        t_eff = rng.normal(0, 1.0)
        for r in rng.choice(raters, size=2 + int(rng.random() < 0.25), replace=False):
            rows.append((f"t{t:03d}", r, round(3 + t_eff + r_eff[r] + rng.normal(0, np.sqrt(0.5)), 3)))
    return pd.DataFrame(rows, columns=["target", "rater", "rating"])


def oneway(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(40):
        t_eff = rng.normal(0, 1.0)
        for j in range(int(rng.integers(2, 6))):
            rows.append((f"u{t:02d}", f"x{t % 7 + j}", round(t_eff + rng.normal(0, 0.8), 3)))
    return pd.DataFrame(rows, columns=["target", "rater", "rating"])


def gstudy(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.normal(0, np.sqrt(0.5), 10)
    r = rng.normal(0, np.sqrt(0.1), 3)
    pr = rng.normal(0, np.sqrt(0.15), (10, 3))
    rows = []
    for i in range(10):
        for s in range(3):
            s_eff = rng.normal(0, np.sqrt(0.2))
            for j in range(3):
                rows.append((f"p{i}", f"s{s}", f"r{j}", round(3 + p[i] + s_eff + r[j] + pr[i, j] + rng.normal(0, 0.4), 4)))
    return pd.DataFrame(rows, columns=["trainee", "session", "rater", "score"])


if __name__ == "__main__":
    rotating().to_csv(HERE / "rotating.csv", index=False)
    oneway().to_csv(HERE / "oneway_unbalanced.csv", index=False)
    gstudy().to_csv(HERE / "gstudy_balanced.csv", index=False)
