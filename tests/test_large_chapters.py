"""Tests of lib.chapters.large (chapter 6's analysis) and of chapter 7's conclusions table, on hand-made
result, layer and verdict tables (no training)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import lib.profiles
from lib.chapters import ch06_pruning_large as ch6
from lib.chapters import conclusions_tables as ct
from lib.chapters import large as lc
from lib.chapters.thesis import PRUNE_TABLES
from lib.chapters.verdicts import Verdict


def results(acc: dict[str, list[float]], train: float = 0.9) -> pd.DataFrame:
    """A prune_large-like results frame: one row per (method, seed) with the given test accuracies."""
    rows = [{"method": m, "seed": s, "train_acc": train, "test_acc": a} for m, accs in acc.items()
            for s, a in enumerate(accs)]
    return pd.DataFrame(rows)


def layers(kept: dict[str, list[int]], sizes: list[int], seeds=(0, 1)) -> pd.DataFrame:
    """A layer_table-like frame: per method and seed the kept counts of tensors of ``sizes``."""
    rows = []
    for m, ks in kept.items():
        for s in seeds:
            for d, (k, n) in enumerate(zip(ks, sizes)):
                rows.append({"method": m, "seed": s, "layer": f"l{d}.weight", "group": "conv", "depth": d,
                             "size": n, "kept": k, "fraction_kept": k / n})
    return pd.DataFrame(rows)


BASE = {"none": [0.80, 0.82], "random": [0.70, 0.72], "magnitude_best": [0.75, 0.77],
        "magnitude_worst": [0.74, 0.76], "coherence_best": [0.60, 0.62], "coherence_worst": [0.50, 0.52]}


def test_base_config_uses_chapter6_optimisers():
    p = lib.profiles.get("cpu")
    r, v = lc.base_config(p, "resnet_small"), lc.base_config(p, "vit_tiny", epochs=3)
    assert (r.optim.name, r.optim.lr, r.epochs) == ("sgd", p.prune_cnn_lr, p.prune_epochs)
    assert (v.optim.name, v.optim.lr, v.epochs) == ("adam", p.vit_lr, 3)
    assert r.stats.every >= 1  # diff masks need the parent's statistics
    assert lc.scope_floor("global", 0.02) == 0.02 and lc.scope_floor("layer", 0.02) == 0.0


def test_results_table_follows_thesis_order_with_mean_and_sd():
    df = lc.results_table(results(BASE), "resnet", "global")
    assert list(df["method"]) == list(PRUNE_TABLES[("resnet", "global")])
    row = df.set_index("method").loc["magnitude_best"]
    assert row["test_acc"] == pytest.approx(0.76) and row["test_sd"] == pytest.approx(0.0141421, rel=1e-4)
    assert row["thesis_test_acc"] == 0.9091 and row["our_rank"] == 2 and row["thesis_rank"] == 2
    shown = lc.format_results(df)
    assert shown.loc[shown["mask"] == "none", "test acc. (ours)"].item() == "0.810 ± 0.014"
    none = results(BASE)
    none = none[none["method"] == "none"].sort_values("seed")["test_acc"]
    assert shown.loc[shown["mask"] == "none", "test acc. per seed"].item() == ", ".join(f"{x:.3f}" for x in none)


def test_floor_table_counts_tensors_at_the_floor():
    sizes = [1000, 1000, 1000, 1000]
    lay = layers({"random": [100, 100, 100, 100], "coherence_best": [20, 20, 180, 180],
                  "magnitude_best": [20, 100, 100, 180]}, sizes)
    ft = lc.floor_table(lay, 0.02, 0.1).set_index("method")
    assert ft.loc["random", "share_at_floor"] == 0 and ft.loc["coherence_best", "share_at_floor"] == 0.5
    assert ft.loc["magnitude_best", "share_at_floor"] == 0.25
    assert ft.loc["coherence_best", "min_fraction_kept"] == pytest.approx(0.02)
    assert lc.floor_shares(lay, 0.02, "coherence_best") == [0.5, 0.5]
    assert not lc.at_floor(lay, 0.0).any()
    assert lc.floor_count(1001, 0.02) == 21 and lc.floor_count(1000, 0.02) == 20


def test_layer_stats_per_seed():
    lay = layers({"random": [100, 100, 100, 100], "coherence_best": [20, 20, 180, 180]}, [1000] * 4)
    st = lc.layer_stats(lay, 0.02, 0.1).set_index(["method", "seed"])
    assert st.loc[("coherence_best", 1), "n_at_floor"] == 2 and st.loc[("coherence_best", 1), "early_kept"] == 0.02
    assert st.loc[("random", 0), "at_floor"] == 0 and st.loc[("random", 0), "early_kept"] == pytest.approx(0.1)
    assert list(lc.layer_values(lay, 0.02, 0.1, "coherence_best", "at_floor")) == [0.5, 0.5]
    with pytest.raises(ValueError, match="no layer rows for method 'magnitude_best'"):
        lc.layer_values(lay, 0.02, 0.1, "magnitude_best", "at_floor")
    assert list(lc.per_seed(results(BASE), "none")) == [0.80, 0.82]


# Three seeds; every run of a seed shares its seed effect (as children of one parent share its data order).
SEED_EFFECT = (0.0, 0.01, 0.02)
BASE3 = {m: [a[0] + e for e in SEED_EFFECT] for m, a in BASE.items()}


def test_chapter6_verdicts_from_numbers():
    sizes = [1000] * 4
    lay_r = layers({m: ([20, 20, 180, 180] if m == "coherence_best" else [100] * 4) for m in lc.PRUNED}, sizes,
                   seeds=(0, 1, 2))
    lay_v = layers({m: [100] * 4 for m in lc.PRUNED}, sizes, seeds=(0, 1, 2))
    vit_layer = dict(BASE3, coherence_best=[0.795 + e for e in SEED_EFFECT])
    tables = {("resnet", "global"): (results(BASE3), lay_r), ("resnet", "layer"): (results(BASE3), lay_r),
              ("vit", "global"): (results(BASE3), lay_v), ("vit", "layer"): (results(vit_layer), lay_v)}
    vs = {v.claim_id: v for v in ch6.verdicts(ch6.setup(profile="smoke", seeds=[0, 1, 2]), ch6.Results(tables))}
    assert all(isinstance(v, Verdict) and v.chapter == "06" for v in vs.values())
    # constant paired differences: every interval has zero width, so each claim is decided
    assert vs["6-resnet-magnitude-best-wins-global"].verdict == "held"  # 0.75 against magnitude_worst 0.74
    assert vs["6-resnet-magnitude-beats-diff-global"].verdict == "held"
    assert vs["6-vit-diff-wins-global"].verdict == "not held"
    assert vs["6-vit-diff-best-layer"].verdict == "held"
    assert vs["6-random-strong"].verdict == "not held"  # random 0.70 is 5 points below magnitude_best 0.75
    assert vs["6-mask-inversion-gap-small"].verdict == "held"  # gaps 0.01 everywhere, margin 0.02
    assert vs["6-global-diff-overprunes-layers"].verdict == "held"
    assert vs["6-vit-global-even-layers"].verdict == "held"
    assert vs["6-layer-fixes-resnet-diff"].verdict == "inconclusive"  # the same numbers in both scopes: no effect
    assert vs["6-vit-no-parity-layer"].verdict == "not held"  # 0.795 against dense 0.80: within one point
    assert vs["6-pruned-near-parity"].verdict == "not held"  # ViT best pruned 5 points below dense
    assert vs["6-resnet-magnitude-best-wins-global"].scale == "ResNet dense test acc 0.81 (thesis 0.90, Table 6.1)"
    # one claim per ResNet scope; every test is over the three seeds
    assert vs["6-resnet-diff-beats-random-global"].verdict == vs["6-resnet-diff-beats-random-layer"].verdict == "not held"
    assert all(v.test["n"] == 3 for v in vs.values())


def test_chapter6_verdicts_skip_missing_architectures():
    lay = layers({m: [100] * 4 for m in lc.PRUNED}, [1000] * 4, seeds=(0,))
    one = {("vit", "layer"): (results({m: [a[0]] for m, a in BASE.items()}), lay)}
    vs = ch6.verdicts(ch6.setup(profile="smoke", seeds=[0]), ch6.Results(one))
    assert {v.claim_id for v in vs} == {"6-vit-diff-best-layer", "6-vit-no-parity-layer", "6-mask-inversion-gap-small"}
    assert all(v.verdict == "inconclusive" for v in vs)  # one seed: no interval


def test_fig_layers_draws_floor_and_density():
    lay = layers({"random": [100, 100], "coherence_best": [20, 180]}, [1000, 1000])
    fig = lc.fig_layers(lay, "resnet", floor=0.02, density=0.1, title="t")
    ys = sorted(round(l.get_ydata()[0], 3) for l in fig.axes[0].lines if len(set(l.get_ydata())) == 1
                and len(l.get_xdata()) == 2)
    assert 0.02 in ys and 0.1 in ys


def verdict_rows(*rows) -> pd.DataFrame:
    cols = list(Verdict.__dataclass_fields__)
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)


def test_every_chapter6_claim_names_its_conclusion_where_it_is_written():
    assert len(ch6.RULES) == 25
    lay = layers({m: [100] * 4 for m in lc.PRUNED}, [1000] * 4)
    settings = (("resnet", "global"), ("resnet", "layer"), ("vit", "global"), ("vit", "layer"))
    flat = {k: (results(BASE), lay) for k in settings}
    upside = {k: (results({m: a[::-1] for m, a in BASE.items()}), lay) for k in settings}
    s = ch6.setup(profile="smoke", seeds=[0, 1])
    marks = [[(v.claim_id, v.conclusion, v.bears) for v in ch6.verdicts(s, ch6.Results(t))] for t in (flat, upside)]
    assert marks[0] == marks[1]  # fixed with the claim, whatever the numbers
    keys = [c for _, c, _ in marks[0]]
    assert keys.count("C8") == 9 and set(keys) == {"C8", ""}
    assert [(i, b) for i, _, b in marks[0] if b == "against"] == [("6-vit-magnitude-best-wins-global", "against")]


def test_verdict_counts():
    v = verdict_rows(("a", "02", "", "", "", "held", ""), ("b", "02", "", "", "", "inconclusive", ""),
                     ("c", "06", "", "", "", "held", ""))
    t = ct.verdict_counts(v).set_index("chapter")
    assert t.loc["all", "held"] == 2 and t.loc["all", "total"] == 3 and t.loc["06", "inconclusive"] == 0
    assert "tie" not in t.columns
