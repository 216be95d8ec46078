"""Chapter 8 (what coherence and diffs measure): its plan reuses chapters 2 and 4, prefix statistics equal one
pass, and every claim function decides hand-made frames as its rule says."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lib.chapters import ch08_what_diffs_measure as ch
from lib.chapters import registry
from lib.chapters.params import ParameterError
from lib.config import config_hash
from lib.stats import gradient_stats
from lib.stats.prefix import merge, prefix_stats


# ------------------------------------------------------------------------------------------ plan
@pytest.mark.usefixtures("stand_in_fingerprint")
def test_plan_reuses_chapters_2_and_4_and_adds_only_gaussian_mlps():
    s = ch.setup(profile="smoke")
    mine = {config_hash(c): c for st in ch.plan(s) for c in st}
    theirs = {config_hash(c) for k in ("02", "04") for st in registry.plan(k, profile="smoke") for c in st}
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


# ---------------------------------------------------------------------------------------- claims
def _sig(fam: str, real: list[float], gauss: list[float]) -> pd.DataFrame:
    rows = []
    for data, vals in (("real", real), ("gaussian", gauss)):
        for sd, v in enumerate(vals):
            rows.append({"family": fam, "data": data, "seed": sd, "which": "max", "tensor": "all", "significant": v,
                         "sd": 0.1, "null_sd": 0.06, "zero_frac": 0.3})
    return pd.DataFrame(rows)


def test_gaussian_more_significant_and_signal_claims():
    df = _sig("vit", [0.10, 0.12, 0.11], [0.5, 0.55, 0.6])
    v, _ = ch.gaussian_more_significant(df, "vit")
    assert v.verdict == "held" and v.claim_id == "8-vit-gaussian-diffs-more-significant"
    v, _ = ch.gaussian_more_significant(_sig("vit", [0.5, 0.55, 0.6], [0.10, 0.12, 0.11]), "vit")
    assert v.verdict == "not held"
    v, _ = ch.real_diffs_signal(df, "vit")
    assert v.verdict == "held"
    v, _ = ch.real_diffs_signal(_sig("vit", [0.0, 0.001, 0.0], [0, 0, 0]), "vit")
    assert v.verdict == "not held"
    v, _ = ch.real_diffs_signal(_sig("cnn", [0.1], [0.2]), "vit")
    assert v.verdict == "not measured at this scale"


def _spread(lo: list[float], hi: list[float]) -> pd.DataFrame:
    rows = [{"family": "mlp", "data": "real", "seed": sd, "tensor": "all", "n": n, "sd_sqrt_n": v}
            for n, vals in ((128, lo), (2048, hi)) for sd, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_spread_claim_separates_noise_from_signal():
    v, _ = ch.spread_is_signal(_spread([1.0, 1.1, 0.9], [3.9, 4.2, 3.7]), "mlp")
    assert v.verdict == "held"
    v, _ = ch.spread_is_signal(_spread([1.0, 1.1, 0.9], [1.01, 1.08, 0.91]), "mlp")
    assert v.verdict == "inconclusive"
    v, _ = ch.spread_is_signal(_spread([1.0, 1.1, 0.9], [1.0, 1.1, 0.9]).query("n == 128"), "mlp")
    assert v.verdict == "not measured at this scale"


def _peaks(train: dict[int, float], test: dict[int, float], gap: dict[int, float], seeds=(0, 1, 2), gauss=False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for data in (("real", "gaussian") if gauss else ("real",)):
        for sd in seeds:
            for w in train:
                f = 1 + 0.01 * rng.standard_normal()
                tr = train[w] * f * (3 if data == "gaussian" else 1)
                rows.append({"data": data, "width": w, "seed": sd, "train_peak": tr, "test_peak": test[w] * f,
                             "test_debiased_mean": 0.01 * f, "train_debiased_mean": 0.02, "gap": gap[w] * f,
                             "test_acc": 0.4})
    return pd.DataFrame(rows)


def test_train_and_test_coherence_claims():
    pk = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.010, 64: 0.0101, 128: 0.0099}, {32: 0.1, 64: 0.2, 128: 0.3},
                gauss=True)
    assert ch.train_coherence_grows(pk)[0].verdict == "held"
    assert ch.test_coherence_flat(pk)[0].verdict == "held"
    assert ch.gaussian_train_test_split(pk)[0].verdict == "held"
    assert ch.test_coherence_above_floor(pk)[0].verdict == "held"
    grows = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.1, 64: 0.2, 128: 0.3})
    assert ch.test_coherence_flat(grows)[0].verdict == "not held"
    # the gap follows train coherence and runs against test coherence in every seed
    pk2 = _peaks({32: 0.01, 64: 0.02, 128: 0.04}, {32: 0.03, 64: 0.02, 128: 0.01}, {32: 0.1, 64: 0.2, 128: 0.3})
    assert ch.gap_tracks_train(pk2)[0].verdict == "held"
    two = pk2[pk2["width"] != 128]
    assert ch.gap_tracks_train(two)[0].verdict == "not measured at this scale"


def test_width_claims_on_significance():
    rows = [{"width": w, "seed": sd, "significant": s - 0.01 * sd, "sd": 0.1 * s, "null_sd": 0.05}
            for w, s in ((32, 0.3), (64, 0.2), (128, 0.1)) for sd in range(3)]
    df = pd.DataFrame(rows)
    assert ch.significance_falls_with_width(df)[0].verdict == "held"
    assert ch.relative_spread_falls_with_width(df)[0].verdict == "held"
    up = df.assign(significant=df["significant"][::-1].to_numpy())
    assert ch.significance_falls_with_width(up)[0].verdict == "not held"


def test_head_share_claim():
    rows = []
    for sd in range(3):
        rows += [{"family": "mlp", "data": "real", "seed": sd, "tensor": "net.0.weight", "grad_share": 0.2 + 0.01 * sd,
                  "weight_share": 0.9},
                 {"family": "mlp", "data": "real", "seed": sd, "tensor": "net.2.weight", "grad_share": 0.8 - 0.01 * sd,
                  "weight_share": 0.1}]
    v, g = ch.head_carries_coherence(pd.DataFrame(rows), "mlp")
    assert v.verdict == "held" and g["tensor"].iloc[0] == "net.2.weight"
