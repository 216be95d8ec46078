"""Chapter 8 (what coherence and diffs measure): its plan reuses chapters 2 and 4, prefix statistics equal one
pass, the per-tensor share of ||E g||^2 is debiased (checked against every pair of per-sample gradients), and
every claim function decides hand-made frames over seeds (n = seeds) as its rule says."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lib import manifest, runs
from lib.chapters import ch08_analysis as analysis
from lib.chapters import ch08_claims as claims
from lib.chapters import ch08_what_diffs_measure as ch
from lib.chapters import registry
from lib.chapters import verdicts as toolkit
from lib.chapters.params import ParameterError
from lib.config import StatsConfig, config_hash
from lib.plan import configs
from lib.stats import gradient_stats
from lib.stats import significance as sig
from lib.stats.callback import StatsCallback
from lib.stats.prefix import merge, prefix_stats


# ------------------------------------------------------------------------------------------ plan
@pytest.mark.usefixtures("stand_in_fingerprint")
def test_plan_reuses_chapters_2_and_4_and_adds_only_gaussian_mlps():
    s = ch.setup(profile="smoke")
    mine = {config_hash(c): c for c in configs(ch.plan(s))}
    theirs = {config_hash(c) for k in ("02", "04") for c in configs(registry.plan(k, profile="smoke"))}
    new = [c for h, c in mine.items() if h not in theirs]
    assert new and all(c.model.arch == "mlp" and c.data.dataset == "gaussian" for c in new)
    assert len(new) == len(s.gaussian_widths) * len(s.seeds)
    assert all(c.stats.counts and c.stats.test_samples > 0 for c in new)


def test_setup_rejects_bad_parameters():
    with pytest.raises(ParameterError, match="mlp_width = 7"):
        ch.setup(profile="smoke", mlp_width=7)
    with pytest.raises(ParameterError, match="q"):
        ch.setup(profile="smoke", q=1.5)
    with pytest.raises(ParameterError, match="unknown parameter"):
        ch.setup(profile="smoke", width=3)


def test_sample_sizes_stop_at_the_training_set():
    s = ch.setup(profile="smoke", sample_sizes=[16, 64, 4096])
    cfg = s.sweep[(s.mlp_width, s.seeds[0])]
    assert ch.sizes_for(s, cfg) == [16, 64, cfg.data.n_train]


# ------------------------------------------------------------------------------ prefix statistics
def test_prefix_stats_equal_one_pass_per_prefix():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    got = prefix_stats(model, x, y, [7, 20, 40], batch_size=16)
    for n, st in got.items():
        ref = gradient_stats(model, (x[:n], y[:n]), counts=True, progress=False)
        assert st.n == n
        for k in ref.diffs:
            assert torch.equal(st.sign_sum[k], ref.sign_sum[k]) and torch.equal(st.nonzero[k], ref.nonzero[k])
            assert torch.equal(st.diffs[k], ref.diffs[k])
            assert st.layer_coherence[k] == pytest.approx(ref.layer_coherence[k], rel=1e-5)
        assert st.coherence == pytest.approx(ref.coherence, rel=1e-5)
    with pytest.raises(ValueError, match="increasing"):
        prefix_stats(model, x, y, [20, 7])
    with pytest.raises(ValueError, match="counts=True"):
        merge([gradient_stats(model, (x, y), progress=False)])


def test_diff_files_are_plain_data_read_with_their_exact_counts(tmp_path):
    """The stats callback writes each diff file as ints, floats and dicts of tensors, so the chapter reads it with
    torch.load(weights_only=True), and the counts read back are the statistics engine's."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(20, 6), torch.randint(0, 3, (20,))
    callback = StatsCallback(StatsConfig(every=1, counts=True))
    ctx = SimpleNamespace(config=SimpleNamespace(epochs=1), data=SimpleNamespace(x_train=x, y_train=y),
                          out_dir=tmp_path)
    for epoch in (0, 1):
        callback.on_epoch_end(epoch, model, ctx)
    manifest.write_manifest(tmp_path)
    run = runs.Run(None, tmp_path)  # read as a cached run is: each file checked against the manifest
    ref = gradient_stats(model, (x, y), counts=True, progress=False)
    for which, epoch in (("max", 1), ("min", 0)):
        got = ch.load_counts(run, which)
        assert got["n"] == 20 and got["epoch"] == epoch and got["coherence"] == pytest.approx(ref.coherence, rel=1e-5)
        for k in ref.diffs:
            assert torch.equal(got["sign_sum"][k], ref.sign_sum[k]) and torch.equal(got["nonzero"][k], ref.nonzero[k])
    with pytest.raises(ValueError, match="unknown diff epoch"):
        ch.load_counts(run, "last")


# ------------------------------------------------------------------------------- debiased share
def _per_sample_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """Each sample's gradient of its own cross-entropy, one backward pass per sample: name -> (n, size)."""
    out: dict[str, list[np.ndarray]] = {k: [] for k, _ in model.named_parameters()}
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for k, p in model.named_parameters():
            out[k].append(p.grad.detach().double().numpy().ravel().copy())
    return {k: np.stack(v) for k, v in out.items()}


def _pairwise_mean(g: np.ndarray) -> float:
    """The mean of g_i . g_j over the ordered pairs i != j, pair by pair."""
    n = len(g)
    return float(np.mean([g[i] @ g[j] for i in range(n) for j in range(n) if i != j]))


def test_debiased_share_equals_the_mean_over_pairs_of_samples():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    x, y = torch.randn(9, 4), torch.tensor([0, 0, 0, 0, 0, 0, 1, 2, 0])  # mostly one class: a mean gradient to share
    st = gradient_stats(model, (x, y), counts=True, progress=False)
    g = _per_sample_grads(model, x, y)
    pair = {k: _pairwise_mean(v) for k, v in g.items()}
    plain = {k: float(np.sum(v.mean(0) ** 2)) for k, v in g.items()}
    for k, v in g.items():  # the statistics engine's mean gradient is the per-sample loop's
        assert st.mean_grad[k].double().numpy().ravel() == pytest.approx(v.mean(0), abs=1e-6)
        mean_sq = float(np.mean(np.sum(v ** 2, axis=1)))
        assert analysis.debiased_mean_sq(plain[k], mean_sq, len(y)) == pytest.approx(pair[k], rel=1e-9, abs=1e-15)
    got, old = analysis.grad_shares(st), analysis.grad_shares(st, debias=False)
    for k in g:
        assert got[k] == pytest.approx(pair[k] / sum(pair.values()), rel=1e-4, abs=1e-6)
        assert old[k] == pytest.approx(plain[k] / sum(plain.values()), rel=1e-4, abs=1e-6)
    assert sum(pair.values()) > 0 and min(pair.values()) != max(pair.values())
    # balanced random labels at initialisation: the pairs' products sum below 0, so there is nothing to share out
    y2 = torch.randint(0, 3, (9,), generator=torch.Generator().manual_seed(1))
    st2 = gradient_stats(model, (x, y2), counts=True, progress=False)
    total = sum(_pairwise_mean(v) for v in _per_sample_grads(model, x, y2).values())
    shares2 = analysis.grad_shares(st2)
    assert all(np.isnan(v) for v in shares2.values()) == (total <= 0)
    with pytest.raises(ValueError, match="n >= 2"):
        analysis.debiased_mean_sq(1.0, 1.0, 1)


def test_debiased_part_of_pure_noise_is_zero_on_average_the_plain_one_is_not():
    # Gradients of mean zero: tensor "a" with variance 1 per entry (10 entries), "b" with 9 (10 entries).
    # The plain ||mean g||^2 has expectation tr(Sigma) / n (10 / n and 90 / n); the debiased one 0.
    rng = np.random.default_rng(0)
    n, draws = 16, 4000
    deb, plain = {"a": [], "b": []}, {"a": [], "b": []}
    for _ in range(draws):
        for k, sd in (("a", 1.0), ("b", 3.0)):
            g = rng.normal(0.0, sd, size=(n, 10))
            m, sq = float(np.sum(g.mean(0) ** 2)), float(np.mean(np.sum(g ** 2, axis=1)))
            deb[k].append(analysis.debiased_mean_sq(m, sq, n))
            plain[k].append(m)
    for k, tr in (("a", 10.0), ("b", 90.0)):
        se = np.std(deb[k]) / np.sqrt(draws)
        assert abs(np.mean(deb[k])) < 4 * se
        assert np.mean(plain[k]) == pytest.approx(tr / n, rel=0.05)
    # Signal in "a" only (mean 1 per entry, ||E g_a||^2 = 10), pure noise in "b" (sd 2, tr = 40): the debiased
    # share of "b" is about 0 on average; the plain share gives "b" tr / n / (10 + 10 / n + tr / n) = 0.19 of
    # ||E g||^2 although its mean gradient is 0.
    share_b_deb, share_b_plain = [], []
    for _ in range(2000):
        ga, gb = rng.normal(1.0, 1.0, size=(n, 10)), rng.normal(0.0, 2.0, size=(n, 10))
        parts = {k: (float(np.sum(g.mean(0) ** 2)), float(np.mean(np.sum(g ** 2, axis=1)))) for k, g in
                 (("a", ga), ("b", gb))}
        d = {k: analysis.debiased_mean_sq(m, sq, n) for k, (m, sq) in parts.items()}
        share_b_deb.append(d["b"] / sum(d.values()))
        share_b_plain.append(parts["b"][0] / sum(m for m, _ in parts.values()))
    assert abs(np.mean(share_b_deb)) < 4 * np.std(share_b_deb) / np.sqrt(2000) + 0.01
    assert np.mean(share_b_plain) == pytest.approx(2.5 / 13.125, abs=0.02)


# ---------------------------------------------------------------------------------------- claims
SEEDS = (0, 1, 2)


def _sig(fam: str, real: list[float], gauss: list[float]) -> pd.DataFrame:
    rows = []
    for data, vals in (("real", real), ("gaussian", gauss)):
        for sd, v in enumerate(vals):
            rows.append({"family": fam, "data": data, "seed": sd, "which": "max", "tensor": "all", "significant": v,
                         "sd": 0.1, "null_sd": 0.06, "zero_frac": 0.3})
    return pd.DataFrame(rows)


def test_gaussian_more_significant_and_signal_claims():
    df = _sig("vit", [0.10, 0.12, 0.11], [0.5, 0.55, 0.6])
    v, _ = claims.gaussian_more_significant(df, "vit")
    assert v.verdict == "held" and v.claim_id == "8-vit-gaussian-diffs-more-significant" and v.test["n"] == 3
    assert -1 <= v.test["ci_low"] <= v.test["ci_high"] <= 1
    v, _ = claims.gaussian_more_significant(_sig("vit", [0.5, 0.55, 0.6], [0.10, 0.12, 0.11]), "vit")
    assert v.verdict == "not held"
    v, _ = claims.real_diffs_signal(df, "vit")
    assert v.verdict == "held" and v.test["n"] == 3
    v, _ = claims.real_diffs_signal(_sig("vit", [0.0, 0.001, 0.0], [0, 0, 0]), "vit")
    assert v.verdict == "not held" and v.test["ci_low"] >= -claims.SIGNAL_FRACTION  # cut to the fraction's range
    v, _ = claims.real_diffs_signal(_sig("cnn", [0.1], [0.2]), "vit")
    assert v.verdict == "not measured at this scale"


def test_signal_share_is_about_zero_for_fair_coins_and_can_go_negative():
    rng = np.random.default_rng(3)
    n, weights = 64, 20_000
    shares = []
    for _ in range(40):
        m = rng.integers(n // 4, n + 1, size=weights)  # each weight's own count of nonzero signs
        d = (2 * rng.binomial(m, 0.5) - m) / n
        shares.append(float(claims.signal_share(d.std(), sig.null_diff_sd(m, n))))
    assert abs(np.mean(shares)) < 3 * np.std(shares) / np.sqrt(len(shares)) + 1e-3
    assert min(shares) < 0 < max(shares)
    # weights with expected diffs spread as widely as the noise: about half the variance is signal
    b = rng.uniform(-0.5, 0.5, size=weights)
    m = np.full(weights, n)
    d = (2 * rng.binomial(m, (1 + b) / 2) - m) / n
    assert float(claims.signal_share(d.std(), sig.null_diff_sd(m, n))) == pytest.approx(
        np.var(b) / (np.var(b) + 1 / n), abs=0.05)


def _spread(shares: list[float], ns=(128, 2048)) -> pd.DataFrame:
    """Spread rows whose signal share at the largest n is ``shares[seed]`` (null sd 1/sqrt(n))."""
    rows = []
    for n in ns:
        for sd, sh in enumerate(shares):
            null = 1 / np.sqrt(n)
            s = null / np.sqrt(1 - sh) if n == max(ns) else null * 1.1
            rows.append({"family": "mlp", "data": "real", "seed": sd, "tensor": "all", "n": n, "sd": s, "null_sd": null,
                         "sd_sqrt_n": s * np.sqrt(n)})
    return pd.DataFrame(rows)


def test_spread_claim_asks_how_much_is_signal_not_whether_any_is():
    v, _ = claims.spread_mostly_signal(_spread([0.80, 0.85, 0.75]), "mlp")
    assert v.verdict == "held" and v.claim_id == "8-mlp-real-spread-mostly-signal" and v.test["n"] == 3
    assert v.test["ci_high"] <= 1 - claims.SIGNAL_SHARE
    # sd * sqrt(n) rises here (the old claim held it), but only a tenth of the variance is signal: not held
    v, _ = claims.spread_mostly_signal(_spread([0.10, 0.12, 0.08]), "mlp")
    assert v.verdict == "not held"
    v, _ = claims.spread_mostly_signal(_spread([0.3, 0.7, 0.5]), "mlp")
    assert v.verdict == "inconclusive"
    v, _ = claims.spread_mostly_signal(_spread([0.8, 0.8, 0.8]).query("family == 'cnn'"), "mlp")
    assert v.verdict == "not measured at this scale"


def _peaks(train: dict[int, float], test: dict[int, float], gap: dict[int, float], seeds=SEEDS, gauss=False,
           noise: float = 0.01, test_deb: float = 0.01, train_deb: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for data in (("real", "gaussian") if gauss else ("real",)):
        for sd in seeds:
            for w in train:
                f = 1 + noise * rng.standard_normal()
                tr = train[w] * f * (3 if data == "gaussian" else 1)
                rows.append({"data": data, "width": w, "seed": sd, "epochs": 5, "nonfinite": 0, "train_peak": tr,
                             "test_peak": test[w] * f, "test_debiased_mean": test_deb * f,
                             "train_debiased_mean": train_deb * (1 + noise * rng.standard_normal()), "gap": gap[w] * f,
                             "test_acc": 0.4})
    return pd.DataFrame(rows)


def test_train_and_test_coherence_claims():
    pk = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.010, 64: 0.0101, 128: 0.0099}, {32: 0.1, 64: 0.2, 128: 0.3},
                gauss=True)
    v = claims.test_coherence_flat(pk)[0]
    assert v.verdict == "held" and v.test["n"] == 3 and "epoch 0" in v.note
    v = claims.gaussian_train_test_split(pk)[0]
    assert v.verdict == "held" and v.test["n"] == 3  # seeds, not (width, seed) pairs
    v = claims.test_below_train(pk)[0]
    assert v.verdict == "held" and v.test["n"] == 3
    assert claims.test_below_train(_peaks({32: 0.01, 64: 0.02}, {32: 0.01, 64: 0.01}, {32: 0.1, 64: 0.2},
                                      test_deb=0.03))[0].verdict == "not held"
    grows = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.1, 64: 0.2, 128: 0.3})
    assert claims.test_coherence_flat(grows)[0].verdict == "not held"
    # the gap follows train coherence and runs against test coherence in every seed
    pk2 = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.03, 64: 0.02, 128: 0.01}, {32: 0.1, 64: 0.2, 128: 0.3})
    v = claims.gap_tracks_train(pk2)[0]
    assert v.verdict == "held" and -2 <= v.test["ci_low"] <= v.test["ci_high"] <= 2
    two = pk2[pk2["width"] != 128]
    assert claims.gap_tracks_train(two)[0].verdict == "not measured at this scale"


def test_flat_is_judged_on_the_total_change_not_the_mean_step():
    # A 2.5x rise of peak test coherence across six widths: 0.18 in log per step, inside the old per-step margin
    # log 1.25 = 0.22, but a total change of log 2.5 = 0.92 over the sweep.
    widths = [32, 64, 128, 256, 512, 1024]
    rise = {w: 0.01 * 2.5 ** (i / 5) for i, w in enumerate(widths)}
    step = np.log(2.5) / 5
    assert step < claims.FLAT_TOTAL_MARGIN  # the old design would have called this flat
    pk = _peaks(rise, rise, {w: 0.1 for w in widths})
    v = claims.test_coherence_flat(pk)[0]
    assert v.verdict == "not held"
    assert v.test["diff"] == pytest.approx(np.log(2.5), abs=0.05) and v.test["n"] == 3
    noisy = _peaks(rise, rise, {w: 0.1 for w in widths}, seeds=(0, 1), noise=0.4)
    assert claims.test_coherence_flat(noisy)[0].verdict != "held"


def test_peaks_leave_out_epoch_zero_and_count_nonfinite_epochs():
    rows = []
    for ep, (c, t) in enumerate([(0.9, 0.9), (0.1, 0.05), (np.nan, 0.2), (0.3, 0.07)]):
        rows.append({"data": "real", "width": 32, "seed": 0, "epoch": ep, "coherence": c, "test_coherence": t,
                     "gap": 0.1 * ep, "test_acc": 0.3})
    pk = analysis.peaks(pd.DataFrame(rows), n_train=100, n_test=50)
    r = pk.iloc[0]
    assert r["train_peak"] == pytest.approx(0.3) and r["test_peak"] == pytest.approx(0.07)  # not epoch 0's 0.9
    assert r["epochs"] == 2 and r["nonfinite"] == 1
    note = claims.epochs_note(pk)
    assert "epoch 0" in note and "1 trained epoch(s) left out" in note


def _sweep(shares_by_width: dict[int, float], sig_by_width: dict[int, float], seeds=SEEDS) -> pd.DataFrame:
    rows = []
    for w, sh in shares_by_width.items():
        for sd in seeds:
            null = 0.05
            rows.append({"width": w, "seed": sd, "significant": sig_by_width[w] - 0.01 * sd,
                         "sd": null / np.sqrt(1 - sh + 0.01 * sd), "null_sd": null})
    return pd.DataFrame(rows)


def test_width_claims_on_significance_and_spread():
    df = _sweep({32: 0.9, 64: 0.8, 128: 0.7}, {32: 0.3, 64: 0.2, 128: 0.1})
    v = claims.significance_falls_with_width(df)[0]
    assert v.verdict == "held" and v.test["n"] == 3  # seeds, not (step, seed) pairs
    v, groups = claims.spread_signal_every_width(df)
    assert v.verdict == "held" and v.test["rule"] == "every group" and len(groups) == 3
    up = _sweep({32: 0.9, 64: 0.8, 128: 0.7}, {32: 0.1, 64: 0.2, 128: 0.3})
    assert claims.significance_falls_with_width(up)[0].verdict == "not held"
    # the widest width's diffs are coin flips: the mean over widths is above one half, "every width" is not held
    last_noise = _sweep({32: 0.95, 64: 0.95, 128: 0.0}, {32: 0.3, 64: 0.2, 128: 0.1})
    v = claims.spread_signal_every_width(last_noise)[0]
    assert v.verdict == "not held" and v.test["groups_not_held"] == 1


def _shares(head: list[float], weight_share: float = 0.1) -> pd.DataFrame:
    rows = []
    for sd, h in enumerate(head):
        rows += [{"family": "mlp", "data": "real", "seed": sd, "tensor": "net.0.weight", "grad_share": 1 - h,
                  "grad_share_plain": 0.5, "weight_share": 1 - weight_share},
                 {"family": "mlp", "data": "real", "seed": sd, "tensor": "net.2.weight", "grad_share": h,
                  "grad_share_plain": 0.5, "weight_share": weight_share}]
    return pd.DataFrame(rows)


def test_head_share_claim():
    v, g = claims.head_carries_coherence(_shares([0.8, 0.79, 0.78]), "mlp")
    assert v.verdict == "held" and g["tensor"].iloc[0] == "net.2.weight" and v.test["n"] == 3
    # a negative debiased share (the head's part is noise) is a value like any other, not dropped
    v, _ = claims.head_carries_coherence(_shares([-0.02, 0.01, -0.01]), "mlp")
    assert v.verdict == "not held" and v.test["dropped"] == 0
    # a seed with no share defined (debiased total not positive) is left out, and the note says why
    v, _ = claims.head_carries_coherence(_shares([0.8, 0.79, float("nan"), 0.78]), "mlp")
    assert v.test["n"] == 3 and v.test["dropped"] == 1 and "not positive" in v.note and "not positive" in v.interval


def test_every_claim_says_how_it_fails_and_chapter_4s_questions_are_not_asked_again():
    fams = list(claims.FAMILIES)  # each family its own numbers, so that equal keys would mean equal tests
    sigdf = pd.concat([_sig(f, [0.1 + i / 100, 0.12, 0.11], [0.5, 0.55 + i / 100, 0.6]) for i, f in enumerate(fams)],
                      ignore_index=True)
    spread = pd.concat([_spread([0.8 + i / 100, 0.85, 0.75]).assign(family=f) for i, f in enumerate(fams)],
                       ignore_index=True)
    pk = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.01, 64: 0.0101, 128: 0.0099}, {32: 0.1, 64: 0.2, 128: 0.3},
                gauss=True)
    shares = pd.concat([_shares([0.8 + i / 100, 0.79, 0.78]).assign(family=f) for i, f in enumerate(fams)],
                       ignore_index=True)
    sweep = _sweep({32: 0.9, 64: 0.8, 128: 0.7}, {32: 0.3, 64: 0.2, 128: 0.1})
    decided = claims.claims_of(sigdf, spread, pk, shares, sweep)
    ids = [d.verdict.claim_id for d in decided]
    assert len(ids) == len(set(ids)) == 18
    assert "8-train-coherence-grows-with-width" not in ids  # chapter 4's 4-coherence-grows-with-width
    assert "8-mlp-spread-over-null-falls-with-width" not in ids  # chapter 4's 4-diffs-narrow-with-width
    assert "8-test-coherence-above-floor" not in ids  # could not come out not held
    for d in decided:
        v = d.verdict
        assert v.fails_if and v.chapter == "08" and v.conclusion == ""
        assert v.verdict != "not measured at this scale" and v.test["n"] == 3, v.claim_id
    keys = [d.verdict.test["key"] for d in decided if d.verdict.test["key"]]  # "": an arm that does not vary
    assert len(keys) >= 6 and len(keys) == len(set(keys))  # no two claims test the same numbers
    intervals = toolkit.intervals_frame(decided)
    assert set(intervals["claim_id"]) == set(ids)
