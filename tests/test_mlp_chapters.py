"""lib.chapters.mlp: the tables behind chapters 4 and 5, on tiny Gaussian-data MLPs (seconds)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lib import experiments as ex
from lib import parallel
from lib.chapters import mlp as mc
from lib.chapters import seed_tests as st
from lib.chapters import verdicts as lv
from lib.data import DataConfig
from lib.models import ModelConfig, mlp, mlp_weight_count, scaled_width
from lib.config import OptimConfig, StatsConfig, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=32, epochs=3, stats=StatsConfig(every=1, max_samples=32))
    base.update(kw)
    return TrainConfig(**base)


def test_weight_layers_match_the_model():
    for depth in (0, 1, 3):
        names = [n for n, p in mlp(4, depth=depth).named_parameters() if p.dim() == 2]
        assert mc.weight_layers(depth) == names
    assert [mc.layer_label(n) for n in mc.weight_layers(3)] == ["input", "hidden 1", "hidden 2", "hidden 3", "output"]
    assert mc.layer_label("1.bias") == "1.bias"


def test_seed_summary_and_final_epoch():
    curves = pd.DataFrame({"width": [4, 4, 4, 4, 8, 8], "seed": [0, 0, 1, 1, 0, 0], "epoch": [0, 1, 0, 1, 0, 1],
                           "train_acc": [.1, .9, .1, .7, .1, 1.], "test_acc": [.1, .5, .1, .5, .1, .6]})
    last = mc.final_epoch(curves)
    assert last["epoch"].tolist() == [1, 1, 1] and np.allclose(last["gap"], [.4, .2, .4])
    s = mc.seed_summary(last, ["width"], ["gap"])
    assert s["n_seeds"].tolist() == [2, 1]
    assert np.allclose(s["gap_mean"], [.3, .4]) and np.isclose(s["gap_sd"][0], np.std([.4, .2], ddof=1))
    assert s["gap_sd"][1] == 0.0  # one seed: sd 0, not NaN


@pytest.mark.parametrize("w, r", [(32, 10), (128, 10), (512, 62), (64, 2), (256, 1)])
def test_thesis_formula_is_the_root_of_the_weight_equation(w, r):
    wp = mc.thesis_scaled_width(w, r)
    assert math.isclose(mlp_weight_count(wp), r * mlp_weight_count(w), rel_tol=1e-9)
    assert abs(wp - scaled_width(w, r)) <= 0.5


def test_parent_width_table():
    t = mc.parent_width_table([(64, 10), (512, 62)])
    assert t["scaled_width"].tolist() == [scaled_width(64, 10), scaled_width(512, 62)]
    assert (t["formula_minus_ours"].abs() <= 0.5).all()
    assert np.allclose(t["exact_ratio"], t["parent_weights"] / t["weights"]) and np.allclose(t["exact_ratio"], [10, 62], rtol=0.01)


def test_hist_density_and_extreme_epochs():
    edges = np.linspace(-1, 1, 5)
    d = mc.hist_density(np.array([0, 2, 2, 0]), edges)
    assert np.isclose((d * np.diff(edges)).sum(), 1.0)
    assert not mc.hist_density(np.zeros(4), edges).any()
    curve = pd.DataFrame({"epoch": [0, 1, 2, 3], "coherence": [9.0, 0.2, 0.5, 0.1]})
    assert mc.extreme_epochs(curve) == (2, 3)
    assert mc.extreme_epochs(curve, epochs=[0, 1, 2]) == (2, 1)
    assert mc.extreme_epochs(curve, min_epoch=0) == (0, 3)
    assert mc.extreme_epochs(pd.DataFrame({"epoch": [0, 1, 2], "coherence": [0.1, 0.5, 0.3]}), low_from=0) == (1, 0)
    with pytest.raises(ValueError):
        mc.extreme_epochs(curve, epochs=[0])


def test_diff_tables_from_real_runs(run_cache):
    plan = ex.plan_width_sweep(tiny(), (4, 8), (0,))
    parallel.train(plan)
    runs_ = mc.width_runs(plan)
    curves = ex.width_sweep(plan)
    layers = mc.weight_layers(1)
    for (w, s), run in runs_.items():
        curve = curves[(curves["width"] == w) & (curves["seed"] == s)]
        dens = mc.diff_densities(run, curve, layers)
        assert set(dens["which"]) == {"max", "min"} and set(dens["layer"]) == set(layers)
        e_max = int(dens.loc[dens["which"] == "max", "epoch"].iloc[0])
        assert curve.loc[curve["epoch"] >= 1, "coherence"].max() == curve.loc[curve["epoch"] == e_max, "coherence"].iloc[0]
        edges = mc.load_diff_hist(run)["edges"]
        for _, g in dens.groupby(["which", "layer"]):
            assert np.isclose((g["density"] * np.diff(edges)).sum(), 1.0)
        spread = mc.diff_spread(run, layers)
        stored = run.tensors("diffs_max_trained.pt")
        assert spread["epoch"].iloc[0] == stored["epoch"] == e_max
        both = mc.diff_spreads(run, layers)
        e_min = int(dens.loc[dens["which"] == "min", "epoch"].iloc[0])
        assert set(both["which"]) == {"max", "min"} and both.loc[both["which"] == "min", "epoch"].iloc[0] == e_min
        assert curve["coherence"].min() == curve.loc[curve["epoch"] == e_min, "coherence"].iloc[0]
        v = stored["diffs"][layers[0]].double().ravel()
        assert np.isclose(spread["sd"].iloc[0], float(v.std(unbiased=False)))
        assert spread["n"].tolist()[-1] == sum(spread["n"].tolist()[:-1])


def test_mask_layer_shares(run_cache):
    base = tiny(epochs=1)
    plan = ex.plan_prune_sweep(base, (4, 8), ("magnitude", "random"), density=0.25, seeds=(0,), ratio=4)
    parallel.train(plan)
    t = mc.mask_layer_shares(plan, 4, 0)
    pw = scaled_width(4, 4, depth=1)
    assert set(t["method"]) == {"magnitude", "random"} and (t["parent_width"] == pw).all()
    for _, g in t.groupby("method"):
        assert g["layer"].tolist() == mc.weight_layers(1)
        assert abs(g["kept"].sum() - 0.25 * g["size"].sum()) <= 1
    layer_plan = ex.plan_prune_sweep(base, (4,), ("magnitude",), density=0.25, seeds=(0,), ratio=4, scope="layer")
    parallel.train(layer_plan)
    layer = mc.mask_layer_shares(layer_plan, 4, 0)
    assert np.allclose(layer["fraction_kept"], 0.25, atol=0.5 / layer["size"].min())  # the same share of every layer


def test_adjacent_steps_pair_each_width_with_the_next():
    df = pd.DataFrame({"width": [8, 8, 4, 4, 16, 16], "seed": [0, 1] * 3, "v": [2., 3., 1., 1., 5., 9.]})
    long = mc.adjacent_steps(df, "width", "v")
    assert list(long.columns) == ["from", "to", "side", "seed", "v"]
    assert long[["from", "to"]].drop_duplicates().values.tolist() == [[4, 8], [8, 16]]
    up = long[long["side"] == "upper"].set_index(["from", "seed"])["v"]
    lo = long[long["side"] == "lower"].set_index(["from", "seed"])["v"]
    assert (up - lo).tolist() == [1.0, 2.0, 3.0, 6.0]  # (4→8, seed 0), (4→8, seed 1), (8→16, seed 0), (8→16, seed 1)
    assert mc.adjacent_steps(df[df["width"] == 4], "width", "v").empty


def test_trend_rows_are_each_seeds_fit():
    df = pd.DataFrame({"width": [4, 8, 16] * 2, "seed": [0] * 3 + [1] * 3, "v": [1., 2., 3., 3., 2., 2.]})
    rows = mc.trend_rows(df, x="width", value="v", log_x=True)
    want = [np.polyfit(np.log([4, 8, 16]), df.loc[df["seed"] == sd, "v"], 1)[0] for sd in (0, 1)]
    assert rows["item"].tolist() == ["seed 0, slope per unit of ln width", "seed 1, slope per unit of ln width"]
    assert np.allclose(rows["diff"], want) and rows["a"].tolist() == [3., 2.] and rows["b"].tolist() == [1., 3.]
    assert rows["n"].tolist() == [3, 3] and rows["ci_low"].isna().all() and (rows["verdict"] == "").all()
    flat = mc.trend_rows(df, x="width", value="v", log_x=True, flat=True)
    assert np.allclose(flat["diff"], np.array(want) * np.log(4)) and flat["item"].str.contains("total change").all()
    shown = mc.intervals_frame([(lv.Verdict("x-1", "04", "c", "t", "o", "held", "F"), rows)])
    assert shown["group"].tolist() == rows["item"].tolist()


def test_dropped_note_says_what_was_left_out():
    df = pd.DataFrame({"width": [4, 8, 4, 8], "seed": [0, 0, 1, 1], "v": [1., np.nan, 2., 3.]})
    test = st.trend(df, x="width", value="v")
    assert test["dropped"] == 1 and test["n"] == 1  # seed 0 has one point left: no slope
    note = mc.dropped_note(test, df, "v")
    assert "1 seed(s) left out" in note and "1 non-finite v value(s) left out of the seeds' fits" in note
    assert mc.dropped_note({"dropped_why": ""}, df.fillna(0.0), "v") == ""


def test_the_intervals_table_is_the_toolkits():
    assert mc.intervals_frame is lv.intervals_frame and mc.show_intervals is lv.show_intervals
    assert mc.group_label is lv.group_label and mc.GROUP_STATS == st.GROUP_STATS


def test_stats_samples():
    assert mc.stats_samples(tiny()) == 32  # max_samples 32 of 64 training images
    assert mc.stats_samples(tiny(stats=StatsConfig(every=1, max_samples=0))) == 64
    assert mc.stats_samples(tiny(stats=StatsConfig(every=1, max_samples=500))) == 64
    assert mc.stats_samples(tiny(data=DataConfig("cifar10", 0, 0))) == 32


def test_intervals_frame_labels_every_group():
    v = lv.Verdict("x-1", "05", "c", "t", "o", "held", "Figure 5.1")
    g = pd.DataFrame({"versus": ["a vs b"], "sweep": ["ratio"], "x": [2.0], "n": [3], "a": [1.], "b": [0.],
                      "diff": [1.], "ci_low": [.5], "ci_high": [1.5], "verdict": ["held"]})
    steps = pd.DataFrame({"method": ["diff"], "from": [32], "to": [64], "n": [3], "a": [1.], "b": [0.], "diff": [1.],
                          "ci_low": [np.nan], "ci_high": [np.nan], "verdict": ["inconclusive"]})
    out = mc.intervals_frame([(v, g), (v, steps)])
    assert out["group"].tolist() == ["a vs b, ratio 2", "diff, 32→64"]
    shown = mc.show_intervals(out).data
    column = next(c for c in shown.columns if c.startswith("difference"))  # its heading is the toolkit's
    assert shown[column].tolist() == ["+1 [+0.5, +1.5]", "+1 (no interval)"]
    assert np.isclose(mc.spearman([1, 2, 3], [3, 5, 9]), 1.0) and np.isnan(mc.spearman([1], [2]))
