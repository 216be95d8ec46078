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
from lib.config import config_hash
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
    decided = cl.claims_of(curves({"brown": 0.05}), shares({}, {}, {}), c, scaling(0.08, 0.12), epochs=8, symbols=85)
    ids = [d.verdict.claim_id for d in decided]
    assert len(ids) == len(set(ids)) == 21 and all(i.startswith("10-") for i in ids)
    assert all(d.verdict.fails_if for d in decided)


def scaling(b_dense: float, b_sparse: float, sizes=(1, 2, 4), jitter: float = 0.002) -> pd.DataFrame:
    """Losses on exact power laws L = 3 N^-b (per arm) at N = 24,576 x heads, times a small seed-dependent factor."""
    rows = []
    for sd in SEEDS:
        for h in sizes:
            n = 24576 * h
            for arm, b in (("dense", b_dense), ("sparse", b_sparse)):
                rows.append({"arm": arm, "heads": h, "seed": sd, "nonzero": n,
                             "val_loss": 30.0 * n ** -(b + jitter * sd) * (1 + 0.001 * sd)})
    return pd.DataFrame(rows)


def test_exponents_recover_a_power_law():
    e = cl.exponents(scaling(0.08, 0.12, jitter=0.0))
    assert list(e["arm"]) == ["dense"] * 3 + ["sparse"] * 3 and list(e["seed"]) == [*SEEDS, *SEEDS]
    assert e.loc[e["arm"] == "dense", "b"].to_numpy() == pytest.approx([0.08] * 3)
    assert e.loc[e["arm"] == "sparse", "b"].to_numpy() == pytest.approx([0.12] * 3)
    assert e["a"].to_numpy() == pytest.approx(30.0 * (1 + 0.001 * np.array([*SEEDS, *SEEDS])))


def test_scaling_claims_follow_the_exponents_over_seeds():
    grows = scaling(0.08, 0.12)
    assert cl.power_law_claim(grows, "dense").verdict.verdict == "held"
    assert cl.power_law_claim(grows, "sparse").verdict.verdict == "held"
    v = cl.exponent_claim(grows).verdict
    assert v.verdict == "held" and v.test["diff"] == pytest.approx(0.04, abs=1e-9)
    assert cl.exponent_claim(scaling(0.12, 0.08)).verdict.verdict == "not held"
    rises = scaling(-0.05, 0.1)
    assert cl.power_law_claim(rises, "dense").verdict.verdict == "not held"
    # one seed against the other two: no sign over seeds
    mixed = scaling(0.1, 0.1, jitter=0.0)
    sparse = mixed["arm"] == "sparse"
    mixed.loc[sparse, "val_loss"] *= np.where(mixed.loc[sparse, "seed"] == 1, mixed.loc[sparse, "heads"] ** -0.05,
                                              mixed.loc[sparse, "heads"] ** 0.02)
    assert cl.exponent_claim(mixed).verdict.verdict == "inconclusive"
    # the gap over sizes: every size's sparse loss 1 % lower at every seed
    better = scaling(0.1, 0.1)
    better.loc[better["arm"] == "sparse", "val_loss"] *= 0.99
    v = cl.sparse_over_sizes_claim(better).verdict
    assert v.verdict == "held" and v.test["n"] == 3
    worse = scaling(0.1, 0.1)
    worse.loc[worse["arm"] == "sparse", "val_loss"] *= 1.01
    assert cl.sparse_over_sizes_claim(worse).verdict.verdict == "not held"


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
    extra = 2 * sum(h != sc.heads for h in sc.sizes)  # at the child's own size the scaling runs are children
    assert len(first) == len(s.seeds) * 4 and len(second) == len(s.seeds) * (9 + extra)
    assert len({config_hash(p.config) for p in second}) == len(second)
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
        if sc.heads in sc.sizes:
            assert s.scaling[("dense", sc.heads, sd)] == none
            assert s.scaling[("sparse", sc.heads, sd)] == s.children[("random_global", sd)]
        for h in sc.sizes:
            dense, sparse = s.scaling[("dense", h, sd)], s.scaling[("sparse", h, sd)]
            assert dense.model.heads == h and dense.model.ff == sc.ff // sc.heads * h and dense.mask is None
            assert sparse.model.heads == h * sc.ratio and sparse.mask.method == "random"
            assert sparse.mask.density == pytest.approx(1 / sc.ratio) and dense.stats.every == sparse.stats.every == 0
            assert dense.seed == sparse.seed == sd + CHILD_SEED_OFFSET
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
    # each size's sparse child keeps exactly its dense model's attention and feed-forward weights
    for h in sc.sizes:
        dense, sparse = s.scaling[("dense", h, s.seeds[0])], s.scaling[("sparse", h, s.seeds[0])]
        wide = build_model(sparse.model)
        kept = dryrun.stand_in_mask(sparse, wide)
        state = {n: p.detach() * kept[n] if n in kept else p.detach() for n, p in wide.named_parameters()}
        assert ch.body_nonzero(state) == ch.body_nonzero(dict(build_model(dense.model).named_parameters()))


def test_params_errors():
    with pytest.raises(ParameterError, match="epochs"):
        ch.Params(epochs=0)
    with pytest.raises(ParameterError, match="n_train"):
        ch.Params(n_train=-1)
    with pytest.raises(ValueError, match="ratio must be an integer >= 2"):
        ch.Scale(context=8, width=8, depth=1, heads=2, ff=8, n_train=0, n_eval=0, epochs=1, batch_size=1, lr=1e-3,
                 stats_samples=2, ratio=1, sizes=(1, 2))
    with pytest.raises(ValueError, match="sizes must be a tuple of at least two increasing"):
        ch.Scale(context=8, width=8, depth=1, heads=2, ff=8, n_train=0, n_eval=0, epochs=1, batch_size=1, lr=1e-3,
                 stats_samples=2, ratio=2, sizes=(2, 1))
    with pytest.raises(ValueError, match="ff 9 must be a multiple of heads 2"):
        ch.Scale(context=8, width=8, depth=1, heads=2, ff=9, n_train=0, n_eval=0, epochs=1, batch_size=1, lr=1e-3,
                 stats_samples=2, ratio=2, sizes=(1, 2))
    assert text_data.VOCAB_SIZE == 97
