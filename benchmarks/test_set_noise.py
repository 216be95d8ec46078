"""How much of the seed-to-seed spread of paired differences is test-set sampling: a chapter's children, each
scored on the images its runs were tested on (the last epoch's ``test_acc``) and on the whole CIFAR-10 test split,
then every pair of mask methods compared over seeds both ways.

Usage: python benchmarks/test_set_noise.py [--chapter 06] [--profile cpu] [--out FILE.csv]

Reads the chapter's last plan stage from the run cache (``BOOK_RUNS_DIR``; nothing is trained) and prints, per
setting (the labels other than method and seed) and pair of methods, the sd over seeds of the paired difference of
test accuracy on the small test set and on the whole split; then the median ratio of the two sds and the ratio of
the mean variances. Each run is evaluated once (its final weights on 10,000 images).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lib import runs  # noqa: E402
from lib.chapters import registry  # noqa: E402
from lib.data import DataConfig, load_data  # noqa: E402
from lib.train import eval_batch_size, evaluate  # noqa: E402


def scores(chapter: str, profile: str) -> pd.DataFrame:
    """One row per child of the chapter's last stage: its labels, ``small`` (test accuracy on its runs' test
    images) and ``full`` (on the whole test split), and how many images each is over."""
    last = registry.plan(chapter, profile=profile)[-1]
    rows, data = [], {}
    t0 = time.perf_counter()
    for i, p in enumerate(last, 1):
        cfg = p.config
        run = runs.load(cfg, chapter=chapter)
        key = (cfg.data.dataset, cfg.data.seed)
        if key not in data:
            data[key] = load_data(DataConfig(cfg.data.dataset, cfg.data.n_train, 0, seed=cfg.data.seed))
        d = data[key]
        model = run.load_model()
        _, full = evaluate(model, d.x_test, d.y_test, batch_size=eval_batch_size(cfg.model.arch, "cpu"))
        small = float(run.metrics.sort_values("epoch").iloc[-1]["test_acc"])
        rows.append({**p.labels, "small": small, "full": full, "n_small": cfg.data.n_test, "n_full": len(d.y_test)})
        print(f"[{i}/{len(last)}] {p.labels}: {small:.4f} on {cfg.data.n_test:,d}, {full:.4f} on {len(d.y_test):,d} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return pd.DataFrame(rows)


def pair_sds(df: pd.DataFrame) -> pd.DataFrame:
    """Per setting and pair of methods: seeds, and the sd over seeds of the paired difference on each test set."""
    setting = [c for c in df.columns if c not in ("method", "seed", "small", "full", "n_small", "n_full")]
    out = []
    for key, g in df.groupby(setting, sort=True, dropna=False):
        wide = g.pivot_table(index="seed", columns="method", values=["small", "full"])
        for a, b in itertools.combinations(sorted(g["method"].unique()), 2):
            both = wide[[("small", a), ("small", b), ("full", a), ("full", b)]].dropna()
            if len(both) < 2:
                continue
            ds = both[("small", a)] - both[("small", b)]
            df_ = both[("full", a)] - both[("full", b)]
            out.append({**dict(zip(setting, key if isinstance(key, tuple) else (key,))), "a": a, "b": b,
                        "seeds": len(both), "sd_small": float(ds.std()), "sd_full": float(df_.std()),
                        "mean_small": float(ds.mean()), "mean_full": float(df_.mean())})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapter", default="06")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--out", type=Path, help="also write the per-run scores to this CSV")
    a = ap.parse_args(argv)
    df = scores(a.chapter, a.profile)
    if a.out:
        df.to_csv(a.out, index=False)
    sds = pair_sds(df)
    pd.set_option("display.width", 200)
    print(sds.round(4).to_string(index=False))
    for col in [c for c in ("arch",) if c in sds.columns] or [None]:
        groups = sds.groupby(col) if col else [("all", sds)]
        for name, g in groups:
            ratio = np.median(g["sd_full"] / g["sd_small"])
            var = (g["sd_full"] ** 2).mean() / (g["sd_small"] ** 2).mean()
            print(f"{name}: {len(g)} pairs; median sd of the paired differences {g['sd_small'].median():.4f} on the "
                  f"small test set, {g['sd_full'].median():.4f} on the whole split (median ratio {ratio:.2f}); mean "
                  f"variance ratio {var:.2f}, so {1 - var:.0%} of the variance was test-set sampling")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
