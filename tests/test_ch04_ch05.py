"""Chapters 4 and 5 (lib.chapters.ch04_width, ch05_pruning_mlp, ch0N_claims): parameters, setup errors, the plans, and
every claim on small hand-made per-seed frames (no training): each claim must be able to come out held,
not held and inconclusive (or not measured at this scale where the sweep cannot show it), and every claim is
decided over seeds (n = the number of seeds), trends by per-seed slopes."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.chapters import ch02_coherence as ch2
from lib.chapters import ch04_claims as c4
from lib.chapters import ch04_width as ch4
from lib.chapters import ch05_claims as c5
from lib.chapters import ch05_pruning_mlp as ch5
from lib.chapters import mlp as mc
from lib.chapters import seed_tests as st
from lib.chapters import verdicts as lv
from lib.chapters.params import ParameterError
from lib.config import config_hash
from lib.plan import configs, stage_configs

SEEDS = (0, 1, 2)
JITTER = 0.005  # per-seed offsets -J, 0, +J, with the sign flipped for every other group: paired sd 0.01


# ------------------------------------------------------------------------------- parameters
# (Params defaults against each notebook's parameters cell: tests/test_architecture.py, every chapter)
@pytest.mark.parametrize("module, bad, name", [
    (ch4, {"seeds": [0, 0]}, "seeds"), (ch4, {"widths": [64, -1]}, "widths"),
    (ch5, {"seeds": [0, 0]}, "seeds"), (ch5, {"widths": [64, -1]}, "widths"), (ch5, {"density": 0}, "density"),
    (ch5, {"density": 1.5}, "density"), (ch4, {"ratios": [2]}, "ratios"),
])
def test_setup_errors_name_the_parameter(module, bad, name):
    with pytest.raises(ParameterError, match=name):
        module.setup(profile="smoke", **bad)


def test_setup_resolves_the_profile():
    s4 = ch4.setup(profile="smoke", seed=5, widths=[32, 16])
    assert s4.widths == (16, 32) and s4.seeds[0] == 5 and set(s4.seeds) == {5, 0, 1}
    s5 = ch5.setup(profile="smoke", density=0.25)
    assert s5.ratio == 4.0 and s5.widths == tuple(sorted(s5.profile.prune_widths))
    assert s5.sweep_scopes == ("global", "layer") and s5.scaling_scopes == ch5.SCALING_SCOPES


# ------------------------------------------------------------------------------------ plans
def test_chapter_4_plan_reuses_chapter_2_real_runs(stand_in_fingerprint):
    s4 = ch4.setup(profile="smoke")
    (stage,) = stage_configs(ch4.plan(s4))
    mlps = [c for c in stage if c.model.arch == "mlp"]
    assert len(mlps) == len(s4.widths) * len(s4.seeds)
    large = {config_hash(c) for c in stage if c.model.arch != "mlp"}
    s2 = ch2.setup(profile="smoke")
    real = {config_hash(c["real"]) for c in s2.configs.values()}
    assert large == real and len(large) == 2 * len(s4.seeds)  # ResNet and ViT per seed, chapter 2's own configs


def _children(stages, scope):
    return [c for c in stages[-1] if c.mask is not None and c.mask.scope == scope]


def test_chapter_5_plans_both_scopes_and_shares_parents(stand_in_fingerprint):
    s = ch5.setup(profile="smoke")
    stages = stage_configs(ch5.plan(s))
    n_methods, n_seeds = len(ch5.METHODS), len(s.seeds)
    sparse_ratios = [r for r in s.profile.ratios if r > 1]
    per_scope = n_methods * n_seeds * (len(s.widths) + len(sparse_ratios))
    assert len(_children(stages, "global")) == per_scope and len(_children(stages, "layer")) == per_scope
    hashes = [config_hash(c) for st in stages for c in st]
    assert len(hashes) == len(set(hashes))  # parents and dense runs are listed once for both scopes
    dense = [c for c in stages[-1] if c.mask is None]
    parents = {config_hash(c.mask.parent) for c in _children(stages, "layer")}
    assert parents == {config_hash(c.mask.parent) for c in _children(stages, "global")}
    assert parents <= {config_hash(c) for c in stages[0]}
    assert len(dense) == n_seeds * len({*s.widths, s.profile.base_width})
    only_global = stage_configs(ch5.plan(ch5.Setup(s.params, s.profile, s.base, s.widths, s.seeds, s.ratio, ("global",),
                                                   ("global",))))
    assert {config_hash(c) for st in only_global for c in st} <= set(hashes)  # the global runs keep their hashes
    assert len(hashes) - sum(map(len, only_global)) == per_scope


def test_chapter_5_plan_with_layer_scope_for_the_prune_sweep_only(stand_in_fingerprint):
    s = ch5.setup(profile="smoke")
    s = ch5.Setup(s.params, s.profile, s.base, s.widths, s.seeds, s.ratio, ("global", "layer"), ("global",))
    layer = _children(stage_configs(ch5.plan(s)), "layer")
    assert len(layer) == len(ch5.METHODS) * len(s.seeds) * len(s.widths)
    assert {c.mask.density for c in layer} == {s.params.density}


# ------------------------------------------------------------------------------- synthetic frames
def per_seed(mean: float, k: int = 0, jitter: float = JITTER) -> list[float]:
    """Three per-seed values around ``mean``; group ``k`` odd flips the offsets, so paired differences vary."""
    sign = 1 if k % 2 == 0 else -1
    return [mean + sign * (s - 1) * jitter for s in SEEDS]


def width_frame(col: str, means: dict[int, float], **extra: dict[int, float]) -> pd.DataFrame:
    """Rows (width, seed, col, *extra) with the given per-width means."""
    rows = []
    for k, (w, m) in enumerate(means.items()):
        for s, v in zip(SEEDS, per_seed(m, k)):
            row = {"width": w, "seed": s, col: v}
            row.update({name: per_seed(e[w], k)[s] for name, e in extra.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def gap_frame(gaps: dict[int, float], fit: float = 1.0) -> pd.DataFrame:
    return width_frame("gap", gaps, train_acc={w: fit for w in gaps}, test_acc={w: 0.5 for w in gaps})


# ------------------------------------------------------------------------------------ chapter 4
def ln_slopes(df: pd.DataFrame, value: str, x: str = "width") -> list[float]:
    """Each seed's least-squares slope of ``value`` against ln ``x``, computed here with numpy."""
    return [float(np.polyfit(np.log(g[x].to_numpy(float)), g[value].to_numpy(float), 1)[0])
            for _, g in df.sort_values("seed").groupby("seed")]


@pytest.mark.parametrize("gaps, verdict", [({16: 0.1, 32: 0.3, 64: 0.5}, "held"), ({16: 0.5, 32: 0.3, 64: 0.1}, "not held"),
                                           ({16: 0.2, 64: 0.2}, "inconclusive")])
def test_gap_grows_is_a_trend_over_seeds(gaps, verdict):
    final = gap_frame(gaps)
    v, groups = c4.gap_grows(final, scale="s")
    assert v.claim_id == "4-gap-grows-with-width" and v.chapter == "04" and v.verdict == verdict and v.scale == "s"
    assert v.test["n"] == len(SEEDS) and v.test["rule"] == "per-seed slope" and v.test["x"] == "log width"
    assert np.isclose(v.test["diff"], np.mean(ln_slopes(final, "gap")))  # the mean of the seeds' slopes
    assert groups["item"].tolist() == [f"seed {sd}, slope per unit of ln width" for sd in SEEDS]
    assert np.allclose(groups["diff"], ln_slopes(final, "gap")) and groups["ci_low"].isna().all()
    assert "at width 16 ->" in v.ours and "rank correlation" in v.ours and v.fails_if and v.conclusion == ""


def test_gap_grows_stops_at_the_plateau():
    final = gap_frame({16: 0.1, 32: 0.3, 1500: 0.5, 2000: 0.1, 2800: 0.1})
    v, groups = c4.gap_grows(final, plateau=1500)
    assert v.verdict == "held" and "at width 1500" in v.ours  # the climb is read up to the plateau width only
    assert (groups["n"] == 3).all()  # three widths fitted per seed


def test_a_trend_says_what_it_left_out():
    final = gap_frame({16: 0.1, 32: 0.3, 64: 0.5})
    final.loc[(final["seed"] == 1) & (final["width"] == 32), "gap"] = np.nan  # a diverged run
    v, groups = c4.gap_grows(final)
    assert v.test["n"] == len(SEEDS) and groups["n"].tolist() == [3, 2, 3]  # seed 1 fitted on its two other widths
    assert "1 non-finite gap value(s) left out of the seeds' fits" in v.note


def test_a_trend_is_decided_by_per_seed_slopes_not_by_pooled_steps():
    """Seeds whose slopes differ (4, 2, -0.5 per ln width): the adjacent steps of all seeds pooled into one
    interval (12 "replicates") say held; the three seeds' slopes do not agree enough to decide."""
    widths, slopes = (16, 32, 64, 128, 256), {0: 4.0, 1: 2.0, 2: -0.5}
    peak = pd.DataFrame([{"width": w, "seed": sd, "max_coherence": 1 + b * np.log(w)} for sd, b in slopes.items()
                         for w in widths])
    v, groups = c4.coherence_grows(peak)
    assert v.verdict == "inconclusive" and v.test["n"] == 3
    assert np.isclose(v.test["diff"], np.mean(list(slopes.values())))
    assert np.allclose(groups["diff"], list(slopes.values()))
    steps = mc.adjacent_steps(peak.assign(lw=np.log(peak["width"])), "width", "max_coherence")
    up, lo = steps[steps["side"] == "upper"], steps[steps["side"] == "lower"]
    pooled = st.paired(up["max_coherence"].to_numpy(), lo["max_coherence"].to_numpy(), claim="greater")
    assert pooled["verdict"] == "held" and pooled["n"] == 12  # what the old design said
    clear = pd.DataFrame([{"width": w, "seed": sd, "max_coherence": 1 + b * np.log(w)}
                          for sd, b in {0: 2.0, 1: 2.2, 2: 1.9}.items() for w in widths])
    assert c4.coherence_grows(clear)[0].verdict == "held"


@pytest.mark.parametrize("gaps, verdict", [({64: 0.1, 1500: 0.3, 2000: 0.3, 2800: 0.3}, "held"),
                                           ({1500: 0.3, 2000: 0.5, 2800: 0.7}, "not held"),
                                           ({1500: 0.3, 2000: 0.31, 2800: 0.32}, "inconclusive")])
def test_gap_levels_off_is_an_equivalence_on_the_total_change(gaps, verdict):
    v, groups = c4.gap_levels_off(gap_frame(gaps), plateau=1500)
    assert v.verdict == verdict and v.test["claim"] == "flat" and v.test["margin"] == c4.GAP_LEVEL_MARGIN
    assert v.test["n"] == len(SEEDS) and v.test["statistic"].startswith("fitted total change")
    assert (groups["n"] == 3).all() and groups["item"].str.contains("total change").all()  # widths from 1500 on
    assert "first reaches 0.99 at width" in v.ours and "on the total change" in v.ours


def test_a_slow_drift_is_not_level():
    """Each width step adds 0.012 to the gap (under the 0.02 margin), but the total, 0.06, is three times it."""
    widths = (1500, 2000, 2800, 4000, 5600, 8000)
    final = gap_frame({w: 0.3 + 0.012 * i for i, w in enumerate(widths)})
    v, _ = c4.gap_levels_off(final, plateau=1500)
    sm = final.groupby("width")["gap"].mean()
    assert (sm.diff().dropna().abs() < c4.GAP_LEVEL_MARGIN).all()  # every step alone is within the margin
    assert v.verdict == "not held" and v.test["diff"] > 2 * c4.GAP_LEVEL_MARGIN


def test_gap_levels_off_not_measured_below_the_plateau():
    v, groups = c4.gap_levels_off(gap_frame({16: 0.0, 32: 0.05}, fit=0.5))
    assert v.verdict == "not measured at this scale" and groups.empty and not v.test
    assert "widest width here is 32" in v.ours and "stays below 0.99 at every width" in v.ours
    one_past = gap_frame({16: 0.0, 1600: 0.1})
    assert c4.gap_levels_off(one_past, plateau=1500)[0].verdict == "not measured at this scale"


@pytest.mark.parametrize("peaks, verdict, best", [({16: 0.01, 32: 0.03, 64: 0.05}, "held", 64),
                                                  ({16: 0.05, 64: 0.01}, "not held", 16),
                                                  ({16: 0.02, 64: 0.02}, "inconclusive", 16)])
def test_coherence_grows(peaks, verdict, best):
    v, _ = c4.coherence_grows(width_frame("max_coherence", peaks))
    assert v.verdict == verdict and f"highest mean peak at width {best}" in v.ours
    assert v.claim_id == "4-coherence-grows-with-width" and v.test["n"] == len(SEEDS) and v.conclusion == "C4"


def spread_frame(lo: float, hi: float, pooled: tuple[float, float] = (0.1, 0.05), which: str | None = None,
                 scale: dict[str, float] | None = None) -> pd.DataFrame:
    """Diff spreads at widths 16 and 64 of the five weight matrices (sd ``lo`` at width 16, ``hi`` at 64, times
    the layer's ``scale``; per-seed jitter alternating by layer) and of all weights pooled ("all")."""
    rows = []
    layers = [*ch4.mlp.weight_layers(3), "all"]
    for i, layer in enumerate(layers):
        a, b = pooled if layer == "all" else (lo, hi)
        f = (scale or {}).get(layer, 1.0)
        for j, (w, m) in enumerate(((16, a * f), (64, b * f))):
            rows += [{"width": w, "seed": s, "layer": layer, "sd": v} for s, v in zip(SEEDS, per_seed(m, i + j, JITTER * f))]
    df = pd.DataFrame(rows)
    return df.assign(which=which) if which else df


@pytest.mark.parametrize("lo, hi, verdict", [(0.1, 0.05, "held"), (0.05, 0.1, "not held"), (0.1, 0.1, "inconclusive")])
def test_diffs_narrow_reduces_each_run_then_trends_over_seeds(lo, hi, verdict):
    spread = spread_frame(lo, hi)
    v, groups = c4.diffs_narrow(spread)
    assert v.verdict == verdict and v.test["n"] == len(SEEDS) and v.conclusion == "C5"  # seeds, not (layer, seed)
    assert len(groups) == len(SEEDS) and v.ours.startswith("sd of all diffs 0.1000 at width 16 vs 0.0500 at width 64")
    per_run = c4.layer_log_sd(spread)
    layers = spread[spread["layer"] != "all"]
    want = layers.groupby(["width", "seed"])["sd"].apply(lambda x: np.log(x).mean()).to_numpy()
    assert np.allclose(per_run["log_sd"], want) and (per_run["layers"] == 5).all()


def test_diffs_narrow_weighs_every_matrix_alike():
    """The input matrix's sd is 5 times the others' and does not narrow; the four others halve from width 16 to
    64: the mean of ln sd falls by 4/5 of ln 2 over ln 4, whatever the input matrix's size."""
    names = ch4.mlp.weight_layers(3)
    spread = spread_frame(0.1, 0.05, scale={names[0]: 5.0})
    first = spread["layer"] == names[0]
    spread.loc[first & (spread["width"] == 64), "sd"] = spread.loc[first & (spread["width"] == 16), "sd"].to_numpy()
    v, _ = c4.diffs_narrow(spread)
    assert v.verdict == "held" and np.isclose(v.test["diff"], 4 / 5 * np.log(0.5) / np.log(4), rtol=0.05)


@pytest.mark.parametrize("at_max, at_min, verdict", [((0.1, 0.1), (0.05, 0.05), "held"),
                                                      ((0.05, 0.1), (0.1, 0.05), "not held"),  # reversed at width 16
                                                      ((0.1, 0.08), (0.05, 0.08), "inconclusive")])
def test_diffs_wider_at_max_at_every_width(at_max, at_min, verdict):
    spread = pd.concat([spread_frame(0.1, 0.1, at_max, "max"), spread_frame(0.1, 0.1, at_min, "min")])
    v, groups = c4.diffs_wider_at_max(spread)
    assert v.claim_id == "4-diffs-wider-at-max-coherence" and v.verdict == verdict and v.conclusion == "C2"
    assert v.test["n"] == len(SEEDS) and v.test["rule"] == "every group" and groups["width"].tolist() == [16, 64]
    assert (groups["n"] == len(SEEDS)).all()


def large_frame(resnet: float, vit: float) -> pd.DataFrame:
    return pd.DataFrame([{"family": f, "arch": a, "seed": s, "max_debiased": v, "test_acc": 0.4}
                         for k, (f, a, m) in enumerate((("resnet", "resnet_small", resnet), ("vit", "vit_tiny", vit)))
                         for s, v in zip(SEEDS, per_seed(m, k + 1))])


@pytest.mark.parametrize("mlp_peak, large_peak, verdict", [((0.01, 0.01), 0.1, "held"), ((0.1, 0.1), 0.1, "not held"),
                                                            ((0.05, 0.05), 0.1, "inconclusive"),
                                                            ((0.005, 0.06), 0.1, "not held")])  # widest fails
def test_mlp_coherence_much_smaller_at_every_width(mlp_peak, large_peak, verdict):
    peak = width_frame("max_debiased", {16: mlp_peak[0], 32: mlp_peak[1]})
    v, groups = c4.mlp_coherence_smaller(peak, large_frame(large_peak, large_peak), "resnet")
    assert v.claim_id == "4-coherence-much-smaller-than-resnet" and v.verdict == verdict
    assert v.test["n"] == len(SEEDS) and groups["width"].tolist() == [16, 32] and v.test["rule"] == "every group"
    assert "resnet_small" in v.claim and f"under 1/{c4.MUCH_SMALLER_RATIO:g}" in v.claim and v.conclusion == ""


def test_chapter_4_verdicts_are_pure_and_ordered(run_cache):
    final = gap_frame({16: 0.1, 32: 0.3}, fit=0.5)
    peak = width_frame("max_coherence", {16: .01, 32: .02}, max_debiased={16: .005, 32: .01})
    spread = pd.concat([spread_frame(0.1, 0.05, which="max"), spread_frame(0.05, 0.02, (0.05, 0.02), "min")])
    r = SimpleNamespace(final=final, peak=peak, spread=spread, large=large_frame(0.1, 0.2))
    s = SimpleNamespace(base=ch4.setup(profile="smoke").base)
    vs = ch4.verdicts(s, r)
    assert [v.claim_id for v in vs] == ["4-gap-grows-with-width", "4-gap-levels-off", "4-coherence-grows-with-width",
                                        "4-diffs-narrow-with-width", "4-diffs-wider-at-max-coherence",
                                        "4-coherence-much-smaller-than-resnet", "4-coherence-much-smaller-than-vit"]
    assert [v.conclusion for v in vs] == ["", "", "C4", "C5", "C2", "", ""] and all(v.fails_if for v in vs)
    assert all(v.scale.startswith("MLP widths 16-32") for v in vs) and "test acc 0.40" in vs[-1].scale
    assert all(v.test["n"] == len(SEEDS) for v in vs if v.verdict != "not measured at this scale")
    shown = lv.intervals_frame(ch4.claims(s, r))
    assert set(shown["claim_id"]) == {v.claim_id for v in vs} - {"4-gap-levels-off"}
    assert not run_cache.exists()  # nothing stored


# ------------------------------------------------------------------------------------ chapter 5
def sweep_frame(values: dict[str, float | dict], col: str = "test_acc", widths=(16, 32)) -> pd.DataFrame:
    """Prune-sweep rows (width, seed, method, test_acc, train_acc, gap): column ``col`` from ``values`` (one
    mean for every width or a {width: mean} dict per method), the other two constant."""
    at = lambda v, w: v[w] if isinstance(v, dict) else v  # noqa: E731
    rows = []
    for k, m in enumerate(values):
        for w in widths:
            for s, v in zip(SEEDS, per_seed(at(values[m], w), k)):
                row = {"width": w, "seed": s, "method": m, "test_acc": 0.5, "train_acc": 0.9, "gap": 0.4}
                row[col] = v
                rows.append(row)
    return pd.DataFrame(rows)


def scaling_frame(acc: dict[str, dict[float, float]], dense: float = 0.3, base_weights: int = 200_000) -> pd.DataFrame:
    """Parent-scaling rows (ratio, seed, method, test_acc, density, parent_weights, parent_width): the dense
    "none" row at ratio 1 and each method's {ratio: mean test accuracy} at density 1/ratio."""
    rows = [{"ratio": 1.0, "seed": s, "method": "none", "test_acc": v, "density": 1.0, "parent_weights": base_weights,
             "parent_width": 64} for s, v in zip(SEEDS, per_seed(dense))]
    rows += [{"ratio": float(r), "seed": s, "method": m, "test_acc": v, "density": 1 / r,
              "parent_weights": int(r * base_weights), "parent_width": int(64 * r ** 0.5)}
             for k, (m, by_r) in enumerate(acc.items()) for j, (r, mean) in enumerate(by_r.items())
             for s, v in zip(SEEDS, per_seed(mean, k + j))]
    return pd.DataFrame(rows)


DENSE_CASES = [(0.6, 0.5, "held"), (0.4, 0.5, "not held"), (0.5, 0.5, "inconclusive")]


@pytest.mark.parametrize("sparse, dense, verdict", DENSE_CASES)
def test_sparse_beats_dense_judges_every_mask_over_seeds(sparse, dense, verdict):
    v, groups = c5.sparse_beats_dense(sweep_frame({"none": dense, **{m: sparse for m in ch5.METHODS}}), "layer")
    assert v.claim_id == "5-sparse-beats-dense-layer" and v.verdict == verdict and v.claim.startswith("[same fraction")
    assert v.test["n"] == len(SEEDS) and v.test["rule"] == "every group" and v.conclusion == "C6"
    assert sorted(groups["versus"]) == ["diff vs none", "magnitude vs none", "random vs none"]
    assert (groups["n"] == len(SEEDS)).all()  # each mask over seeds, its widths averaged within the seed


def test_one_mask_below_dense_is_not_hidden_by_the_others():
    final = sweep_frame({"none": 0.5, "diff": 0.7, "magnitude": 0.7, "random": 0.4})  # the masks' mean: 0.6 > 0.5
    v, groups = c5.sparse_beats_dense(final)
    assert v.verdict == "not held" and "per mask: 2 of 3 held, 1 not held" in v.ours
    assert groups.set_index("versus").loc["random vs none", "verdict"] == "not held"


def test_a_diverged_run_is_left_out_and_said():
    final = sweep_frame({"none": 0.5, **{m: 0.6 for m in ch5.METHODS}})
    final.loc[(final["method"] == "diff") & (final["seed"] == 0) & (final["width"] == 16), "test_acc"] = np.nan
    v, groups = c5.sparse_beats_dense(final)
    assert groups.set_index("versus").loc["diff vs none", "n"] == 2  # seed 0 lost its diff value, not averaged around
    assert "1 (group, seed) value(s) left out" in v.note  # and the verdict says so


def test_sparse_beats_dense_under_no_effect_is_decisive_at_most_alpha(n_seeds: int = 3):
    """No mask differs from the dense net; each width's dense run is shared by the three masks of its seed and
    every run of a seed shares that seed's level. Decisive verdicts: at most 5 % plus Monte-Carlo error."""
    rng, draws, decisive = np.random.default_rng(22), 150, 0
    widths, methods = (16, 32, 64), ("none", *ch5.METHODS)
    for _ in range(draws):
        level = rng.normal(0, 0.02, n_seeds)
        dense = {(w, sd): rng.normal(0, 0.02) for w in widths for sd in range(n_seeds)}
        rows = [{"width": w, "seed": sd, "method": m, "test_acc": 0.5 + level[sd] + dense[(w, sd)]
                 + (0 if m == "none" else rng.normal(0, 0.01))} for w in widths for sd in range(n_seeds) for m in methods]
        decisive += c5.sparse_beats_dense(pd.DataFrame(rows))[0].verdict in ("held", "not held")
    assert decisive / draws <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / draws)


@pytest.mark.parametrize("sparse, dense, verdict", [(0.8, 0.9, "held"), (0.95, 0.9, "not held"), (0.9, 0.9, "inconclusive")])
def test_sparse_lower_train_acc(sparse, dense, verdict):
    v, _ = c5.sparse_lower_train_acc(sweep_frame({"none": dense, **{m: sparse for m in ch5.METHODS}}, "train_acc"))
    assert v.claim_id == "5-sparse-lower-train-acc-global" and v.verdict == verdict and v.test["n"] == len(SEEDS)


@pytest.mark.parametrize("sparse, dense, verdict", [(0.1, 0.3, "held"), (0.3, 0.1, "not held"), (0.2, 0.2, "inconclusive")])
def test_sparse_smaller_gap(sparse, dense, verdict):
    v, _ = c5.sparse_smaller_gap(sweep_frame({"none": dense, **{m: sparse for m in ch5.METHODS}}, "gap"))
    assert v.claim_id == "5-sparse-smaller-gap-global" and v.verdict == verdict and v.test["n"] == len(SEEDS)


@pytest.mark.parametrize("acc, verdict", [
    ({"none": .4, "magnitude": .45, "diff": .4, "random": {16: .3, 32: .6}}, "held"),
    ({"none": .4, "magnitude": .45, "diff": {16: .6, 32: .6}, "random": .5}, "not held"),
    ({"none": .4, "magnitude": .5, "diff": .4, "random": .5}, "inconclusive"),
])
def test_random_best_at_large_widths_tests_every_candidate(acc, verdict):
    v, groups = c5.random_best_at_large_widths(sweep_frame(acc))
    assert v.verdict == verdict and v.test["n"] == len(SEEDS) and v.test["rule"] == "every group"
    assert sorted(groups["versus"]) == ["random vs diff", "random vs magnitude", "random vs none"]
    assert "at widths 32," in v.ours  # the wider half of (16, 32)
    assert v.conclusion == "C8" and v.bears == "against"


@pytest.mark.parametrize("mag, diff, verdict", [(0.5, 0.4, "held"), (0.4, 0.5, "not held"), (0.45, 0.45, "inconclusive")])
def test_magnitude_beats_diff_over_both_sweeps_one_value_per_seed(mag, diff, verdict):
    final = sweep_frame({"none": 0.3, "diff": diff, "magnitude": mag, "random": 0.3})
    scaling = scaling_frame({"magnitude": {2: mag, 4: mag}, "diff": {2: diff, 4: diff}})
    v, groups = c5.magnitude_beats_diff(final, scaling)
    assert v.claim_id == "5-magnitude-beats-diff-global" and v.verdict == verdict and v.figure == "Figures 5.1, 5.3"
    assert v.test["n"] == len(SEEDS) and groups["sweep"].tolist() == ["ratio", "ratio", "width", "width"]
    assert "2 widths of Fig. 5.1 and 2 parent ratios of Fig. 5.3" in v.ours and v.conclusion == "C8"
    alone, _ = c5.magnitude_beats_diff(final, None, "layer")
    assert alone.figure == "Figure 5.1" and alone.test["n"] == len(SEEDS)


@pytest.mark.parametrize("diff, rnd, verdict", [(0.5, 0.4, "held"), (0.4, 0.5, "not held"), (0.45, 0.45, "inconclusive")])
def test_diff_beats_random(diff, rnd, verdict):
    final = sweep_frame({"none": 0.3, "diff": diff, "magnitude": 0.4, "random": rnd})
    v, _ = c5.diff_beats_random(final, scaling_frame({"diff": {2: diff}, "random": {2: rnd}}))
    assert v.claim_id == "5-diff-beats-random-global" and v.verdict == verdict and v.test["n"] == len(SEEDS)
    assert v.conclusion == "C8" and v.bears == "for"


@pytest.mark.parametrize("gaps, verdict", [({"random": 0.1, "magnitude": 0.3, "diff": 0.3}, "held"),
                                           ({"random": 0.3, "magnitude": 0.1, "diff": 0.1}, "not held"),
                                           ({"random": 0.2, "magnitude": 0.25, "diff": 0.2}, "inconclusive")])
def test_random_smallest_gap_against_each_other_mask(gaps, verdict):
    v, groups = c5.random_smallest_gap(sweep_frame(gaps, "gap"))
    assert v.verdict == verdict and v.test["n"] == len(SEEDS) and v.test["rule"] == "every group"
    assert sorted(set(groups["versus"])) == ["random vs diff", "random vs magnitude"]


def test_diff_smaller_gap_only_at_the_narrow_widths():
    widths = (16, 32, 64, 128, 256)  # narrow: 16, 32, 64
    held = sweep_frame({"diff": {16: .1, 32: .1, 64: .1, 128: .9, 256: .9}, "magnitude": .3}, "gap", widths)
    v, groups = c5.diff_smaller_gap_narrow(held)
    assert v.verdict == "held" and groups["width"].tolist() == [16, 32, 64] and v.test["n"] == len(SEEDS)
    assert v.ours == "at widths 16, 32, 64: mean gap diff 0.100 vs magnitude 0.300"
    assert c5.diff_smaller_gap_narrow(sweep_frame({"diff": .4, "magnitude": .2}, "gap"))[0].verdict == "not held"
    assert c5.diff_smaller_gap_narrow(sweep_frame({"diff": .2, "magnitude": .2}, "gap"))[0].verdict == "inconclusive"


@pytest.mark.parametrize("acc, verdict", [
    ({"magnitude": {2: 0.3, 5: 0.4, 20: 0.5}, "diff": {2: 0.3, 5: 0.4, 20: 0.5}, "random": {2: .3, 20: .3}}, "held"),
    ({"magnitude": {2: 0.5, 20: 0.3}, "diff": {2: 0.5, 20: 0.3}, "random": {2: .3, 20: .3}}, "not held"),
    ({"magnitude": {2: 0.4, 20: 0.4}, "diff": {2: 0.4, 20: 0.4}, "random": {2: .3, 20: .3}}, "inconclusive"),
])
def test_parent_scaling_helps_is_a_trend_over_seeds(acc, verdict):
    scaling = scaling_frame(acc)
    v, groups = c5.parent_scaling_helps(scaling)
    assert v.claim_id == "5-parent-scaling-helps-global" and v.verdict == verdict and v.conclusion == "C7"
    assert v.test["n"] == len(SEEDS) and v.test["rule"] == "per-seed slope" and v.test["x"] == "log ratio"
    mine = scaling[scaling["method"].isin(["magnitude", "diff"])].groupby(["ratio", "seed"], as_index=False)["test_acc"].mean()
    assert np.allclose(groups["diff"], ln_slopes(mine, "test_acc", "ratio"))  # each seed: the two masks' mean, then its slope
    assert "at r=2 ->" in v.ours and "dense base 0.300" in v.ours


def test_parent_scaling_not_measured_with_one_ratio():
    v, groups = c5.parent_scaling_helps(scaling_frame({"magnitude": {4: 0.14}, "diff": {4: 0.1}, "random": {4: 0.1}}))
    assert v.verdict == "not measured at this scale" and groups.empty
    assert v.ours == "only one parent ratio (4) was trained, so no trend can be read"
    assert c5.parent_scaling_helps(scaling_frame({}))[0].verdict == "not measured at this scale"


@pytest.mark.parametrize("mag, rnd, verdict", [
    ({2: 0.5, 20: 0.5}, {2: 0.5, 20: 0.2}, "held"),      # random falls behind as the parent grows
    ({2: 0.5, 20: 0.3}, {2: 0.3, 20: 0.5}, "not held"),  # random catches up
    ({2: 0.5, 20: 0.5}, {2: 0.3, 20: 0.3}, "inconclusive"),  # behind by the same amount at both ratios
])
def test_random_weak_at_high_sparsity(mag, rnd, verdict):
    v, _ = c5.random_weak_at_high_sparsity(scaling_frame({"magnitude": mag, "random": rnd, "diff": mag}))
    assert v.claim_id == "5-random-weak-at-high-sparsity-global" and v.verdict == verdict
    assert v.test["n"] == len(SEEDS) and v.test["rule"] == "per-seed slope" and v.conclusion == ""
    assert "at r=20 (5.0% kept)" in v.ours  # 1/20 is sparse enough, although W(base)/W(parent) is a hair above


def test_random_weak_not_measured_when_pruning_is_mild():
    v, _ = c5.random_weak_at_high_sparsity(scaling_frame({"magnitude": {2: .5, 4: .5}, "random": {2: .1, 4: .1}}))
    assert v.verdict == "not measured at this scale"
    assert v.ours.startswith("the sparsest child here keeps 25.0% of its parent")
    one = scaling_frame({"magnitude": {62: .5}, "random": {62: .1}})
    assert c5.random_weak_at_high_sparsity(one)[0].verdict == "not measured at this scale"


def test_parent_size_needed():
    small = scaling_frame({"magnitude": {2: .5, 20: .5}, "diff": {2: .5, 20: .5}})  # parents of 0.4 M and 4 M weights
    v, _ = c5.parent_size_needed(small)
    assert v.claim_id == "5-parent-60m-100m-needed-global" and v.verdict == "not measured at this scale"
    assert v.ours.startswith("the largest parent here has 4.00 M weights")
    for late, verdict in ((0.6, "held"), (0.4, "not held"), (0.5, "inconclusive")):
        big = scaling_frame({"magnitude": {100: .5, 400: late}, "diff": {100: .5, 400: late}}, base_weights=200_000)
        v, groups = c5.parent_size_needed(big)  # parents of 20 M (below 60 M) and 80 M weights
        assert v.verdict == verdict and "(r=100) vs" in v.ours and "(r=400)" in v.ours
        assert v.test["n"] == len(SEEDS) and (groups["n"] == 2).all() and v.conclusion == "C7"


def test_chapter_5_names_the_scopes_it_runs(stand_in_fingerprint):
    s = ch5.setup(profile="smoke")
    assert ch5.MASK_SCOPES == {"prune sweep (Figs. 5.1, 5.2)": s.sweep_scopes, "parent scaling (Fig. 5.3)": s.scaling_scopes}
    children = [c for c in configs(ch5.plan(s)) if c.mask is not None]
    assert {c.mask.scope for c in children} == {sc for scopes in ch5.MASK_SCOPES.values() for sc in scopes}
    assert {c.mask.floor for c in children} == {ch5.MASK_FLOOR}
    text = ch5.scopes_text()
    assert "global (one ranking over every weight matrix, no floor per matrix)" in text and "layer (the same" in text


def test_chapter_5_verdicts_are_pure_and_ordered_by_claim_then_scope(run_cache):
    one = sweep_frame({"none": 0.3, "diff": 0.4, "magnitude": 0.4, "random": 0.3})
    final = pd.concat([one.assign(scope="global"), one.assign(scope="layer")], ignore_index=True)
    scaling = scaling_frame({"magnitude": {4: 0.14, 10: 0.2}, "diff": {4: 0.1, 10: 0.2},
                             "random": {4: 0.1, 10: 0.1}}).assign(scope="global")
    decided = c5.claims_of(final, scaling)
    vs = lv.verdicts_of(decided)
    sweep_ids = ["5-sparse-beats-dense", "5-sparse-lower-train-acc", "5-sparse-smaller-gap", "5-random-best-at-large-widths",
                 "5-magnitude-beats-diff", "5-diff-beats-random", "5-random-smallest-gap", "5-diff-smaller-gap-narrow"]
    scaling_ids = ["5-parent-scaling-helps", "5-random-weak-at-high-sparsity", "5-parent-60m-100m-needed"]
    assert [v.claim_id for v in vs] == ([f"{c}-{sc}" for c in sweep_ids for sc in ("global", "layer")]
                                        + [f"{c}-global" for c in scaling_ids])
    assert {v.chapter for v in vs} == {"05"} and not run_cache.exists() and all(v.fails_if for v in vs)
    measured = [v for v in vs if v.verdict != "not measured at this scale"]
    assert len(measured) >= 17 and all(v.test["n"] == len(SEEDS) for v in measured)  # the seed is the replicate
    conclusions = {v.claim_id.rsplit("-", 1)[0]: (v.conclusion, v.bears) for v in vs}
    assert conclusions == {"5-sparse-beats-dense": ("C6", "for"), "5-sparse-lower-train-acc": ("C6", "for"),
                           "5-sparse-smaller-gap": ("C6", "for"), "5-random-best-at-large-widths": ("C8", "against"),
                           "5-magnitude-beats-diff": ("C8", "for"), "5-diff-beats-random": ("C8", "for"),
                           "5-random-smallest-gap": ("", "for"), "5-diff-smaller-gap-narrow": ("", "for"),
                           "5-parent-scaling-helps": ("C7", "for"), "5-random-weak-at-high-sparsity": ("", "for"),
                           "5-parent-60m-100m-needed": ("C7", "for")}
    assert lv.verdicts_of(c5.claims_of(one, scaling.drop(columns="scope")))[0].claim_id == "5-sparse-beats-dense-global"
    s = SimpleNamespace(ratio=10.0, profile=SimpleNamespace(base_width=16), base=ch5.setup(profile="smoke").base)
    decided = ch5.claims(s, SimpleNamespace(final=final, scaling=scaling))
    assert all(v.scale.endswith("2 epochs (thesis 200)") for v, _ in decided)
    assert decided[0][0].scale.startswith("dense width-32 MLP test acc 0.30") and "dense base" not in decided[0][0].scale
    assert "dense base width 16" in decided[-1][0].scale
