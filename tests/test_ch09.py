"""Chapter 9 (why random pruning works): its plan reuses chapters 5 and 6 and adds only shuffled, init-scored and
early-mask children (and the MLP parents with snapshots); every claim function decides hand-made frames as its
rule says: over seeds (n = seeds), intervals of accuracy differences cut to [-1, 1], early masks by TOST with
Holm over the fractions, the overlap's rise by per-seed slopes."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from lib import saliency
from lib.chapters import ch09_claims as cl
from lib.chapters import ch09_why_random_works as ch
from lib.chapters import registry
from lib.chapters.params import ParameterError
from lib.chapters.seed_tests import holm_over_candidates
from lib.config import config_hash
from lib.experiments import CHILD_SEED_OFFSET
from lib.models import build_model
from lib.plan import configs
from lib.train import fresh_model


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_plan_reuses_chapters_5_and_6():
    s = ch.setup(profile="smoke")
    mine = {config_hash(c): c for c in configs(ch.plan(s))}
    theirs = {config_hash(c) for k in ("05", "06") for c in configs(registry.plan(k, profile="smoke"))}
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
    v, g = cl.choice_within_layers(acc, "vit", "diff")
    assert v.verdict == "held" and v.test["n"] == 3 and v.fails_if and v.conclusion == ""
    assert list(g["n"]) == [3]
    assert cl.fractions_beat_uniform(acc, "vit", "diff")[0].verdict == "held"
    same = _acc("vit", {"diff": [0.50, 0.52, 0.51], "diff_shuffled": [0.51, 0.50, 0.52]})
    assert cl.choice_within_layers(same, "vit", "diff")[0].verdict == "inconclusive"
    assert cl.fractions_beat_uniform(same, "vit", "diff")[0].verdict == "not measured at this scale"
    worse = _acc("vit", {"diff": [0.40, 0.41, 0.42], "diff_shuffled": [0.50, 0.52, 0.51]})
    assert cl.choice_within_layers(worse, "vit", "diff")[0].verdict == "not held"


def test_accuracy_differences_are_cut_to_their_range():
    # two seeds far apart: the raw t-interval reaches beyond [-1, 1]; a difference of accuracies cannot
    acc = _acc("vit", {"diff": [0.95, 0.05], "diff_shuffled": [0.05, 0.90]})
    v, _ = cl.choice_within_layers(acc, "vit", "diff")
    assert v.test["clipped"] and -1 <= v.test["ci_low"] <= v.test["ci_high"] <= 1
    assert "cut to the statistic's range" in v.interval


def test_inversion_and_init_claims():
    acc = _acc("vit", {"diff": [0.5, 0.52, 0.51], "diff_worst": [0.55, 0.56, 0.57],
                       "random": [0.4, 0.41, 0.42], "snip": [0.45, 0.47, 0.46]})
    assert cl.best_beats_worst(acc, "vit", "diff")[0].verdict == "not held"
    assert cl.init_beats_random(acc, "vit", "snip")[0].verdict == "held"
    assert cl.best_beats_worst(acc, "vit", "magnitude")[0].verdict == "not measured at this scale"


def test_chapter_6_questions_are_not_asked_again():
    """One question, one claim: the ResNet's diff best-vs-worst and at-floor claims, and the magnitude inversion
    on both large networks, are chapter 6's; the chapter names the claim that answers each."""
    acc = pd.concat([_acc(f, {m: [0.5, 0.51, 0.52] for m in ("diff", "diff_worst", "magnitude", "magnitude_worst",
                                                               "diff_shuffled", "magnitude_shuffled", "uniform",
                                                               "random", "snip", "grasp", "synflow")})
                     for f in ch.FAMILIES], ignore_index=True)
    layers = pd.DataFrame([{"family": f, "method": m, "seed": sd, "fraction_kept": 0.1}
                           for f in ("resnet", "vit") for m in ("diff", "magnitude") for sd in range(3)])
    early = pd.DataFrame(columns=["method", "fraction", "seed", "jaccard"])
    ids = {v.claim_id for v, _ in cl.claims_of(acc, early, layers, fractions=(), floor=0.02, density=0.1)}
    assert not ids & set(cl.ASKED_IN_CHAPTER_6)
    assert {"9-vit-diff-best-beats-worst", "9-vit-diff-more-layers-at-floor"} <= ids
    assert all(v.startswith("6-") for v in cl.ASKED_IN_CHAPTER_6.values())
    assert len(ids) == len(cl.claims_of(acc, early, layers, fractions=(), floor=0.02, density=0.1))


def test_early_masks_are_equivalence_claims_with_holm():
    # 0.1: within the margin (TOST held, and it survives Holm over the fractions); 0.25: far below (not held)
    early = _acc("mlp", {"magnitude": [0.50, 0.51, 0.52], "magnitude_early_0.1": [0.501, 0.509, 0.521],
                         "magnitude_early_0.25": [0.40, 0.41, 0.42]})
    (v1, _), (v2, _) = cl.early_as_good(early, "magnitude", [0.1, 0.25])
    assert v1.verdict == "held" and v1.test["level"] == pytest.approx(0.90) and v1.test["n"] == 3
    assert v2.verdict == "not held" and v1.test["holm_candidates"] == 2
    assert v1.claim_id == "9-mlp-magnitude-early-0.1-as-good"
    (missing, _), = cl.early_as_good(early, "diff", [0.1])
    assert missing.verdict == "not measured at this scale"


def test_holm_turns_a_lone_decisive_candidate_inconclusive():
    """A decisive verdict whose p-value does not survive Holm over its family becomes inconclusive, with the
    seeds it would need; a clear one stays."""
    weak = {"verdict": "held", "p": 0.04, "diff": 0.01, "sd": 0.005, "claim": "greater", "margin": None,
            "alpha": 0.05, "n": 3}
    strong, unclear = {**weak, "p": 0.001}, {**weak, "verdict": "inconclusive", "p": 0.3}
    (w, s_, u), (nw, ns, nu) = holm_over_candidates([weak, strong, unclear], "layer groups")
    assert s_["verdict"] == "held" and w["verdict"] == "inconclusive" and u["verdict"] == "inconclusive"
    assert w["plain_verdict"] == "held" and w["holm_candidates"] == 3 and w["needed_for"] == "held" and w["seeds_needed"]
    assert "inconclusive after Holm's correction over the 3 layer groups" in nw and "held after Holm" in ns and nu == ""
    # alone, the same test keeps its verdict and says nothing
    (alone,), (note,) = holm_over_candidates([weak], "layer groups")
    assert alone["verdict"] == "held" and note == ""


def test_overlap_grows_is_a_trend_over_seeds():
    def frame(slope_by_seed, fractions=(0.05, 0.1, 0.25, 0.5, 1.0)):
        return pd.DataFrame([{"method": "diff", "fraction": f, "epoch": round(f * 20), "last_epoch": 20, "seed": sd,
                              "jaccard": 0.2 + s * np.log(f / 0.05) + 0.01 * sd * (i % 2)}
                             for sd, s in enumerate(slope_by_seed) for i, f in enumerate(fractions)])
    v, g = cl.overlap_grows(frame([0.10, 0.12, 0.11]), "diff")
    assert v.verdict == "held" and v.test["n"] == 3 and v.test["rule"] == "per-seed slope"
    assert "100%" in v.note  # the mask at the parent's last epoch is left out and said
    assert cl.overlap_grows(frame([-0.10, -0.12, -0.11]), "diff")[0].verdict == "not held"
    # seeds that disagree on the direction decide nothing
    assert cl.overlap_grows(frame([0.1, -0.1, 0.0]), "diff")[0].verdict == "inconclusive"
    assert cl.overlap_grows(frame([0.1], fractions=(0.5, 1.0)), "diff")[0].verdict == "not measured at this scale"
    # fractions that round to one epoch are one mask, counted once
    same_epoch = frame([0.1, 0.12, 0.11]).assign(epoch=lambda d: np.where(d["fraction"] < 0.2, 1, d["epoch"]))
    assert cl.overlap_grows(same_epoch, "diff")[0].test["n"] == 3


def test_layers_at_floor_claim():
    rows = []
    for sd in range(3):
        for i in range(10):
            rows.append({"family": "vit", "method": "diff", "seed": sd, "fraction_kept": 0.02 if i < 6 - sd else 0.2})
            rows.append({"family": "vit", "method": "magnitude", "seed": sd, "fraction_kept": 0.02 if i < 1 else 0.11})
    v, _ = cl.diff_more_at_floor(pd.DataFrame(rows), "vit", floor=0.02, density=0.1)
    # ten tensors per seed are reduced to one share per seed first: n = 3 seeds, not 30 tensors
    assert v.verdict == "held" and "diff 0.50" in v.ours and v.test["n"] == 3


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
    (v, _), = cl.choice_in_group_matters(acc, "vit", ["qkv"])
    assert v.verdict == "held" and v.claim_id == "9-vit-diff-choice-in-qkv-matters"
    (v, _), (u, _) = cl.choice_in_group_matters(acc, "vit", ["qkv", "ff_hidden"])
    assert v.test["holm_candidates"] == 1 and u.verdict == "not measured at this scale"


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_init_children_start_from_the_scored_network():
    """SNIP/GraSP/SynFlow children have their mask parent's seed and model, so training starts from the very
    network the mask scored; every other child keeps the fresh child seed."""
    s = ch.setup(profile="smoke")
    for fam in ch.FAMILIES:
        for sd in s.seeds:
            for m in ch.INIT:
                c = s.children[(fam, m, sd)]
                assert c.mask.method == m and c.seed == c.mask.parent.seed == sd and c.model == c.mask.parent.model
            assert s.children[(fam, "random", sd)].seed == sd + CHILD_SEED_OFFSET
            assert s.children[(fam, "none", sd)].seed == sd + CHILD_SEED_OFFSET
    c = s.children[("mlp", "snip", s.seeds[0])]
    torch.manual_seed(c.mask.parent.seed)
    scored = build_model(c.mask.parent.model).state_dict()
    start = fresh_model(c).state_dict()
    assert all(torch.equal(v, scored[k]) for k, v in start.items())
    with pytest.raises(ValueError, match="pruning-at-initialisation"):
        ch.init_child(s.children[("mlp", "random", 0)], "magnitude")


def test_parent_seed_of_children_at_either_seed():
    s = ch.setup(profile="smoke")
    for (fam, v, sd), c in s.children.items():
        assert ch.parent_seed(c, s.seeds) == sd, (fam, v, sd)
    dense = s.children[("mlp", "none", 0)]
    assert ch.parent_seed(dataclasses.replace(dense, seed=0), s.seeds) == 0
    with pytest.raises(ValueError, match="none of the seeds"):
        ch.parent_seed(dataclasses.replace(dense, seed=777), s.seeds)


def test_no_magnitude_child_of_the_final_mask_again():
    """A magnitude mask made at the parent's last epoch is the final mask: no child, no claim that could not fail."""
    s = ch.setup(profile="smoke", early_fractions=[0.5, 1.0], early_trained=[0.5, 1.0])
    assert ("mlp", "magnitude_early_1", 0) not in s.children and ("mlp", "diff_early_1", 0) in s.children
    assert ch.early_children("magnitude", [0.5, 1.0], s.epochs, s.snap_parents[0].epochs) == [0.5]
    # fractions that round to one snapshot epoch are one mask: one child, one claim
    assert ch.early_children("diff", [0.1, 0.25, 0.5], {0.1: 1, 0.25: 1, 0.5: 2}, 4) == [0.1, 0.5]
    d = ch.setup(profile="smoke")  # 2 epochs: every default fraction below 1 is epoch 1
    assert {v for (f, v, sd) in d.children if "_early_" in v} == {"magnitude_early_0.1", "diff_early_0.1"}


def test_baselines_note(monkeypatch):
    monkeypatch.setattr(saliency, "AUTHORS_DEFINITION", {"grasp": {"shares": "the score | sign", "differs": "T=1"},
                                                            "snip": {"shares": "|g w|", "differs": "batch"}}, raising=False)
    text = ch.baselines_note().data
    lines = text.splitlines()
    assert "| baseline | what it shares with the authors' definition | what differs |" in lines
    assert lines.index("| SNIP | \\|g w\\| | batch |") < lines.index("| GraSP | the score \\| sign | T=1 |")
    monkeypatch.setattr(saliency, "AUTHORS_DEFINITION", {}, raising=False)
    assert "not available" in ch.baselines_note().data
    monkeypatch.delattr(saliency, "AUTHORS_DEFINITION", raising=False)
    assert "not available" in ch.baselines_note().data
