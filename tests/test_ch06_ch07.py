"""Chapters 6 and 7 as modules: each chapter-6 claim decided on hand-made per-seed numbers (held, not held,
inconclusive), the paired helpers behind them, chapter 7's loading of verdicts with provenance (missing and
stale chapters), its regimes, its "what we changed" list, and both chapters' parameters."""
from __future__ import annotations

import dataclasses
import types

import numpy as np
import pandas as pd
import pytest

from lib import profiles
from lib.chapters import ch06_pruning_large as ch6
from lib.chapters import ch07_conclusions as ch7
from lib.chapters import conclusions_tables as ct
from lib.chapters import registry
from lib.chapters import seed_tests as st
from lib.chapters import verdicts as vd
from lib.chapters.large import METHODS, PRUNED
from lib.chapters.params import ParameterError
from lib.chapters.verdicts import Verdict
from lib.plan import hashes

P = ch6.Params(profile="smoke")  # floor 0.02, density 0.1
RG, RL, VG, VL = ("resnet", "global"), ("resnet", "layer"), ("vit", "global"), ("vit", "layer")
SEEDS = (0, 1, 2)
#: A seed effect shared by every run of a seed: pairing by seed removes it, so a constant difference is decisive.
COMMON = (-0.01, 0.0, 0.01)


def noisy(mu: float) -> list[float]:
    """Per-seed values around ``mu`` whose paired differences with a clean mask vary in sign (± 0.02)."""
    return [mu + c + j for c, j in zip(COMMON, (0.02, -0.02, 0.0))]


def results(spec: dict[str, float | list[float]]) -> pd.DataFrame:
    """Three seeds per mask: a number is that mask's mean (plus the seed effect), a list its per-seed values;
    masks not named sit at 0.5."""
    rows = []
    for m in METHODS:
        v = spec.get(m, 0.5)
        vals = v if isinstance(v, list) else [v + c for c in COMMON]
        rows += [{"method": m, "seed": s, "train_acc": 0.9, "test_acc": a} for s, a in zip(SEEDS, vals)]
    return pd.DataFrame(rows)


def layers(kept: dict[str, list[int] | dict[int, list[int]]] | None = None, size: int = 1000) -> pd.DataFrame:
    """Four tensors of ``size`` per mask and seed; ``kept``: counts per mask (the same for every seed, or per
    seed as {seed: counts}); default 10 % everywhere."""
    kept = kept or {}
    rows = []
    for m in PRUNED:
        for s in SEEDS:
            k = kept.get(m, [size // 10] * 4)
            k = k.get(s, [size // 10] * 4) if isinstance(k, dict) else k
            for d, n in enumerate(k):
                rows.append({"method": m, "seed": s, "layer": f"l{d}.weight", "group": "conv", "depth": d,
                             "size": size, "kept": n, "fraction_kept": n / size})
    return pd.DataFrame(rows)


def tables(lay: dict | None = None, **settings: dict) -> dict:
    """``tables(resnet_global={...})`` -> {("resnet", "global"): (results, layers)}."""
    return {tuple(k.split("_")): (results(v), layers(lay)) for k, v in settings.items()}


HELD, NOT, INC = "held", "not held", "inconclusive"
ALL4 = dict(resnet_global={}, resnet_layer={}, vit_global={}, vit_layer={})


def seeded(mu: float, jitter: tuple[float, float, float]) -> list[float]:
    """Per-seed values: ``mu`` plus the seed effect plus ``jitter`` (the paired differences with a clean mask)."""
    return [mu + c + j for c, j in zip(COMMON, jitter)]


CASES = [
    # Table 6.1: text (magnitude best, coherence_worst second) and table (random best, coherence_best above worst);
    # a winner is tested against every rival (Holm's correction over them)
    (ch6.magnitude_best_wins_global, tables(resnet_global=dict(magnitude_best=0.8)), HELD),
    (ch6.magnitude_best_wins_global, tables(resnet_global=dict(magnitude_best=0.7, coherence_worst=0.8)), NOT),
    (ch6.magnitude_best_wins_global, tables(resnet_global=dict(magnitude_best=noisy(0.505))), INC),
    (ch6.random_best_global, tables(resnet_global=dict(random=0.8)), HELD),
    (ch6.random_best_global, tables(resnet_global=dict(random=0.7, magnitude_best=0.8)), NOT),
    (ch6.random_best_global, tables(resnet_global=dict(random=noisy(0.505))), INC),
    # magnitude_best is not a rival of the "second place" claim
    (ch6.coherence_worst_second_global, tables(resnet_global=dict(coherence_worst=0.8, magnitude_best=0.9)), HELD),
    (ch6.coherence_worst_second_global, tables(resnet_global=dict(coherence_worst=0.4)), NOT),
    (ch6.coherence_worst_second_global, tables(resnet_global=dict(coherence_worst=noisy(0.505))), INC),
    (ch6.coherence_best_above_worst_global, tables(resnet_global=dict(coherence_best=0.2, coherence_worst=0.1)), HELD),
    (ch6.coherence_best_above_worst_global, tables(resnet_global=dict(coherence_best=0.1, coherence_worst=0.2)), NOT),
    (ch6.coherence_best_above_worst_global, tables(resnet_global=dict(coherence_best=noisy(0.505))), INC),
    (ch6.magnitude_beats_diff_global, tables(resnet_global=dict(magnitude_best=0.8, coherence_best=0.7)), HELD),
    (ch6.magnitude_beats_diff_global, tables(resnet_global=dict(magnitude_best=0.7, coherence_best=0.8)), NOT),
    (ch6.magnitude_beats_diff_global, tables(resnet_global=dict(magnitude_best=noisy(0.505))), INC),
    (ch6.magnitude_beats_diff_layer, tables(resnet_layer=dict(magnitude_best=0.8, coherence_best=0.7)), HELD),
    (ch6.magnitude_beats_diff_layer, tables(resnet_layer=dict(magnitude_best=0.7, coherence_best=0.8)), NOT),
    (ch6.magnitude_beats_diff_layer, tables(resnet_layer=dict(magnitude_best=noisy(0.505))), INC),
    # C8 on the ResNet: one claim per scope
    (ch6.diff_beats_random_global, tables(resnet_global=dict(coherence_best=0.6)), HELD),
    (ch6.diff_beats_random_global, tables(resnet_global=dict(random=0.6)), NOT),
    (ch6.diff_beats_random_global, tables(resnet_global=dict(coherence_best=noisy(0.505))), INC),
    (ch6.diff_beats_random_layer, tables(resnet_layer=dict(coherence_best=0.6)), HELD),
    (ch6.diff_beats_random_layer, tables(resnet_layer=dict(random=0.6)), NOT),
    (ch6.diff_beats_random_layer, tables(resnet_layer=dict(coherence_best=noisy(0.505))), INC),
    (ch6.layer_fixes_resnet_diff, tables(resnet_layer=dict(coherence_best=0.8), resnet_global=dict(coherence_best=0.1)), HELD),
    (ch6.layer_fixes_resnet_diff, tables(resnet_layer=dict(coherence_best=0.1), resnet_global=dict(coherence_best=0.8)), NOT),
    (ch6.layer_fixes_resnet_diff, tables(resnet_layer=dict(coherence_best=noisy(0.505)), resnet_global={}), INC),
    # 6.2: per layer, the diff mask's best above its worst (the magnitude masks do not enter)
    (ch6.no_longer_inverted_layer, tables(resnet_layer=dict(coherence_best=0.6, magnitude_worst=0.6)), HELD),
    (ch6.no_longer_inverted_layer, tables(resnet_layer=dict(coherence_worst=0.6, magnitude_best=0.6)), NOT),
    (ch6.no_longer_inverted_layer, tables(resnet_layer=dict(coherence_best=noisy(0.505), magnitude_best=0.6)), INC),
    # random per layer no more than 3 points below magnitude_best global (one-sided)
    (ch6.random_strong, tables(resnet_layer=dict(random=0.49), resnet_global={}), HELD),
    (ch6.random_strong, tables(resnet_layer=dict(random=0.4), resnet_global={}), NOT),
    (ch6.random_strong, tables(resnet_layer=dict(random=noisy(0.47)), resnet_global={}), INC),
    # the ViT, global: text (diff wins, matches dense, random beats magnitude) and table (magnitude wins)
    (ch6.vit_diff_wins_global, tables(vit_global=dict(coherence_best=0.8, coherence_worst=0.9)), HELD),
    (ch6.vit_diff_wins_global, tables(vit_global=dict(coherence_best=0.7, random=0.8)), NOT),
    (ch6.vit_diff_wins_global, tables(vit_global=dict(coherence_best=noisy(0.505))), INC),
    (ch6.vit_diff_matches_dense_global, tables(vit_global=dict(coherence_best=0.505)), HELD),
    (ch6.vit_diff_matches_dense_global, tables(vit_global=dict(coherence_best=0.4)), NOT),
    (ch6.vit_diff_matches_dense_global, tables(vit_global=dict(coherence_best=noisy(0.5))), INC),
    (ch6.vit_magnitude_best_wins_global, tables(vit_global=dict(magnitude_best=0.8)), HELD),
    (ch6.vit_magnitude_best_wins_global, tables(vit_global=dict(magnitude_best=0.7, coherence_best=0.8)), NOT),
    (ch6.vit_magnitude_best_wins_global, tables(vit_global=dict(magnitude_best=noisy(0.505))), INC),
    (ch6.vit_random_beats_magnitude_global, tables(vit_global=dict(random=0.6)), HELD),
    (ch6.vit_random_beats_magnitude_global, tables(vit_global=dict(magnitude_best=0.6)), NOT),
    (ch6.vit_random_beats_magnitude_global, tables(vit_global=dict(random=noisy(0.505))), INC),
    # the ViT, per layer
    (ch6.vit_diff_best_layer, tables(vit_layer=dict(coherence_best=0.8, magnitude_worst=0.7)), HELD),
    (ch6.vit_diff_best_layer, tables(vit_layer=dict(coherence_best=0.7, magnitude_worst=0.8)), NOT),
    (ch6.vit_diff_best_layer, tables(vit_layer=dict(coherence_best=noisy(0.505))), INC),
    (ch6.vit_no_parity_layer, tables(vit_layer=dict(coherence_best=0.45)), HELD),
    (ch6.vit_no_parity_layer, tables(vit_layer=dict(coherence_best=0.5)), NOT),
    (ch6.vit_no_parity_layer, tables(vit_layer=dict(coherence_best=noisy(0.49))), INC),
    # section 7.2: equivalence within 2 points in every setting where the thesis's tables show a small gap
    (ch6.mask_inversion_gap_small, tables(resnet_global=dict(magnitude_best=0.51), resnet_layer=dict(magnitude_best=0.51),
                                          vit_layer={}, vit_global=dict(magnitude_best=0.9)), HELD),
    (ch6.mask_inversion_gap_small, tables(resnet_global=dict(magnitude_best=0.6), resnet_layer={}, vit_layer={}), NOT),
    (ch6.mask_inversion_gap_small, tables(resnet_global=dict(magnitude_best=noisy(0.505)), resnet_layer={}), INC),
    (ch6.mask_inversion_gap_small_vit_global, tables(vit_global=dict(magnitude_best=0.51)), HELD),
    (ch6.mask_inversion_gap_small_vit_global, tables(vit_global=dict(magnitude_best=0.8, magnitude_worst=0.3)), NOT),
    (ch6.mask_inversion_gap_small_vit_global, tables(vit_global=dict(magnitude_best=noisy(0.505))), INC),
    # section 7.3: every mask against dense, Holm's correction over all of them
    (ch6.pruned_near_parity, tables(resnet_global=dict(magnitude_best=0.79, none=0.8), vit_global=dict(random=0.81, none=0.8)), HELD),
    (ch6.pruned_near_parity, tables(resnet_global=dict(magnitude_best=0.79, none=0.8), vit_global=dict(none=0.9)), NOT),
    (ch6.pruned_near_parity, tables(resnet_global=dict(magnitude_best=noisy(0.79), none=0.8), vit_global=dict(random=0.81, none=0.8)), INC),
    (ch6.only_vit_competitive, tables(resnet_global=dict(magnitude_best=0.7, none=0.8), vit_global=dict(magnitude_best=0.8, none=0.8)), HELD),
    (ch6.only_vit_competitive, tables(resnet_global=dict(magnitude_best=0.8, none=0.8), vit_global=dict(magnitude_best=0.8, none=0.8)), NOT),
    (ch6.only_vit_competitive, tables(resnet_global=dict(magnitude_best=noisy(0.79), none=0.8), vit_global=dict(magnitude_best=0.8, none=0.8)), INC),
]


@pytest.mark.parametrize("rule, t, expected", CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_chapter6_rule(rule, t, expected):
    d = rule(t, P)
    assert isinstance(d, vd.Decided) and isinstance(d.verdict, Verdict)
    v = d.verdict
    assert v.chapter == "06" and v.claim_id.startswith("6-") and v.fails_if
    assert v.verdict == expected, (v.ours, v.test)
    assert v.test["verdict"] == v.verdict and "dense test acc" in v.scale and "(thesis " in v.scale
    assert v.test["n"] == len(SEEDS)  # the seed is the replicate: never (item, seed) pairs
    assert len(d.groups) >= 1 and set(st.GROUP_STATS) <= set(d.groups.columns)


def test_every_rule_has_cases():
    layered = {ch6.global_diff_overprunes_layers, ch6.floor_masks_text, ch6.early_layers_caption, ch6.vit_global_even_layers}
    assert {c[0] for c in CASES} | layered == set(ch6.RULES)
    assert {(c[0], c[2]) for c in CASES} >= {(r, w) for r in set(ch6.RULES) - layered for w in (HELD, NOT, INC)}


AT_FLOOR = [20, 20, 100, 100]  # two of four tensors at the 2 % floor
EARLY_THIN = [20, 20, 180, 180]  # keeps 2 % of the first half against random's 10 %


@pytest.mark.parametrize("rule, kept, expected", [
    (ch6.global_diff_overprunes_layers, dict(coherence_best=AT_FLOOR), HELD),
    (ch6.global_diff_overprunes_layers, dict(magnitude_best=AT_FLOOR), NOT),
    (ch6.global_diff_overprunes_layers, dict(coherence_best={0: AT_FLOOR}, magnitude_best={1: AT_FLOOR}), INC),
    # each of the two masks leaves at least a tenth of its tensors at the floor; the random mask does not enter
    (ch6.floor_masks_text, dict(coherence_worst=AT_FLOOR, magnitude_best=AT_FLOOR), HELD),
    (ch6.floor_masks_text, dict(coherence_worst=AT_FLOOR, magnitude_best=AT_FLOOR, random=AT_FLOOR), HELD),
    (ch6.floor_masks_text, dict(random=AT_FLOOR), NOT),  # neither mask has a tensor at the floor
    (ch6.floor_masks_text, dict(coherence_worst=AT_FLOOR), NOT),  # magnitude_best has none: "each" fails
    (ch6.floor_masks_text, dict(coherence_worst={0: AT_FLOOR}, magnitude_best=AT_FLOOR), INC),
    (ch6.early_layers_caption, dict(coherence_best=EARLY_THIN, magnitude_worst=EARLY_THIN), HELD),
    (ch6.early_layers_caption, dict(coherence_best=EARLY_THIN[::-1], magnitude_worst=EARLY_THIN[::-1]), NOT),
    (ch6.early_layers_caption, dict(coherence_best={0: EARLY_THIN}), INC),
    (ch6.early_layers_caption, dict(coherence_best=EARLY_THIN), INC),  # magnitude_worst level with random
])
def test_resnet_layer_claims(rule, kept, expected):
    v = rule(tables(kept, resnet_global={}), P).verdict
    assert v.verdict == expected and v.figure == "Figure 6.3", (v.ours, v.test)
    assert v.test["n"] == len(SEEDS)


def test_layer_claims_over_two_masks_judge_each_mask_over_seeds():
    d = ch6.floor_masks_text(tables(dict(coherence_worst=AT_FLOOR, magnitude_best=AT_FLOOR), resnet_global={}), P)
    assert d.verdict.test["rule"] == "every group" and d.verdict.test["groups"] == 2
    assert list(d.groups["method"]) == ["coherence_worst", "magnitude_best"] and (d.groups["n"] == 3).all()
    # the difference shown is the share at the floor (0.5) minus the threshold
    assert d.verdict.test["diff"] == pytest.approx(0.5 - ch6.MANY_AT_FLOOR)
    e = ch6.early_layers_caption(tables(dict(coherence_best=EARLY_THIN, magnitude_worst=EARLY_THIN), resnet_global={}), P)
    assert e.verdict.test["rule"] == "every group" and list(e.groups["method"]) == ["coherence_best", "magnitude_worst"]
    assert e.verdict.test["diff"] == pytest.approx(0.02 - 0.1)


@pytest.mark.parametrize("kept, expected", [
    ({}, HELD), (dict(random=[20, 100, 100, 100]), NOT), (dict(random={0: [20, 100, 100, 100]}), INC)])
def test_vit_global_even_layers(kept, expected):
    v = ch6.vit_global_even_layers(tables(kept, vit_global={}), P).verdict
    assert v.verdict == expected and v.figure == "Figure 6.4" and v.test.get("margin") == ch6.EVEN_MARGIN
    assert v.test["claim"] == "equal" and v.test["level"] == pytest.approx(0.9)  # two one-sided tests
    assert v.test["ci_low"] >= 0  # a count is never negative


def test_margins_are_fixed_constants():
    assert (ch6.PARITY_MARGIN, ch6.NEAR_MARGIN, ch6.INVERSION_MARGIN, ch6.EVEN_MARGIN, ch6.MANY_AT_FLOOR) == \
        (0.01, 0.03, 0.02, 0.5, 0.1)
    assert "inversion_gap" not in {f.name for f in dataclasses.fields(ch6.Params)}
    v = ch6.mask_inversion_gap_small(tables(resnet_global=dict(magnitude_best=0.51)), P).verdict
    assert v.test["margin"] == ch6.INVERSION_MARGIN and v.test["claim"] == "equal"


def test_compare_shows_a_minus_b_and_decides_against_the_threshold():
    t = tables(resnet_global=dict(random=[0.52, 0.53, 0.54], none=[0.5, 0.5, 0.5]))
    # 0.03 [0.005, 0.055] above 0; against -0.01 (one-sided "less") it is not held
    raw = ch6.compare(t, (RG, "random"), (RG, "none"), claim="less", threshold=-0.01)
    s = ch6.shown(raw)
    assert s["diff"] == pytest.approx(0.03) and s["b"] == pytest.approx(0.5) and -0.01 < s["ci_low"] < 0.03 < s["ci_high"]
    assert raw["diff"] == pytest.approx(0.04) and s["verdict"] == NOT and s["n"] == 3
    t2 = tables(resnet_global=dict(random=[0.50, 0.51, 0.52], none=[0.5, 0.5, 0.5]))
    assert ch6.compare(t2, (RG, "random"), (RG, "none"), claim="less", threshold=-0.01)["verdict"] == INC
    with pytest.raises(ValueError, match="margin"):
        ch6.compare(t, (RG, "random"), (RG, "none"), claim="equal")
    # across scopes the runs are named with their scope, and the interval stays inside [-1, 1]
    far = tables(resnet_global=dict(random=[0.0, 0.0, 0.9]), resnet_layer=dict(random=[1.0, 1.0, 0.0]))
    x = ch6.compare(far, (RL, "random"), (RG, "random"))
    assert x["label"] == "random (layer) - random (global)" and x["ci_low"] >= -1 and x["ci_high"] <= 1 and x["clipped"]


def test_non_finite_runs_are_counted_not_dropped_silently():
    t = tables(resnet_global=dict(coherence_best=[0.6, float("nan"), 0.61]))
    v = ch6.diff_beats_random_global(t, P).verdict
    assert v.test["n"] == 2 and v.test["dropped"] == 1 and "non-finite" in v.interval
    w = ch6.magnitude_best_wins_global(tables(resnet_global=dict(magnitude_best=0.8, random=[0.5, float("nan"), 0.5])), P)
    assert w.verdict.test["dropped"] == 1 and "magnitude_best - random" in w.verdict.test["dropped_why"]


def test_holm_adjusted_matches_holm():
    ps = [0.01, 0.04, 0.03, float("nan"), 0.005]
    adj = st.holm_adjusted(ps)
    assert adj[4] == pytest.approx(0.02) and adj[0] == pytest.approx(0.03) and adj[2] == adj[1] == pytest.approx(0.06)
    assert adj[3] != adj[3]  # NaN takes no part
    assert [a <= 0.05 for a in adj] == st.holm(ps)


def test_a_winner_must_beat_every_rival_after_holm():
    # beats magnitude_worst and both diff masks clearly, but random beats it: not held
    d = ch6.magnitude_best_wins_global(tables(resnet_global=dict(magnitude_best=0.8, random=0.9)), P)
    assert d.verdict.verdict == NOT and d.verdict.test["decided_by"] == "magnitude_best - random"
    assert d.verdict.test["held_after_holm"] == 3 and d.verdict.test["not_held_after_holm"] == 1
    assert list(d.groups["versus"]) == [f"magnitude_best - {m}" for m in PRUNED if m != "magnitude_best"]
    # beats three clearly, level with the fourth within noise: inconclusive, more seeds would decide held
    d = ch6.magnitude_best_wins_global(tables(resnet_global=dict(
        magnitude_best=0.8, random=seeded(0.76, (0.05, -0.05, 0.0)))), P)
    assert d.verdict.verdict == INC and d.verdict.test["needed_for"] == HELD and d.verdict.test["seeds_needed"] > 3
    assert d.verdict.test["decided_by"] == "magnitude_best - random"


def test_winner_is_not_chosen_by_its_mean_on_the_tested_seeds():
    # The old design tested magnitude_best against the rival with the highest mean (random, beaten every seed)
    # and said held; a noisier rival with a lower mean (coherence_worst) is not beaten clearly.
    t = tables(resnet_global=dict(magnitude_best=0.6, random=0.55, coherence_worst=seeded(0.54, (0.05, -0.05, 0.0))))
    d = ch6.magnitude_best_wins_global(t, P)
    assert d.verdict.verdict == INC and d.verdict.test["decided_by"] == "magnitude_best - coherence_worst"
    assert d.groups.set_index("versus").loc["magnitude_best - random", "verdict"] == HELD


def test_holm_can_leave_every_comparison_undecided_that_alone_would_hold():
    # the same paired differences (0.10, 0.13, 0.07) against each of four rivals: p = 0.029 each, held alone at
    # 0.05 but not after Holm's correction over four (the smallest must be below 0.0125)
    d = ch6.magnitude_best_wins_global(tables(resnet_global=dict(magnitude_best=seeded(0.5, (0.1, 0.13, 0.07)))), P)
    alone = st.paired([0.1, 0.13, 0.07], [0, 0, 0])
    assert alone["verdict"] == HELD and 0.0125 < alone["p"] < 0.05
    assert d.verdict.verdict == INC and (d.groups["verdict"] == INC).all() and d.verdict.test["comparisons"] == 4
    assert d.verdict.test["p"] == pytest.approx(min(1.0, 4 * alone["p"]))


@pytest.mark.parametrize("n", [3, 5])
def test_holm_family_decides_at_most_alpha_under_no_effect(n):
    # five masks of equal worth whose runs share their seed's level (three times the within-seed noise):
    # "mask 0 beats every rival" and "some mask beats mask 0" decide either way at most 5 % (plus Monte-Carlo)
    rng = np.random.default_rng(n)
    draws, wrong = 300, {"all": 0, "any": 0}
    for _ in range(draws):
        run = rng.normal(0, 0.03, n)
        x = [0.5 + run + rng.normal(0, 0.01, n) for _ in range(5)]
        leaves = st.holm_family({f"0-{r}": st.paired(x[0], x[r]) for r in range(1, 5)})
        wrong["all"] += st.all_of(list(leaves.values()))["verdict"] != INC
        others = st.holm_family({f"{r}-0": st.paired(x[r], x[0]) for r in range(1, 5)})
        wrong["any"] += st.any_of(list(others.values()))["verdict"] == HELD
    limit = 0.05 + 3 * (0.05 * 0.95 / draws) ** 0.5
    assert wrong["all"] / draws <= limit and wrong["any"] / draws <= limit, wrong


def test_resnet_scopes_are_separate_claims():
    # opposite effects in the two scopes: the pooled claim said inconclusive, the two claims each decide
    t = tables(resnet_global=dict(coherence_best=0.6), resnet_layer=dict(random=0.6))
    g, lay = ch6.diff_beats_random_global(t, P).verdict, ch6.diff_beats_random_layer(t, P).verdict
    assert (g.claim_id, g.verdict, g.figure) == ("6-resnet-diff-beats-random-global", HELD, "Table 6.1")
    assert (lay.claim_id, lay.verdict, lay.figure) == ("6-resnet-diff-beats-random-layer", NOT, "Table 6.5")
    assert g.test["n"] == lay.test["n"] == 3
    assert "6-resnet-diff-beats-random" not in {d.verdict.claim_id for d in ch6.claims(
        ch6.setup(profile="smoke", seeds=list(SEEDS)), ch6.Results(tables(**ALL4)))}


def test_claims_over_several_settings_test_seed_means_or_every_setting():
    d = ch6.mask_inversion_gap_small(tables(resnet_global=dict(magnitude_best=0.51), resnet_layer=dict(magnitude_best=0.51),
                                            vit_layer={}), P)
    assert d.verdict.test["rule"] == "every group" and d.verdict.test["groups"] == 3 and d.verdict.test["n"] == 3
    assert list(d.groups["scope"]) == ["ResNet global", "ResNet layer", "ViT layer"] and (d.groups["n"] == 3).all()
    near = ch6.pruned_near_parity(tables(resnet_global=dict(magnitude_best=0.79, none=0.8),
                                         vit_global=dict(random=0.81, none=0.8)), P)
    assert near.verdict.test["comparisons"] == 10 and len(near.groups) == 10 and near.verdict.test["n"] == 3
    assert near.verdict.figure == "Tables 6.1, 6.2" and near.verdict.note.startswith("Each of the 10 comparisons")
    only_resnet = ch6.pruned_near_parity(tables(resnet_global=dict(magnitude_best=0.79, none=0.8)), P).verdict
    assert only_resnet.figure == "Table 6.1" and only_resnet.verdict == HELD


def test_pairs_match_on_seed_not_position():
    r = results({})
    r.loc[(r["method"] == "random") & (r["seed"] == 0), "test_acc"] = 0.9
    shuffled = {RG: (r.sample(frac=1, random_state=1), layers())}
    v = ch6.random_best_global(shuffled, P).verdict
    assert v.test["n"] == 3 and v.test["diff"] == pytest.approx((0.9 - 0.49) / 3)


def test_claims_name_their_conclusion_and_what_would_fail_them():
    ds = ch6.claims(ch6.setup(profile="smoke", seeds=list(SEEDS)), ch6.Results(tables(**ALL4)))
    by = {d.verdict.claim_id: d.verdict for d in ds}
    c8 = {k for k, v in by.items() if v.conclusion == "C8"}
    assert c8 == {"6-resnet-magnitude-best-wins-global", "6-resnet-magnitude-beats-diff-global",
                  "6-resnet-magnitude-beats-diff-layer", "6-resnet-diff-beats-random-global",
                  "6-resnet-diff-beats-random-layer", "6-vit-diff-wins-global", "6-vit-diff-matches-dense-global",
                  "6-vit-diff-best-layer", "6-vit-magnitude-best-wins-global"}
    assert {k for k, v in by.items() if v.bears == "against"} == {"6-vit-magnitude-best-wins-global"}
    assert set(by) - c8 and all(v.conclusion == "" for k, v in by.items() if k not in c8)
    assert all(v.fails_if for v in by.values())
    # ids kept for the claims chapter 9 refers to
    assert {"6-resnet-coherence-best-above-worst-global", "6-global-diff-overprunes-layers"} <= set(by)


def test_scale_text_and_items():
    t = tables(resnet_global=dict(none=0.27), resnet_layer=dict(none=0.27), vit_global=dict(none=0.3))
    assert ch6.scale_text(t, RG) == "ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)"
    assert ch6.scale_text(t, RG, RL, VG) == ("ResNet dense test acc 0.27 (thesis 0.90 in Table 6.1, 0.91 in Table 6.5); "
                                             "ViT dense test acc 0.30 (thesis 0.78, Table 6.2)")
    s = ch6.setup(profile="smoke", seeds=list(SEEDS))
    shown = ch6.items(s, [ch6.random_best_global(t, P), ch6.diff_beats_random_global(t, P)]).data
    assert set(shown["claim_id"]) == {"6-resnet-random-best-global"}  # one comparison: no per-group rows
    assert list(shown["group"]) == [f"random - {m}" for m in PRUNED if m != "random"] and (shown["n"] == 3).all()


def test_verdicts_in_rule_order_counts_and_one_seed():
    full = tables(**ALL4)
    s3 = ch6.setup(profile="smoke", seeds=[0, 1, 2])
    vs = ch6.verdicts(s3, ch6.Results(full))
    assert [v.claim_id for v in vs][:2] == ["6-resnet-magnitude-best-wins-global", "6-resnet-random-best-global"]
    assert len(vs) == len(ch6.RULES) == len({v.claim_id for v in vs}) == 25
    assert [v.claim_id for v in vs] == [d.verdict.claim_id for d in ch6.claims(s3, ch6.Results(full))]
    assert all(v.verdict in st.VERDICTS for v in vs) and all(v.scale for v in vs)
    line = ch6.headline(s3, vs)
    assert line.startswith("**Chapter 6 verdicts** (profile `smoke`, seeds [0, 1, 2]; ") and line.endswith(").")
    assert sum(int(part.split()[0]) for part in line.split("; ")[1][:-2].split(", ")) == 25
    one = {k: (r[r["seed"] == 0], lay[lay["seed"] == 0]) for k, (r, lay) in full.items()}
    assert {v.verdict for v in ch6.verdicts(ch6.setup(profile="smoke", seeds=[0]), ch6.Results(one))} == {INC}


def test_rules_skip_missing_settings_and_zero_floor():
    assert all(rule({}, P) is None for rule in ch6.RULES)
    no_floor = dataclasses.replace(P, floor=0.0)
    t = tables(**ALL4)
    for rule in (ch6.global_diff_overprunes_layers, ch6.floor_masks_text, ch6.vit_global_even_layers):
        assert rule(t, no_floor) is None


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_results_trains_exactly_the_plan_and_reads_its_parts(monkeypatch):
    s = ch6.setup(profile="smoke")
    trained, read = [], {}
    monkeypatch.setattr(ch6.parallel, "train", lambda plan, **kw: trained.append(plan))
    monkeypatch.setattr(ch6, "run_all", lambda parts, **kw: read.update(parts=parts, **kw) or {})
    r = ch6.results(s)
    assert trained == [ch6.plan(s)] and r.tables == {}  # the executor gets the chapter's plan, once
    assert read["chapter"] == "06" and list(read["parts"]) == [(f, sc) for f in ("resnet", "vit") for sc in ("global", "layer")]
    assert {h for part in read["parts"].values() for h in hashes(part)} == set(hashes(ch6.plan(s)))


def test_result_tables_and_settings(monkeypatch):
    s = ch6.setup(profile="smoke")
    r = ch6.Results(tables(**ALL4))
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a[0]))
    for f in (ch6.table_6_1, ch6.table_6_2, ch6.table_6_5, ch6.table_6_6):
        assert list(f(s, r).data.columns)[:2] == ["mask", "train acc. (ours)"]
    assert [m.data.split(":")[0] for m in shown] == ["**Table 6.1", "**Table 6.2", "**Table 6.5", "**Table 6.6"]
    assert "profile `smoke`" in shown[0].data
    assert len(ch6.floor_table_6_3(s, r).data) == len(PRUNED)
    settings = ch6.settings_table(s).data.set_index("setting")["value"]
    assert settings["training images"] == "100" and settings["final test accuracy on"] == "the 50 test images of its subset"
    assert settings["seeds (parents; children + 1000)"] == [0, 1]


# ------------------------------------------------------------------------------------------ chapter 7
def _v(cid: str, verdict: str, figure: str = "", scale: str = "") -> Verdict:
    return Verdict(cid, cid[0].zfill(2), "a claim", "thesis", f"numbers of {cid}", verdict, figure, {}, scale)


@dataclasses.dataclass(frozen=True)
class FakeParams:
    profile: str = "cpu"
    seed: int = 0
    width: int = 16


def _fake(key: str, width: int = 16, fail: bool = False) -> types.SimpleNamespace:
    """A chapter module with one planned run (an MLP of ``width``); ``fail``: its setup raises."""
    cfg = profiles.mlp_config(profiles.get("smoke"), width)

    def setup(**kw):
        if fail:
            raise ValueError("chapter mid-edit")
        return types.SimpleNamespace(params=FakeParams(**kw), profile=profiles.get(kw["profile"]))

    return types.SimpleNamespace(__name__=f"lib.chapters.ch{key}_fake", Params=FakeParams, setup=setup,
                                 plan=lambda s: [[cfg]])


@pytest.mark.usefixtures("run_cache", "stand_in_fingerprint")
def test_expected_uses_the_chapters_plan(monkeypatch):
    monkeypatch.setattr(ch7, "SOURCES", ("06",))
    exp, problems = ch7.expected(ch7.setup(profile="smoke"))
    s6 = ch6.setup(profile="smoke")
    assert not problems and exp["06"] == (s6.params, vd.run_hashes(ch6.plan(s6)))
    r = ch7.results(ch7.setup(profile="smoke"))
    assert r.problems == ("chapter 06: no verdicts stored for these parameters (run the chapter first)",)
    vd.record(ch6, s6, [_v("6-pruned-near-parity", "inconclusive")])
    r = ch7.results(ch7.setup(profile="smoke"))
    assert not r.problems and list(r.verdicts["claim_id"]) == ["6-pruned-near-parity"]
    assert ch7.problems(ch7.setup(profile="smoke"), r).startswith("Every chapter of 06 has verdicts")


@pytest.mark.parametrize("scale, expected", [
    ("ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)", "far from it"),
    ("dense test acc 0.85 (thesis 0.90)", "near the thesis's regime"),
    ("test acc 60 % (thesis 90 %)", "partway to it"),
    ("ResNet dense test acc 0.88 (thesis 0.90 in Table 6.1, 0.91 in Table 6.5); ViT dense test acc 0.30 (thesis 0.78)",
     "far from it"),  # the least-trained network decides
    ("resnet_small: CIFAR-10 test acc 0.12 after 2 of the thesis's 300 epochs (its dense resnet 0.90, Table 6.1); "
     "Gaussian train acc 0.20 after 3 of its 1000 epochs", "far from it"),  # chapter 2's wording
    ("MLP test accuracy 0.52 after 20 of 200 epochs (thesis 0.55)", "near the thesis's regime"),
    # the thesis's number follows words only: a name's digits (ResNet50) or a figure number is no accuracy
    ("resnet_small: CIFAR-10 test acc 0.62 after 30 of the thesis's 300 epochs (its dense ResNet50 0.90, Table 6.1)",
     "partway to it"),
    ("dense test acc 0.11 at width 32 (thesis: plotted only, Fig. 4.1)", "no reference accuracy"),
    ("dense base width 16 test acc 0.11 (thesis: width 512, 2.3 M parameters, accuracy plotted only); parents up "
     "to 4x (0.20 M weights) (thesis 62x)", "no reference accuracy"),
    ("", "no reference accuracy"), ("5,000 training images", "no reference accuracy"),
    ("train acc 0.20 after 3 of its 1000 epochs", "no reference accuracy"),
])
def test_regime(scale, expected):
    assert ct.regime(scale) == expected


def test_links_come_from_the_registry():
    stems = {c.key: c.stem for c in registry.CHAPTERS}
    for key, links in ct.CONCLUSION_LINKS.items():
        for text, chapter in links:
            assert ct.link(text, chapter) == f"[{text}]({stems[chapter]}.ipynb)"
    assert set(ct.CONCLUSION_LINKS) == {c.key for c in ct.CONCLUSIONS}
    with pytest.raises(ValueError, match="no chapter"):
        ct.link("x", "11")


# ------------------------------------------------------------------------------------------ parameters
# (Params defaults against each notebook's parameters cell: tests/test_architecture.py, every chapter)


@pytest.mark.parametrize("params, name", [(dict(seeds=[0, 0]), "seeds"), (dict(density=1.5), "density"),
                                          (dict(floor=0.5), "floor"), (dict(arch_vit="resnet50"), "arch_vit")])
def test_setup_errors_name_the_parameter(params, name):
    with pytest.raises(ParameterError, match=rf"^{name} = "):
        ch6.setup(profile="smoke", **params)


def test_chapter7_setup_errors():
    with pytest.raises(ParameterError, match="profile = 'gpu'"):
        ch7.setup(profile="gpu")
    with pytest.raises(ParameterError, match="unknown parameter"):
        ch7.setup(density=0.1)
    assert ch7.plan(ch7.setup(profile="smoke")) == []
    assert ch7.verdicts(ch7.setup(profile="smoke"), ch7.gather(vd.frame([]))) == []


def test_floor_tables_show_tie_breaking_when_read():
    s = ch6.setup(profile="smoke")
    ties = pd.DataFrame([{"family": "resnet", "scope": "global", "method": m, "seed": sd, "kept": 100,
                          "tie_chosen": 10 if m == "coherence_best" else 0, "tie_class": 30} for m in PRUNED for sd in (0, 1)])
    with_ties = ch6.floor_table_6_3(s, ch6.Results(tables(**ALL4), ties)).data.set_index("method")
    assert with_ties.loc["coherence_best", "share_kept_by_tie_breaking"] == pytest.approx(0.1)
    assert with_ties.loc["random", "kept_by_tie_breaking"] == 0
    assert "kept_by_tie_breaking" not in ch6.floor_table_6_3(s, ch6.Results(tables(**ALL4))).data.columns


def test_chapter_6_caveats_state_the_profile_scale():
    text = ch6.caveats(ch6.setup(profile="smoke")).data
    assert "resnet_small and vit_tiny, trained on 100 CIFAR-10 images for 2 epochs" in text
    assert "few thousand" not in text
