"""Chapters 4 and 5 (lib.chapters.ch04_width, ch05_pruning_mlp): parameters, setup errors, and every
verdict rule on small hand-made frames (no training)."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from lib.chapters import ch04_width as ch4
from lib.chapters import ch05_pruning_mlp as ch5
from lib.chapters.params import ParameterError

SEEDS = (0, 1)
JITTER = 0.005  # per-seed offset: seed 0 at mean - JITTER, seed 1 at mean + JITTER (sd about 0.007)


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
    assert s4.widths == (16, 32) and s4.seeds[0] == 5 and set(s4.seeds) == {5, *SEEDS}
    s5 = ch5.setup(profile="smoke", density=0.25)
    assert s5.ratio == 4.0 and s5.widths == tuple(sorted(s5.profile.prune_widths))


# ------------------------------------------------------------------------------- synthetic frames
def per_seed(mean: float) -> list[float]:
    return [mean - JITTER, mean + JITTER]


def width_frame(col: str, means: dict[int, float], **extra: dict[int, float]) -> pd.DataFrame:
    """Rows (width, seed, col, *extra) with the given per-width means."""
    rows = []
    for w, m in means.items():
        for s, v in zip(SEEDS, per_seed(m)):
            row = {"width": w, "seed": s, col: v}
            row.update({k: per_seed(e[w])[s] for k, e in extra.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def sweep_frame(test_acc: dict[str, float | dict], gap: dict[str, float | dict] | None = None,
                widths=(16, 32)) -> pd.DataFrame:
    """Prune-sweep rows (width, seed, method, test_acc, gap); a method's value is one mean for every
    width or a {width: mean} dict."""
    gap = gap or {m: 0.1 for m in test_acc}
    at = lambda v, w: v[w] if isinstance(v, dict) else v  # noqa: E731
    return pd.DataFrame([{"width": w, "seed": s, "method": m, "test_acc": per_seed(at(test_acc[m], w))[i],
                          "gap": per_seed(at(gap[m], w))[i]}
                         for w in widths for m in test_acc for i, s in enumerate(SEEDS)])


def scaling_frame(acc: dict[str, dict[float, float]], dense: float = 0.3) -> pd.DataFrame:
    """Parent-scaling rows (ratio, seed, method, test_acc, density): the dense "none" row at ratio 1
    and each method's {ratio: mean test accuracy} at density 1/ratio."""
    rows = [{"ratio": 1.0, "seed": s, "method": "none", "test_acc": v, "density": 1.0}
            for s, v in zip(SEEDS, per_seed(dense))]
    rows += [{"ratio": float(r), "seed": s, "method": m, "test_acc": v, "density": 1 / r}
             for m, by_r in acc.items() for r, mean in by_r.items() for s, v in zip(SEEDS, per_seed(mean))]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ chapter 4
@pytest.mark.parametrize("gaps, verdict", [({16: 0.1, 32: 0.3}, "held"), ({16: 0.3, 32: 0.1}, "not held"),
                                           ({16: 0.2, 32: 0.2}, "tie")])
def test_gap_grows(gaps, verdict):
    v = ch4.gap_grows(width_frame("gap", gaps))
    assert v.claim_id == "4-gap-grows-with-width" and v.chapter == "04" and v.verdict == verdict
    assert "at width 16 vs" in v.ours and "rank correlation" in v.ours


@pytest.mark.parametrize("gaps, verdict", [({64: 0.1, 1500: 0.3, 2000: 0.3, 2800: 0.3}, "held"),
                                           ({1500: 0.3, 2800: 0.5}, "not held"),
                                           ({1500: 0.5, 2800: 0.3}, "not held")])
def test_gap_levels_off(gaps, verdict):
    final = width_frame("gap", gaps, train_acc={w: 1.0 for w in gaps})
    v = ch4.gap_levels_off(final, plateau=1500)
    assert v.verdict == verdict
    assert "at width 1500 vs" in v.ours and "first reaches 0.99 at width" in v.ours


def test_gap_levels_off_not_measured_below_the_plateau():
    final = width_frame("gap", {16: 0.0, 32: 0.05}, train_acc={16: 0.5, 32: 0.6})
    v = ch4.gap_levels_off(final)
    assert v.verdict == "not measured at this scale"
    assert "widest width here is 32" in v.ours and "stays below 0.99 at every width" in v.ours
    assert ch4.gap_levels_off(width_frame("gap", {16: 0.0, 1600: 0.1}, train_acc={16: .5, 1600: 1.}),
                              plateau=1500).verdict == "not measured at this scale"  # one width past it


@pytest.mark.parametrize("peaks, verdict, best", [({16: 0.01, 32: 0.05, 64: 0.03}, "held", 32),
                                                  ({16: 0.05, 64: 0.01}, "not held", 16),
                                                  ({16: 0.02, 64: 0.02}, "tie", 16)])
def test_coherence_grows(peaks, verdict, best):
    v = ch4.coherence_grows(width_frame("max_coherence", peaks))
    assert v.verdict == verdict and f"highest mean peak at width {best}" in v.ours
    assert v.claim_id == "4-coherence-grows-with-width"


def spread_frame(narrower: int, wider_same: int, pooled: tuple[float, float] = (0.1, 0.05)) -> pd.DataFrame:
    """Diff spreads at widths 16 and 64 of five weight matrices: the first ``narrower`` have a smaller sd
    at width 64, the next ``wider_same`` the same sd, the rest a larger one; "all" is ``pooled``."""
    layers = ch4.mlp.weight_layers(3)
    rows = []
    for i, layer in enumerate(layers):
        lo = 0.1
        hi = 0.05 if i < narrower else (0.1 if i < narrower + wider_same else 0.2)
        rows.append((layer, lo, hi))
    rows.append(("all", *pooled))
    out = []
    for layer, lo, hi in rows:
        for w, m in ((16, lo), (64, hi)):
            out += [{"width": w, "seed": s, "layer": layer, "sd": v} for s, v in zip(SEEDS, per_seed(m))]
    return pd.DataFrame(out)


@pytest.mark.parametrize("narrower, same, verdict, n", [(3, 2, "held", 3), (2, 3, "tie", 2), (5, 0, "held", 5),
                                                        (0, 2, "not held", 0), (2, 1, "tie", 2)])
def test_diffs_narrow_is_a_majority_over_weight_matrices(narrower, same, verdict, n):
    v = ch4.diffs_narrow(spread_frame(narrower, same))
    assert v.verdict == verdict
    assert v.ours.endswith(f"narrower at the wider width in {n} of 5 weight matrices")
    assert v.ours.startswith("sd of all diffs 0.1000 at width 16 vs 0.0500 at width 64")


def test_chapter_4_verdicts_are_pure_and_ordered(run_cache):
    final = width_frame("gap", {16: 0.1, 32: 0.3}, train_acc={16: .5, 32: .6})
    r = SimpleNamespace(final=final, peak=width_frame("max_coherence", {16: .01, 32: .02}),
                        spread=spread_frame(3, 2))
    vs = ch4.verdicts(None, r)
    assert [v.claim_id for v in vs] == ["4-gap-grows-with-width", "4-gap-levels-off", "4-coherence-grows-with-width",
                                        "4-diffs-narrow-with-width"]
    assert not run_cache.exists()  # nothing stored


# ------------------------------------------------------------------------------------ chapter 5
def test_sparse_beats_dense():
    held = sweep_frame({"none": 0.3, "diff": 0.4, "magnitude": 0.4, "random": 0.3})  # 4 of 6 above dense
    v = ch5.sparse_beats_dense(held)
    assert v.verdict == "held" and v.claim_id == "5-sparse-beats-dense"
    assert v.ours == "diff above dense at 2/2 widths; magnitude above dense at 2/2 widths; random above dense at 0/2 widths"
    assert ch5.sparse_beats_dense(sweep_frame({"none": 0.5, "diff": 0.4, "magnitude": 0.4, "random": 0.5})).verdict \
        == "not held"
    assert ch5.sparse_beats_dense(sweep_frame({"none": 0.5, "diff": 0.6, "magnitude": 0.4, "random": 0.5})).verdict \
        == "tie"


@pytest.mark.parametrize("gaps, verdict", [({"none": 0.3, "diff": 0.1, "magnitude": 0.1, "random": 0.1}, "held"),
                                           ({"none": 0.1, "diff": 0.3, "magnitude": 0.3, "random": 0.1}, "not held"),
                                           ({"none": 0.2, "diff": 0.2, "magnitude": 0.2, "random": 0.2}, "tie")])
def test_sparse_smaller_gap(gaps, verdict):
    v = ch5.sparse_smaller_gap(sweep_frame({m: 0.5 for m in gaps}, gaps))
    assert v.verdict == verdict
    n = {"held": 2, "not held": 0, "tie": 0}[verdict]
    assert v.ours.startswith(f"diff gap below dense at {n}/2 widths")


def test_magnitude_beats_diff_counts_both_sweeps():
    final = sweep_frame({"none": 0.3, "diff": 0.3, "magnitude": 0.4, "random": 0.3})
    up = scaling_frame({"magnitude": {2: 0.5, 4: 0.5}, "diff": {2: 0.4, 4: 0.4}})
    down = scaling_frame({"magnitude": {2: 0.3, 4: 0.3, 8: 0.3}, "diff": {2: 0.4, 4: 0.4, 8: 0.4}})
    v = ch5.magnitude_beats_diff(final, up)
    assert v.verdict == "held"
    assert v.ours == ("magnitude above diff at 2/2 widths (Fig. 5.1) and 2/2 parent ratios (Fig. 5.3); "
                      "mean test accuracy 0.400 vs 0.300 over the width sweep")
    assert ch5.magnitude_beats_diff(final, down).verdict == "not held"  # 3 of 5 comparisons against
    assert ch5.magnitude_beats_diff(sweep_frame({"none": .3, "diff": .3, "magnitude": .3, "random": .3}),
                                    up).verdict == "tie"  # 2 held, 2 ties


@pytest.mark.parametrize("gaps, verdict, tally", [({"random": 0.1, "magnitude": 0.3, "diff": 0.3}, "held", "4/4"),
                                                  ({"random": 0.3, "magnitude": 0.1, "diff": 0.1}, "not held", "0/4"),
                                                  ({"random": 0.1, "magnitude": 0.3, "diff": 0.1}, "tie", "2/4")])
def test_random_smallest_gap(gaps, verdict, tally):
    v = ch5.random_smallest_gap(sweep_frame({m: 0.5 for m in gaps}, gaps))
    assert v.verdict == verdict
    assert v.ours == f"random gap below magnitude and diff in {tally} comparisons (widths x 2 masks)"


def test_diff_smaller_gap_only_at_the_narrow_widths():
    widths = (16, 32, 64, 128, 256)  # narrow: 16, 32, 64
    held = sweep_frame({"diff": 0.5, "magnitude": 0.5},
                       {"diff": {16: .1, 32: .1, 64: .3, 128: .9, 256: .9}, "magnitude": .3}, widths)
    v = ch5.diff_smaller_gap_narrow(held)
    assert v.verdict == "held"
    assert v.ours.startswith("width 16: gap 0.100 (diff) vs 0.300 (magnitude), held; width 32:")
    assert "width 128" not in v.ours and "width 64: gap 0.300 (diff) vs 0.300 (magnitude), tie" in v.ours
    not_held = sweep_frame({"diff": 0.5, "magnitude": 0.5}, {"diff": .4, "magnitude": .2}, (16, 32))
    assert ch5.diff_smaller_gap_narrow(not_held).verdict == "not held"  # narrow: width 16 only
    tie = sweep_frame({"diff": 0.5, "magnitude": 0.5}, {"diff": {16: .1, 32: .5, 64: .2}, "magnitude": .2}, (16, 32, 64))
    assert ch5.diff_smaller_gap_narrow(tie).verdict == "tie"  # narrow 16, 32: held, not held


@pytest.mark.parametrize("acc, verdict", [
    ({"magnitude": {2: 0.3, 20: 0.5}, "diff": {2: 0.3, 20: 0.5}, "random": {2: .3, 20: .3}}, "held"),
    ({"magnitude": {2: 0.5, 20: 0.3}, "diff": {2: 0.5, 20: 0.3}, "random": {2: .3, 20: .3}}, "not held"),
    ({"magnitude": {2: 0.3, 20: 0.5}, "diff": {2: 0.5, 20: 0.5}, "random": {2: .3, 20: .3}}, "tie"),
])
def test_parent_scaling_helps(acc, verdict):
    v = ch5.parent_scaling_helps(scaling_frame(acc))
    assert v.verdict == verdict
    assert v.ours.startswith("magnitude: ") and "at r=2 ->" in v.ours and "vs dense 0.300" in v.ours


def test_parent_scaling_not_measured_with_one_ratio():
    v = ch5.parent_scaling_helps(scaling_frame({"magnitude": {4: 0.14}, "diff": {4: 0.1}, "random": {4: 0.1}},
                                               dense=0.115))
    assert v.verdict == "not measured at this scale"
    assert v.ours == ("only one parent ratio (4) was trained, so no trend can be read; "
                      "best child magnitude at r=4: 0.140 vs dense 0.115")
    assert ch5.parent_scaling_helps(scaling_frame({})).verdict == "not measured at this scale"


@pytest.mark.parametrize("mag, rnd, verdict", [
    ({2: 0.5, 62: 0.5}, {2: 0.5, 62: 0.2}, "held"),      # behind at r=62, and more than at r=2
    ({2: 0.5, 62: 0.3}, {2: 0.5, 62: 0.5}, "not held"),  # random ahead at r=62
    ({2: 0.5, 62: 0.5}, {2: 0.3, 62: 0.3}, "tie"),       # behind at r=62, but no more than at r=2
])
def test_random_weak_at_high_sparsity(mag, rnd, verdict):
    v = ch5.random_weak_at_high_sparsity(scaling_frame({"magnitude": mag, "random": rnd, "diff": mag}))
    assert v.verdict == verdict
    assert v.ours.startswith("at r=62 (1.6% kept) random")


def test_random_weak_not_measured_when_pruning_is_mild():
    v = ch5.random_weak_at_high_sparsity(scaling_frame({"magnitude": {2: .5, 4: .5}, "random": {2: .1, 4: .1}}))
    assert v.verdict == "not measured at this scale"
    assert v.ours.startswith("the sparsest child here keeps 25.0% of its parent")
    one = scaling_frame({"magnitude": {62: .5}, "random": {62: .1}})
    assert ch5.random_weak_at_high_sparsity(one).verdict == "not measured at this scale"


def test_chapter_5_verdicts_are_pure_and_ordered(run_cache):
    final = sweep_frame({"none": 0.3, "diff": 0.4, "magnitude": 0.4, "random": 0.3})
    scaling = scaling_frame({"magnitude": {4: 0.14}, "diff": {4: 0.1}, "random": {4: 0.1}})
    vs = ch5.verdicts(None, SimpleNamespace(final=final, scaling=scaling))
    assert [v.claim_id for v in vs] == ["5-sparse-beats-dense", "5-sparse-smaller-gap", "5-magnitude-beats-diff",
                                        "5-random-smallest-gap", "5-diff-smaller-gap-narrow", "5-parent-scaling-helps",
                                        "5-random-weak-at-high-sparsity"]
    assert {v.chapter for v in vs} == {"05"} and not run_cache.exists()
