"""Chapters 2 and 3's modules without training: parameters, and every verdict rule on hand-made numbers."""
from __future__ import annotations


import pandas as pd
import pytest

from lib.chapters import ch02_coherence as ch2
from lib.chapters import ch03_diffs as ch3
from lib.chapters.params import ParameterError
from lib.chapters.verdicts import VERDICTS, Verdict

NOT_MEASURED = "not measured at this scale"


# ---------------------------------------------------------------------------------- parameters
# (Params defaults against each notebook's parameters cell: tests/test_architecture.py, every chapter)


def test_repeated_seeds_are_refused():
    with pytest.raises(ParameterError, match=r"seeds = \[0, 0\] repeats \[0\]"):
        ch2.setup(seeds=[0, 0])


def test_chapter_3_takes_no_seeds():
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['seeds'\]"):
        ch3.setup(seeds=[0, 0])


def test_early_window_at_smoke():
    s = ch2.setup(profile="smoke")  # 2 real-data epochs: k = max(1, round(0.25 * 2)) = 1
    assert ch2.early_window(s, "cnn") == (1, 2, 2)
    assert ch2.early_window(ch2.setup(profile="smoke", epochs=8, early_frac=0.5), "vit") == (4, 5, 8)


# ------------------------------------------------------------------------- chapter 2: helpers
def test_make_verdict_marks_one_seed_tentative():
    v = ch2.make_verdict("02", "x", "c", "t", "ours", "held", "Figure 2.1", tentative=True)
    assert v.ours == "ours" + ch2.TENTATIVE and v.chapter == "02"
    assert ch2.make_verdict("02", "x", "c", "t", "ours", "held", "F", tentative=False).ours == "ours"
    assert ch2.make_verdict("02", "x", "c", "t", "ours", NOT_MEASURED, "F", tentative=True).ours == "ours"


# (a, b, verdict, tentative): held, not held, tie, not measured
CASES = [
    ([0.30, 0.32], [0.10, 0.12], "held", False),
    ([0.10, 0.12], [0.30, 0.31], "not held", False),
    ([0.30, 0.10], [0.20, 0.21], "tie", False),
    ([float("nan")], [0.1], NOT_MEASURED, True),
    ([0.3], [0.1], "held", True),
]


def _check(v: Verdict, verdict: str, tentative: bool) -> None:
    assert isinstance(v, Verdict) and v.verdict == verdict and v.verdict in VERDICTS
    assert v.ours.endswith(ch2.TENTATIVE) == (tentative and verdict != NOT_MEASURED)


@pytest.mark.parametrize("a, b, verdict, tentative", CASES)
def test_two_sided_chapter_2_claims(a, b, verdict, tentative):
    """Every "mean(a) > mean(b)" claim of chapter 2 follows verdicts.summary."""
    vs = [ch2.peak_claim("cnn", "resnet_small", a, b), ch2.early_claim("vit", "vit_tiny", 0.25, 3, a, b),
          ch2.late_claim("cnn", "resnet_small", 8, 10, a, b), ch2.vit_memorises_less_claim("vit_tiny", a, b),
          ch2.gravity_claim("vit", "vit_tiny", 10, 20, a, b), ch2.fresh_claim("cnn", "resnet_small", a, b)]
    for v in vs:
        _check(v, verdict, tentative)


def test_chapter_2_claim_texts():
    v = ch2.peak_claim("vit", "vit_tiny", [0.5], [0.25])
    assert v.claim_id == "2-vit-peak-coherence-real-gt-gaussian" and v.figure == "Figure 2.2"
    assert v.ours == "max α real 0.5, Gaussian 0.25" + ch2.TENTATIVE
    v = ch2.early_claim("cnn", "resnet_small", 0.25, 3, [0.5, 0.5], [0.1, 0.1])
    assert "first 25% of the real-data run" in v.claim and v.ours.startswith("mean α over epochs 1..3: real 0.5")
    v = ch2.late_claim("cnn", "resnet_small", 8, 10, [0.5, 0.5], [0.1, 0.1])
    assert v.ours == "mean α over epochs 8..10: Gaussian 0.5, real 0.1" and v.figure == "Figure 2.1"
    v = ch2.gravity_claim("cnn", "resnet_small", 10, 20, [0.5, 0.5], [0.1, 0.1])
    assert v.ours.endswith("(real over 10 epochs, Gaussian over 20)") and v.claim_id == "2-resnet-gravity-premise"


@pytest.mark.parametrize("acc, learning, verdict", [
    ([1.0, 0.99], [False, False], "held"),       # memorised
    ([0.97, 1.0], [True, True], "held"),          # memorised; still learning does not matter
    ([0.2, 0.3], [False, False], "not held"),     # stuck below the threshold
    ([0.2, 0.3], [False, True], NOT_MEASURED),    # below it, but one seed's loss was still falling
    ([0.90, 1.0], [True, False], "tie"),          # mean 0.95 within the seed spread
])
def test_memorisation_claim(acc, learning, verdict):
    v = ch2.memorisation_claim("resnet_small", 0.95, 3, acc, learning)
    assert v.verdict == verdict and v.claim_id == "2-resnet-memorises-gaussian"
    assert v.claim.endswith("(final train accuracy >= 0.95)")
    assert v.ours.startswith(f"final Gaussian train accuracy {sum(acc) / len(acc):.3f} after 3 epochs")
    assert ("still falling" in v.ours) == (verdict == NOT_MEASURED)


def test_memorisation_claim_one_seed_is_tentative():
    assert ch2.memorisation_claim("resnet_small", 0.95, 3, [0.2], [False]).ours.endswith(ch2.TENTATIVE)
    assert not ch2.memorisation_claim("resnet_small", 0.95, 3, [0.2], [True]).ours.endswith(ch2.TENTATIVE)


@pytest.mark.parametrize("ks, verdict", [
    ([0.01, 0.02], "held"), ([0.3, 0.4], "not held"), ([0.01, 0.2], "tie"), ([float("nan")], NOT_MEASURED)])
def test_magnitudes_claim(ks, verdict):
    v = ch2.magnitudes_claim("cnn", "resnet_small", 0.05, ks)
    assert v.verdict == verdict and v.figure == "Figure 2.3" and "(KS < 0.05)" in v.claim


def synthetic_measures(s: ch2.Setup, **cols: float) -> pd.DataFrame:
    """One row per family and seed, every measure 0.5 unless given."""
    rows = [{"family": f, "seed": seed, **{c: cols.get(c, 0.5) for c in ch2.MEASURES}}
            for f in s.archs for seed in s.seeds]
    return pd.DataFrame(rows)


def test_claims_order_and_ids_from_synthetic_measures():
    s = ch2.setup(profile="smoke")
    vs = ch2.claims(s, synthetic_measures(s, peak_real=0.9, peak_gaussian=0.1, final_acc_gaussian=1.0,
                                          still_learning_gaussian=False, ks_gaussian=0.01))
    fams = ("resnet", "vit")
    expected = ([f"2-{f}-peak-coherence-real-gt-gaussian" for f in fams]
                + [f"2-{f}-early-coherence-real-gt-gaussian" for f in fams]
                + [f"2-{f}-late-coherence-gaussian-gt-real" for f in fams]
                + ["2-resnet-memorises-gaussian", "2-vit-memorises-less-than-resnet"]
                + [f"2-{f}-magnitudes-real-like-gaussian" for f in fams]
                + [f"2-{f}-gravity-premise" for f in fams]
                + [f"2-{f}-fresh-real-gt-trained-gaussian" for f in fams])
    assert [v.claim_id for v in vs] == expected
    by_id = {v.claim_id: v.verdict for v in vs}
    assert by_id["2-resnet-peak-coherence-real-gt-gaussian"] == "held"
    assert by_id["2-vit-fresh-real-gt-trained-gaussian"] == "held"  # 0.9 vs the default 0.5
    assert by_id["2-resnet-memorises-gaussian"] == "held" and by_id["2-vit-magnitudes-real-like-gaussian"] == "held"
    assert by_id["2-resnet-early-coherence-real-gt-gaussian"] == "tie"  # equal values
    assert all(v.chapter == "02" and not v.ours.endswith(ch2.TENTATIVE) for v in vs)  # smoke: seeds 0 and 1


def test_claims_with_one_seed_are_tentative():
    s = ch2.setup(profile="smoke", seeds=[0])
    vs = ch2.claims(s, synthetic_measures(s, peak_real=0.9))
    assert len(vs) == 14 and all(v.ours.endswith(ch2.TENTATIVE) for v in vs if v.verdict != NOT_MEASURED)


# ---------------------------------------------------------------------------------- chapter 3
def diff_summary(rows: list[dict]) -> pd.DataFrame:
    """A diff summary table; unset columns get harmless values."""
    base = {"arch": "resnet_small", "run": "real", "which": "max", "mean": 0.0, "std": 0.1,
            "excess_kurtosis": 0.0, "frac_abs_one": 0.0}
    return pd.DataFrame([{**base, **r} for r in rows])


@pytest.mark.parametrize("flags, verdict", [
    ([True, True, False], "held"), ([True, False, False], "not held"), ([True, False], "tie"), ([], NOT_MEASURED)])
def test_share_verdict(flags, verdict):
    assert ch3.share_verdict(flags) == verdict


@pytest.mark.parametrize("n_ok, verdict", [(3, "held"), (1, "not held"), (2, "tie")])
def test_centred_normal_claim(n_ok, verdict):
    # four real-run tensors at the max epoch; the first n_ok are centred and normal, the rest have a shifted mean
    rows = [{"layer": f"l{i}", "mean": 0.0 if i < n_ok else 0.1, "std": 0.1, "excess_kurtosis": 0.5} for i in range(4)]
    rows += [{"layer": "l0", "run": "gaussian", "mean": 1.0}, {"layer": "l0", "which": "min", "mean": 1.0}]  # ignored
    v = ch3.centred_normal_claim(diff_summary(rows), 0.25, 1.0)
    assert v.verdict == verdict and v.chapter == "03" and v.claim_id == "3-diffs-centred-normal"
    assert v.ours.startswith(f"{n_ok} of 4 tensors have |mean| < 0.25·std and |excess kurtosis| < 1.0")
    assert v.ours.endswith(ch2.TENTATIVE)


def test_centred_normal_claim_checks_kurtosis():
    rows = [{"layer": f"l{i}", "excess_kurtosis": 3.0} for i in range(3)]
    assert ch3.centred_normal_claim(diff_summary(rows), 0.25, 1.0).verdict == "not held"


def _two_epochs(stds: list[tuple[float, float]]) -> pd.DataFrame:
    """Real-run tensors with (std at the max epoch, std at the min epoch)."""
    rows = []
    for i, (hi, lo) in enumerate(stds):
        rows += [{"layer": f"l{i}", "which": "max", "std": hi}, {"layer": f"l{i}", "which": "min", "std": lo}]
    return diff_summary(rows)


@pytest.mark.parametrize("stds, verdict", [
    ([(0.2, 0.1), (0.3, 0.1), (0.1, 0.2)], "held"), ([(0.1, 0.2), (0.1, 0.3), (0.3, 0.2)], "not held"),
    ([(0.2, 0.1), (0.1, 0.2)], "tie")])
def test_wider_claim(stds, verdict):
    v = ch3.wider_claim(_two_epochs(stds))
    assert v.verdict == verdict and f"of {len(stds)} run × tensor cases" in v.ours


def _two_runs(values: list[tuple[float, float]], column: str, arch: str = "resnet_small") -> pd.DataFrame:
    """Tensors with (Gaussian, real) values of ``column`` at the max epoch."""
    rows = []
    for i, (g, r) in enumerate(values):
        rows += [{"arch": arch, "layer": f"l{i}.weight", "run": "gaussian", column: g},
                 {"arch": arch, "layer": f"l{i}.weight", "run": "real", column: r}]
    return diff_summary(rows)


@pytest.mark.parametrize("stds, verdict", [
    ([(0.2, 0.1), (0.1, 0.1), (0.1, 0.2)], "held"),  # equal counts as "not smaller"
    ([(0.1, 0.2), (0.1, 0.3)], "not held"), ([(0.2, 0.1), (0.1, 0.2)], "tie")])
def test_gaussian_not_smaller_claim(stds, verdict):
    v = ch3.gaussian_not_smaller_claim(_two_runs(stds, "std"))
    assert v.verdict == verdict and v.claim_id == "3-gaussian-diffs-not-smaller"


@pytest.mark.parametrize("shares, verdict", [
    ([(0.1, 0.0), (0.2, 0.1), (0.0, 0.0)], "held"),  # (0, 0): no spike at all, not a case for
    ([(0.0, 0.0), (0.1, 0.2), (0.3, 0.0)], "not held"), ([(0.1, 0.0), (0.0, 0.0)], "tie")])
def test_vit_spikes_claim(shares, verdict):
    summ = pd.concat([_two_runs(shares, "frac_abs_one", arch="vit_tiny"),
                      _two_runs([(0.0, 0.5)] * 3, "frac_abs_one")])  # the ResNet's rows are ignored
    v = ch3.vit_spikes_claim(summ, "vit_tiny")
    assert v.verdict == verdict and v.claim.startswith("[vit_tiny]")
    assert v.ours.startswith(f"share of |diff| = 1, Gaussian vs real: l0 {shares[0][0]:.3g} vs {shares[0][1]:.3g}")


@pytest.mark.parametrize("p, verdict", [(0.5, "held"), (0.05, "held"), (0.01, "not held")])
def test_move_alike_claim(p, verdict):
    test = {"mean_high": 0.2, "mean_low": 0.1, "ratio": 2.0, "diff": 0.1, "p": p}
    corr = {"n": 2304, "rho_displacement": 0.1, "rho_magnitude": 0.2}
    v = ch3.move_alike_claim("vit", "vit_tiny", test, corr, alpha=0.05)
    assert v.verdict == verdict and v.claim_id == "3-vit-high-low-diff-move-alike" and v.figure == "Figure 3.4"
    assert f"permutation p = {p:.3f}" in v.ours and "over all 2,304 entries" in v.ours
    assert v.ours.endswith(ch2.TENTATIVE)
