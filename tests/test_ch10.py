"""Chapter 10 (the language model): its claims on hand-made per-seed frames, the noise scale against its
definition, the tensor groups, and the plan's structure (no corpus needed: stand-in fingerprints)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lib import masks, text_data
from lib.book import dryrun
from lib.chapters import ch10_claims as cl
from lib.chapters import ch10_language as ch
from lib.chapters.params import ParameterError
from lib.experiments import CHILD_SEED_OFFSET
from lib.models import build_model

SEEDS = (0, 1, 2)


def curves(offsets: dict[str, float], epochs: int = 8, random_loss: float = 4.4) -> pd.DataFrame:
    """Coherence 0.1 + offset[kind] + a little per seed, at every epoch; training loss ``random_loss`` for the
    random-token runs."""
    rows = []
    for kind in ch.KINDS:
        for sd in SEEDS:
            for e in range(epochs + 1):
                a = 0.1 + offsets.get(kind, 0.0) + 0.001 * sd + 0.0005 * e
                rows.append({"kind": kind, "seed": sd, "epoch": e, "coherence": a, "n": 256,
                             "train_loss": random_loss if kind == "brown_random" else 2.0, "test_loss": 2.1,
                             "noise_scale": float(cl.noise_scale(a, 256))})
    return pd.DataFrame(rows)


def test_early_claim_follows_the_sign_over_seeds():
    v = cl.early_claim(curves({"brown": 0.05}), "brown_shuffled", 8).verdict
    assert v.verdict == "held" and v.claim_id == "10-early-coherence-text-gt-shuffled" and v.test["n"] == 3
    v = cl.early_claim(curves({"brown_random": 0.05}), "brown_random", 8).verdict
    assert v.verdict == "not held"
    noisy = curves({})
    noisy.loc[noisy["kind"] == "brown", "coherence"] += np.where(noisy.loc[noisy["kind"] == "brown", "seed"] == 1,
                                                                 -0.02, 0.02)
    assert cl.early_claim(noisy, "brown_shuffled", 8).verdict.verdict == "inconclusive"


def test_late_claim_is_not_measured_until_random_tokens_are_memorised():
    c = curves({"brown_random": 0.05})
    v = cl.late_claim(c, 8, symbols=85).verdict
    assert v.verdict == "not measured at this scale" and v.test["measured_verdict"] == "held"
    assert "have not begun to memorise" in v.note
    v = cl.late_claim(curves({"brown_random": 0.05}, random_loss=0.5 * math.log(85)), 8, symbols=85).verdict
    assert v.verdict == "held"


def test_windows_are_the_first_and_last_quarter():
    assert cl.window(8) == ((1, 2), (7, 8))
    assert cl.window(3) == ((1, 1), (3, 3))
    assert cl.window(20) == ((1, 5), (16, 20))


def test_noise_scale_is_trace_over_squared_mean_without_bias():
    rng = np.random.default_rng(0)
    n, d = 400, 30
    mean = rng.normal(size=d) * 0.3
    g = mean + rng.normal(size=(n, d))
    alpha = np.sum(g.mean(0) ** 2) / np.mean(np.sum(g ** 2, 1))
    # unbiased estimates of tr(Sigma) and ||G||^2 from the same n samples
    tr = np.sum(g.var(0, ddof=1))
    g2 = np.sum(g.mean(0) ** 2) - tr / n
    assert cl.noise_scale(alpha, n) == pytest.approx(tr / g2, rel=1e-9)
    assert np.isnan(cl.noise_scale(1 / n, n)) and np.isnan(cl.noise_scale(0.5 / n, n))
    assert cl.noise_scale(1.0, n) == pytest.approx(0.0)


def test_noise_scale_claim_is_a_slope_over_seeds():
    rising = curves({})
    rising["noise_scale"] = np.exp(0.1 * rising["epoch"] + 0.01 * rising["seed"])
    v = cl.noise_scale_claim(rising).verdict
    assert v.verdict == "held" and v.test["slope"] == pytest.approx(0.1)
    rising["noise_scale"] = np.exp(-0.1 * rising["epoch"] + 0.01 * rising["seed"] * rising["epoch"])
    assert cl.noise_scale_claim(rising).verdict.verdict == "not held"


def shares(grad: dict[str, float], weight: dict[str, float], significant: dict[str, float]) -> pd.DataFrame:
    rows = []
    for kind in ch.KINDS:
        for sd in SEEDS:
            for g in cl.GROUPS:
                sig = significant.get(kind, 0.1) + 0.01 * sd if g in ("attention", "feed-forward") else math.nan
                rows.append({"kind": kind, "seed": sd, "when": "final", "group": g,
                             "grad_share": grad.get(g, 0.1) + 0.001 * sd, "weight_share": weight.get(g, 0.2),
                             "weights": 100, "significant": sig})
    return pd.DataFrame(rows)


def test_share_and_significance_claims():
    s = shares({"embeddings": 0.5, "attention": 0.05}, {"embeddings": 0.2, "attention": 0.3},
               {"brown": 0.3, "brown_random": 0.01})
    assert cl.share_claim(s, "embeddings", "greater").verdict.verdict == "held"
    assert cl.share_claim(s, "attention", "less").verdict.verdict == "held"
    assert cl.share_claim(s, "attention", "greater").verdict.verdict == "not held"
    v = cl.significant_claim(s).verdict
    assert v.verdict == "held" and v.test["a"] == pytest.approx(0.31)
    assert cl.significant_claim(shares({}, {}, {"brown": 0.01, "brown_random": 0.3})).verdict.verdict == "not held"


def children(losses: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "seed": sd, "val_loss": losses.get(v, 2.0) + 0.01 * sd}
                         for v in ch.VARIANT_ORDER for sd in SEEDS])


def test_loss_claims_and_the_full_list():
    c = children({"diff_global": 1.9})
    v = cl.loss_claim(c, "diff_global", "random_global", "x", "Figure 10.4").verdict
    assert v.verdict == "held" and v.test["diff"] == pytest.approx(-0.1)
    assert cl.loss_claim(c, "random_global", "diff_global", "x", "Figure 10.4").verdict.verdict == "not held"
    decided = cl.claims_of(curves({"brown": 0.05}), shares({}, {}, {}), c, epochs=8, symbols=85)
    ids = [d.verdict.claim_id for d in decided]
    assert len(ids) == len(set(ids)) == 17 and all(i.startswith("10-") for i in ids)
    assert all(d.verdict.fails_if for d in decided)


def test_every_parameter_of_the_model_has_a_group_and_only_attention_and_feed_forward_are_pruned():
    sc = ch.SCALES["smoke"]
    model = build_model(ch.model_config(sc))
    groups = {n: ch.tensor_group(n) for n, _ in model.named_parameters()}
    assert set(groups.values()) == set(cl.GROUPS)
    assert {groups[n] for n in masks.prunable(model)} == {"attention", "feed-forward"}
    with pytest.raises(ValueError, match="belongs to no group"):
        ch.tensor_group("blocks.0.conv.weight")


@pytest.mark.usefixtures("stand_in_fingerprint")
@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_plan_structure(profile):
    s = ch.setup(profile=profile)
    sc = s.scale
    first, second = ch.plan(s)
    assert len(first) == len(s.seeds) * 4 and len(second) == len(s.seeds) * 9
    for sd in s.seeds:
        parent = s.parents[sd]
        assert parent.model.heads == sc.heads * sc.ratio and parent.model.ff == sc.ff * sc.ratio
        assert parent.model.head_dim == s.children[("none", sd)].model.width // sc.heads
        for kind in ch.KINDS:
            c = s.coherence[(kind, sd)]
            assert c.seed == sd and c.data.dataset == kind and c.stats.every == 1 and c.stats.counts
        none = s.children[("none", sd)]
        assert none.seed == sd + CHILD_SEED_OFFSET and none.mask is None and none.model == ch.model_config(sc)
        for (v, psd), c in s.children.items():
            if psd != sd or v == "none":
                continue
            assert c.mask.parent == parent and c.mask.density == pytest.approx(1 / sc.ratio)
            assert c.seed == (sd if v.startswith("snip") else sd + CHILD_SEED_OFFSET)
            assert c.model == parent.model and c.stats.every == 0
        assert s.children[("diff_shuffled", sd)].mask.shuffle
    if profile == "paper":  # its 31 M-parameter parent takes half a minute to score here; the rule is the same
        return
    # every child keeps exactly the dense child's number of prunable weights
    child = build_model(ch.model_config(sc))
    parent_model = build_model(s.parents[s.seeds[0]].model)
    want = sum(dict(child.named_parameters())[n].numel() for n in masks.prunable(child))
    for scope in ch.SCOPES:
        cfg = s.children[(f"random_{scope}", s.seeds[0])]
        kept = dryrun.stand_in_mask(cfg, parent_model)
        assert sum(int(m.sum()) for m in kept.values()) == want


def test_params_errors():
    with pytest.raises(ParameterError, match="epochs"):
        ch.Params(epochs=0)
    with pytest.raises(ParameterError, match="n_train"):
        ch.Params(n_train=-1)
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        ch.Scale(context=8, width=8, depth=1, heads=2, ff=8, n_train=0, n_eval=0, epochs=1, batch_size=1, lr=1e-3,
                 stats_samples=2, ratio=1)
    assert text_data.VOCAB_SIZE == 97
