"""Chapter 9 (why random pruning works): its plan reuses chapters 5 and 6 and adds only shuffled, init-scored and
early-mask children (and the MLP parents with snapshots); every claim function decides hand-made frames as its
rule says."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.chapters import ch09_why_random_works as ch
from lib.chapters import registry
from lib.chapters.params import ParameterError
from lib.config import config_hash


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_plan_reuses_chapters_5_and_6():
    s = ch.setup(profile="smoke")
    mine = {config_hash(c): c for st in ch.plan(s) for c in st}
    theirs = {config_hash(c) for k in ("05", "06") for st in registry.plan(k, profile="smoke") for c in st}
    new = [c for h, c in mine.items() if h not in theirs]
    for c in new:
        m = c.mask
        assert c.snapshots or (m is not None and (m.shuffle or m.method in ch.INIT or m.epoch >= 0)), c
    # every reused variant is a run of chapter 5 or 6
    for (fam, v, sd), c in s.children.items():
        if v in ("magnitude", "diff", "random", "uniform", "none", "magnitude_worst", "diff_worst"):
            assert config_hash(c) in theirs, (fam, v, sd)
    # shuffled children differ from their masks' children only by the shuffle
    c, sh = s.children[("vit", "diff", 0)], s.children[("vit", "diff_shuffled", 0)]
    assert sh.mask.shuffle and not c.mask.shuffle and sh.mask.parent == c.mask.parent


def test_setup_checks():
    with pytest.raises(ParameterError, match="mlp_width = 5"):
        ch.setup(profile="smoke", mlp_width=5)
    with pytest.raises(ParameterError, match="early_trained"):
        ch.setup(profile="smoke", early_fractions=[0.5, 1.0], early_trained=[0.25])
    with pytest.raises(ParameterError, match=r"\(0, 1\]"):
        ch.setup(profile="smoke", early_fractions=[0.5, 2.0])
    assert ch.early_epoch(0.05, 20) == 1 and ch.early_epoch(0.5, 20) == 10 and ch.early_epoch(0.01, 3) == 1


def _acc(fam: str, values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"family": fam, "variant": v, "seed": sd, "test_acc": a, "train_acc": 1.0}
                         for v, vals in values.items() for sd, a in enumerate(vals)])


def test_shuffle_and_fraction_claims():
    acc = _acc("vit", {"diff": [0.50, 0.52, 0.51], "diff_shuffled": [0.45, 0.46, 0.44], "uniform": [0.40, 0.41, 0.39]})
    assert ch.choice_within_layers(acc, "vit", "diff")[0].verdict == "held"
    assert ch.fractions_beat_uniform(acc, "vit", "diff")[0].verdict == "held"
    same = _acc("vit", {"diff": [0.50, 0.52, 0.51], "diff_shuffled": [0.51, 0.50, 0.52]})
    assert ch.choice_within_layers(same, "vit", "diff")[0].verdict == "inconclusive"
    assert ch.fractions_beat_uniform(same, "vit", "diff")[0].verdict == "not measured at this scale"


def test_inversion_early_and_init_claims():
    acc = _acc("resnet", {"magnitude": [0.5, 0.52, 0.51], "magnitude_worst": [0.55, 0.56, 0.57],
                          "random": [0.4, 0.41, 0.42], "snip": [0.45, 0.47, 0.46]})
    assert ch.best_beats_worst(acc, "resnet", "magnitude")[0].verdict == "not held"
    assert ch.init_beats_random(acc, "resnet", "snip")[0].verdict == "held"
    assert ch.best_beats_worst(acc, "resnet", "diff")[0].verdict == "not measured at this scale"
    early = _acc("mlp", {"magnitude": [0.50, 0.51, 0.52], "magnitude_early_0.1": [0.501, 0.509, 0.521],
                         "magnitude_early_0.25": [0.40, 0.41, 0.42]})
    assert ch.early_as_good(early, "magnitude", 0.1)[0].verdict == "held"
    assert ch.early_as_good(early, "magnitude", 0.25)[0].verdict == "not held"
    ov = pd.DataFrame([{"method": "diff", "fraction": f, "seed": sd, "jaccard": j + 0.01 * sd}
                       for f, j in ((0.05, 0.2), (0.5, 0.6), (1.0, 1.0)) for sd in range(3)])
    assert ch.overlap_grows(ov, "diff")[0].verdict == "held"


def test_layers_at_floor_claim():
    rows = []
    for sd in range(3):
        for i in range(10):
            rows.append({"family": "resnet", "method": "diff", "seed": sd, "fraction_kept": 0.02 if i < 6 - sd else 0.2})
            rows.append({"family": "resnet", "method": "magnitude", "seed": sd, "fraction_kept": 0.02 if i < 1 else 0.11})
    v, _ = ch.diff_more_at_floor(pd.DataFrame(rows), "resnet", floor=0.02, density=0.1)
    assert v.verdict == "held" and "diff 0.50" in v.ours


def test_restricted_diff_masks_and_their_claim():
    s = ch.setup(profile="smoke")
    kept = {v for (f, v, sd) in s.children if v.startswith("diff_in_")}
    assert kept == {"diff_in_qkv", "diff_in_ff_hidden", "diff_in_block_output"}
    assert all(f == "vit" for (f, v, sd) in s.children if v.startswith("diff_in_"))
    c = s.children[("vit", "diff_in_qkv", 0)]
    assert c.mask.shuffle and c.mask.shuffle_except == "qkv" and c.mask.method == "diff"
    assert not any(v.startswith("diff_in_") for (f, v, sd) in ch.setup(profile="smoke", restricted=[]).children)
    with pytest.raises(ParameterError, match="restricted"):
        ch.setup(profile="smoke", restricted=["mlp"])
    acc = _acc("vit", {"diff_in_qkv": [0.5, 0.52, 0.51], "diff_shuffled": [0.45, 0.46, 0.44]})
    v, _ = ch.choice_in_group_matters(acc, "vit", "qkv")
    assert v.verdict == "held" and v.claim_id == "9-vit-diff-choice-in-qkv-matters"
