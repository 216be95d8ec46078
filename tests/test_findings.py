"""Each chapter's closing section, "What this chapter found" (lib/chapters/findings.py and the chapters'
chNN_findings companions): the sentences are computed from the numbers (change a number and the sentence
changes), and an inconclusive verdict is never described as an effect."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from lib.chapters import (ch02_claims, ch02_findings, ch03_findings, ch04_claims, ch04_findings, ch05_claims,
                          ch05_findings, ch06_findings, ch08_findings, ch09_findings, findings, registry)
from lib.chapters.seed_tests import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURED, paired
from lib.chapters.verdicts import Claim, Verdict

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
UNDECIDED = "Undecided"


def decided(chapter: str, name: str, a, b, claim: str = "greater", margin: float | None = None) -> Verdict:
    """A verdict of chapter ``chapter`` decided by the paired test of per-seed values ``a`` and ``b``."""
    c = Claim(f"{int(chapter)}-{name}", chapter, f"claim {name} of chapter {chapter}", f"the thesis on {name}",
              "the interval lies on the other side", "Figure 1.1")
    return c.decide("ours", paired(a, b, claim=claim, margin=margin)).verdict


def a_set(chapter: str, effect: float = 0.3) -> list[Verdict]:
    """One verdict of each kind: held (``effect`` above 0), not held, inconclusive, not measured."""
    vs = [decided(chapter, "rises", [1 + effect, 1.1 + effect, 0.9 + effect], [1, 1.1, 0.9]),
          decided(chapter, "falls", [0.5, 0.6, 0.4], [0.7, 0.81, 0.6]),
          decided(chapter, "undecided", [1.2, 0.8, 1.05], [1, 1, 1]),
          Claim(f"{int(chapter)}-far", chapter, f"claim far of chapter {chapter}", "thesis", "x", "Figure 1.1")
          .unmeasured("not at this scale").verdict]
    assert [v.verdict for v in vs] == [HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED]
    return vs


def sentence_with(text: str, sentences: list[str]) -> list[str]:
    return [s for s in sentences if text in s]


def assert_inconclusive_is_undecided(sentences: list[str], vs: list[Verdict]) -> None:
    """Every inconclusive claim is named only in the undecided sentence (and the plain one on seed spread),
    never in the sentence of held claims or of departures from the thesis."""
    for v in vs:
        if v.verdict != INCONCLUSIVE:
            continue
        where = sentence_with(findings.short(v), sentences)
        assert where, f"{v.claim_id} is not mentioned"
        assert all(s.startswith(UNDECIDED) or "standard deviation of their seeds" in s for s in where), where
        assert not any("held" in s.split(findings.short(v))[1][:40] and not s.startswith(UNDECIDED) for s in where)


# ------------------------------------------------------------------------------------- the shared sentences
def test_counts_and_kinds_come_from_the_verdicts():
    vs = a_set("02")
    out = findings.sentences(vs)
    assert out[0] == ("Of the 4 claims this chapter decides, 1 held, 1 was not held, 1 is undecided (inconclusive) "
                      "and 1 could not be measured at this scale.")
    held = sentence_with("The held claim is", out)
    assert len(held) == 1 and findings.short(vs[0]) in held[0]
    depart = sentence_with("depart from the thesis", out)[0]
    assert findings.short(vs[1]) in depart and "the thesis: the thesis on falls" in depart
    assert_inconclusive_is_undecided(out, vs)
    assert 3 <= len(out) <= 6


def test_a_number_changed_changes_the_sentence():
    small, large = findings.sentences(a_set("04", 0.3)), findings.sentences(a_set("04", 0.5))
    held = lambda out: sentence_with("The held claim", out)[0]  # noqa: E731
    assert "mean difference +0.3," in held(small) and "mean difference +0.5," in held(large)
    t = a_set("04", 0.5)[0].test
    assert f"{findings.number(t['ci_low'])} to +{findings.number(t['ci_high'])}, 3 seeds" in held(large)


def test_an_inconclusive_verdict_with_a_large_mean_is_still_undecided():
    v = decided("05", "noisy", [3.0, -1.0, 2.5], [0, 0, 0])  # mean +1.5, interval across 0
    assert v.verdict == INCONCLUSIVE
    out = findings.sentences([v])
    assert out[0].endswith("0 held, 0 were not held and 1 is undecided (inconclusive).")
    und = sentence_with(UNDECIDED, out)[0]
    assert findings.short(v) in und and "mean difference +1.5" in und
    assert f"{findings.signed(v.test['ci_low'])} to {findings.signed(v.test['ci_high'])}" in und
    assert not sentence_with("held claim", out) and not sentence_with("depart", out)
    assert_inconclusive_is_undecided(out, [v])


def test_within_one_seed_sd_is_said_plainly_and_ties_are_counted():
    noisy = decided("08", "noisy", [1.1, 0.7, 1.3], [1, 1, 1])  # mean +0.033, sd 0.31
    tie = decided("08", "tie", [1, 1, 1], [1, 1, 1])
    clear = decided("08", "clear", [2, 2.1, 1.9], [1, 1, 1])
    s = findings.within_sd_sentence([noisy, tie, clear])
    assert s.startswith("1 of the 3 measured differences is smaller than one standard deviation")
    assert findings.short(noisy) in s and findings.short(clear) not in s
    assert s.endswith("1 of the 3 measured comparisons shows no difference on any seed.")
    assert findings.within_sd_sentence([clear]) == ("Every one of the 1 measured differences is larger than one "
                                                     "standard deviation of its seeds' differences.")


def test_numbers_use_the_one_format_and_floating_residue_is_zero():
    assert findings.signed(0.0123456) == "+0.0123" and findings.signed(-2.5) == "-2.5"
    assert findings.signed(1234.5) == "+1,234"
    assert findings.signed(-6.9e-18) == "0"


def test_an_every_group_claim_says_how_many_groups_held():
    t = {"diff": 0.01, "ci_low": 0.008, "ci_high": 0.012, "n": 3, "level": 0.95, "rule": "every group",
         "groups": 4, "groups_held": 1}
    assert findings.interval(t).endswith("; every group must hold: 1 of 4 did")


def test_best_of_reads_means_over_seeds_and_says_a_tie():
    df = pd.DataFrame({"x": [1, 2, 1, 2], "seed": [0, 0, 1, 1], "v": [0.2, 0.5, 0.3, 0.4]})
    b = findings.best_of(df, "x", "v")
    assert (b["x"], round(b["mean"], 6), b["next_x"], b["per_seed"]) == (2, 0.45, 1, [2, 2])
    text = findings.best_sentence(df, "x", "v", subject="V", where="x")
    assert text.startswith("V is highest at x 2 (mean 0.45 over 2 seeds") and "x 1 follows at 0.25" in text
    flat = df.assign(v=0.3)
    assert findings.best_of(flat, "x", "v")["per_seed"] == ["a tie", "a tie"]
    assert "tied with x" in findings.best_sentence(flat, "x", "v", subject="V", where="x")
    assert "tied with x" in findings.best_by_sentence(flat.assign(g="a"), "g", "x", "v", subject="V", where="x")
    assert findings.best_sentence(df.assign(v=np.nan), "x", "v", subject="V", where="x") == ""


# ------------------------------------------------------------------------------------- each chapter
def metrics(peak_epoch: int, epochs: int = 5) -> SimpleNamespace:
    coh = [0.01 + (0.02 if e == peak_epoch else 0.001 * e) for e in range(epochs + 1)]
    return SimpleNamespace(metrics=pd.DataFrame({"epoch": range(epochs + 1), "coherence": coh}))


def ch02_case(peak: int):
    runs = {"cnn": {s: {"real": metrics(peak)} for s in SEEDS}, "vit": {s: {"real": metrics(2)} for s in SEEDS}}
    vs = [ch02_claims.peak_claim("cnn", "resnet_small", [0.03, 0.031, 0.029], [0.02, 0.021, 0.019]).verdict,
          ch02_claims.peak_claim("vit", "vit_tiny", [0.03, 0.02, 0.035], [0.03, 0.03, 0.03]).verdict]
    return ch02_findings.sentences({"cnn": "resnet_small", "vit": "vit_tiny"}, runs, vs), vs


def ch03_case(rho: float):
    corr = {"cnn": {s: {"rho_displacement": rho + 0.01 * s} for s in SEEDS}, "vit": {0: {"rho_displacement": 0.2}}}
    vs = a_set("03")
    return ch03_findings.sentences({"cnn": "resnet_small", "vit": "vit_tiny"}, corr, vs), vs


def ch04_case(best: int):
    peak = pd.DataFrame([{"width": w, "seed": s, "max_coherence": (0.05 if w == best else 0.02) + 0.001 * s}
                         for w in (16, 32, 64) for s in SEEDS])
    rising = peak.assign(max_coherence=peak["width"] / 1000 + peak["seed"] * np.log(peak["width"]) / 1000)
    vs = [ch04_claims.coherence_grows(rising).verdict, *a_set("04")[1:]]
    assert vs[0].verdict == HELD
    return ch04_findings.sentences(peak, vs), vs


def sweep(best: str) -> pd.DataFrame:
    return pd.DataFrame([{"scope": sc, "width": w, "seed": s, "method": m, "test_acc": v + 0.01 * s,
                          "train_acc": 0.9, "gap": 0.4}
                         for sc in ("global", "layer") for w in (16, 32) for s in SEEDS
                         for m, v in (("none", 0.4), ("diff", 0.5), ("magnitude", 0.5), ("random", 0.5))
                         for v in [v + (0.1 if m == best else 0.0)]])


def ch05_case(best: str):
    final = sweep(best)
    vs = [ch05_claims.sparse_beats_dense(final[final.scope == "global"]).verdict, a_set("05")[2]]
    return ch05_findings.sentences(final, vs), vs


def ch06_case(best: str):
    res = pd.DataFrame([{"method": m, "seed": s, "test_acc": (0.9 if m == best else 0.8) + 0.01 * s}
                        for m in ("none", "random", "magnitude_best", "coherence_best") for s in SEEDS])
    vs = a_set("06")
    return ch06_findings.sentences({("resnet", "global"): (res, None)}, vs), vs


def ch08_case(peak: int):
    curves = pd.DataFrame([{"width": w, "seed": s, "data": d, "epoch": e,
                            "coherence": 0.05 if e == (peak if d == "real" else 1) else 0.01}
                           for w in (16, 64) for s in SEEDS for d in ("real", "gaussian") for e in range(5)])
    vs = a_set("08")
    return ch08_findings.sentences(curves, vs), vs


def ch09_case(best: str):
    acc = pd.DataFrame([{"family": f, "variant": v, "seed": s, "test_acc": (0.6 if v == best else 0.5) + 0.01 * s}
                        for f in ("mlp", "vit") for v in ("none", "random", "magnitude", "diff") for s in SEEDS])
    vs = a_set("09")
    return ch09_findings.sentences(acc, vs), vs


CASES = {"02": (ch02_case, 3, 4, "epoch 3 for resnet_small", "epoch 4 for resnet_small"),
         "03": (ch03_case, 0.1, 0.4, "mean 0.11 (seed sd 0.01, 3 seeds) for resnet_small",
                "mean 0.41 (seed sd 0.01, 3 seeds) for resnet_small"),
         "04": (ch04_case, 32, 64, "highest at width 32 (mean 0.051", "highest at width 64 (mean 0.051"),
         "05": (ch05_case, "diff", "random", "the mask diff for global ranking", "the mask random for global ranking"),
         "06": (ch06_case, "random", "coherence_best",
                "is random for ResNet, global ranking (mean 0.91), where Table 6.1 has random too",
                "coherence_best for ResNet, global ranking (mean 0.91), where Table 6.1 has random (0.913)"),
         "08": (ch08_case, 2, 3, "epoch 2 for width 16", "epoch 3 for width 16"),
         "09": (ch09_case, "diff", "random", "the variant diff for MLP", "the variant random for MLP")}


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_chapters_findings_are_computed_from_its_numbers(key):
    make, one, other, said_one, said_other = CASES[key]
    out_one, vs = make(one)
    out_other, _ = make(other)
    assert said_one in out_one[0] and said_other in out_other[0], (out_one[0], out_other[0])
    assert out_one[0] != out_other[0]
    assert out_one[1].startswith(f"Of the {len(vs)} claims this chapter decides")
    assert 3 <= len(out_one) <= 6
    assert any(v.verdict == INCONCLUSIVE for v in vs)
    assert_inconclusive_is_undecided(out_one, vs)


@pytest.mark.parametrize("key", sorted(CASES))
def test_each_chapter_ends_with_its_findings(key):
    nb = nbformat.read(ROOT / registry.get(key).notebook, as_version=4)
    head, code = nb.cells[-2], nb.cells[-1]
    assert head.cell_type == "markdown" and head.source.startswith("## What this chapter found")
    assert code.cell_type == "code" and f"ch{key}_findings.show(S, R, V)" in code.source
