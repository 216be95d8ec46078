"""Chapters 2-3 computations (lib.chapters.realdata) on runs far smaller than the smoke profile."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lib import data, parallel, profiles
from lib.chapters import realdata as rd
from lib.models import ModelConfig, build_model

K = 3  # trajectories per group (the tracked resnet_small tensor has 2,304 entries)


def tiny_profile() -> profiles.Profile:
    return profiles.with_overrides("smoke", n_train_large=40, n_test_large=20, batch_size=20, epochs_real_cnn=2,
                                   epochs_real_vit=2, epochs_gaussian=2, stats_max_samples=20)


def _have_cifar() -> bool:
    try:
        data.find_cifar10(download=False)
        return True
    except data.DataNotFoundError:
        return False


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three chapter-2 runs of resnet_small at the tiny profile (real data needs CIFAR10_PATH)."""
    if not _have_cifar():
        pytest.skip("CIFAR-10 not found (set CIFAR10_PATH); the real-data run needs it")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BOOK_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
        plan = rd.plan_real_vs_gaussian(tiny_profile(), "resnet_small", seed=0)
        parallel.train(plan)
        yield rd.real_vs_gaussian(plan)


# ------------------------------------------------------------------------------- no training
@pytest.mark.parametrize("arch", ["resnet_small", "resnet50", "vit_tiny", "vit"])
def test_tracked_and_representative_layers_exist(arch):
    model = build_model(ModelConfig(arch))
    params = dict(model.named_parameters())
    assert params[rd.tracked_layer(arch)].dim() >= 2
    reps = rd.representative_layers(model)
    weights = [k for k, v in params.items() if k.endswith("weight") and v.dim() >= 2]
    assert len(reps) == 4 and reps[0] == weights[0] and reps[-1] == weights[-1]
    assert [weights.index(r) for r in reps] == sorted(weights.index(r) for r in reps)


def test_tracked_layer_unknown_arch():
    with pytest.raises(ValueError, match="no tracked layer for arch 'mlp'"):
        rd.tracked_layer("mlp")


def test_run_configs_shape_the_three_runs():
    p = tiny_profile()
    c = rd.run_configs(p, "vit_tiny", seed=3)
    assert list(c) == list(rd.RUN_NAMES)
    assert c["real"].data.dataset == "cifar10" and c["real"].track == ("blocks.0.attn.q.weight",)
    assert c["gaussian"].data.dataset == "gaussian" and c["gaussian"].epochs == p.epochs_gaussian
    assert c["real_then_gaussian"].init_from == c["real"] and c["real_then_gaussian"].data == c["gaussian"].data
    assert all(x.seed == 3 and x.stats.every == p.stats_every for x in c.values())
    assert c["real"].optim.name == "adam" and rd.run_configs(p, "resnet_small")["real"].optim.name == "sgd"


def test_stats_samples_is_the_smaller_of_the_cap_and_the_training_set():
    p = tiny_profile()  # 40 training images, statistics on at most 20
    c = rd.run_configs(p, "resnet_small")
    assert rd.stats_samples(c["real"]) == 20 and rd.stats_samples(c["gaussian"]) == 20
    big = rd.run_configs(profiles.with_overrides(p, stats_max_samples=500), "resnet_small")["real"]
    assert rd.stats_samples(big) == 40
    everything = rd.run_configs(profiles.with_overrides(p, stats_max_samples=0), "resnet_small")["real"]
    assert rd.stats_samples(everything) == 40
    full = rd.run_configs(profiles.with_overrides(p, n_train_large=0, stats_max_samples=0), "resnet_small")["real"]
    assert rd.stats_samples(full) == 50_000


def test_extreme_entries_break_ties_at_random_not_by_position():
    absdiff = np.r_[np.zeros(1000), np.full(5, 0.5), 1.0]  # 1000 entries tie at 0
    high, low = rd._order(absdiff, 3, seed=0)
    assert high[0] == 1005 and set(high[1:]) <= set(range(1000, 1005))
    assert set(low) <= set(range(1000)) and sorted(low) != [0, 1, 2]  # not the first entries of the tensor
    again, other = rd._order(absdiff, 3, seed=0)[1], rd._order(absdiff, 3, seed=1)[1]
    assert list(again) == list(low) and list(other) != list(low)  # seeded


def _synthetic_curves(epochs: int = 4) -> pd.DataFrame:
    rows = [{"run": r, "epoch": e, "metric": m, "value": 0.02 + 0.01 * e}
            for r in rd.RUN_NAMES for e in range(epochs + 1) for m in rd.CURVE_METRICS]
    return pd.DataFrame(rows)


def _has_floor(ax, n: int) -> bool:
    return any(list(line.get_ydata()) == [1 / n, 1 / n] for line in ax.get_lines())


def test_coherence_figures_draw_the_floor():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cv = _synthetic_curves()
    f = rd.fig_curves(cv, "t", 256)
    assert _has_floor(f.axes[0], 256) and not _has_floor(f.axes[1], 256)
    assert any("floor 1/n (n = 256" in t.get_text() for t in f.legends[0].get_texts())
    g = rd.fig_coherence_runs(cv, "t", 100)
    assert _has_floor(g.axes[0], 100)
    plt.close(f)
    plt.close(g)


# ---------------------------------------------------------------------------- with training
def test_curves_long_format(runs):
    cv = rd.curves(runs)
    assert list(cv.columns) == ["run", "epoch", "metric", "value"]
    assert set(cv.run) == set(rd.RUN_NAMES)
    assert set(cv.metric) == set(rd.CURVE_METRICS)
    for name, r in runs.items():
        coh = cv[(cv.run == name) & (cv.metric == "coherence")]
        assert sorted(coh.epoch) == list(range(r.config.epochs + 1))
        assert ((coh.value >= 0) & (coh.value <= 1 + 1e-9)).all()
    pk = rd.peak_coherence(runs["real"])
    assert pk["epoch_max"] >= 1 and pk["min"] <= pk["max"]
    assert rd.window_coherence(runs["real"], 1, 1) == pytest.approx(
        float(runs["real"].metrics.set_index("epoch").coherence[1]))
    assert np.isnan(rd.window_coherence(runs["real"], 50, 60))
    m = runs["real"].metrics
    falling = m.train_loss.iloc[-2] - m.train_loss.iloc[-1] > 0.05 * abs(m.train_loss.iloc[-2])
    assert rd.still_learning(runs["real"], frac=0.5) == falling


def test_init_magnitudes_are_the_seeded_initialisation(runs):
    p = tiny_profile()
    wm = rd.weight_magnitudes(p, "resnet_small", runs, quantile=0.99)
    assert list(wm.columns) == ["state", "value"] and list(wm.state.cat.categories) == ["init", "real", "gaussian"]
    torch.manual_seed(runs["real"].config.seed)
    ref = build_model(ModelConfig("resnet_small"))
    v = torch.cat([w.detach().abs().flatten() for w in ref.parameters() if w.dim() >= 2]).numpy()
    v = np.sort(v[v < np.quantile(v, 0.99)])
    np.testing.assert_array_equal(np.sort(wm[wm.state == "init"].value.to_numpy()), v)
    for s in ("real", "gaussian"):  # same count kept per state, none above that state's 99th percentile
        assert (wm.state == s).sum() == pytest.approx(len(v), abs=2)
    summ = rd.magnitude_summary(p, "resnet_small", runs)
    assert list(summ.state) == ["init", "real", "gaussian"] and summ.ks_to_real[1] == 0 and summ.ks_to_init[0] == 0
    assert summ.ks_to_init[1] == pytest.approx(summ.ks_to_real[0])  # KS is symmetric
    assert (summ["q0.99"] >= summ["median"]).all()


def test_distance_from_init(runs):
    d = rd.distance_from_init(runs)
    assert set(d.run) == set(rd.RUN_NAMES) and (d.rel_distance > 0).all()
    rtg = d[d.run == "real_then_gaussian"].set_index("start").rel_distance
    assert rtg["random"] != rtg["own"]  # from the random init vs from the CIFAR-10-trained weights
    for name in ("real", "gaussian"):  # runs from a random init: both starts are the same weights
        own = d[d.run == name].set_index("start").rel_distance
        assert own["random"] == own["own"]


def test_diff_histograms_are_densities(runs):
    for name in ("real", "gaussian"):
        h = rd.diff_histograms(runs[name])
        assert {"layer", "which", "epoch", "coherence", "left", "right", "density"} <= set(h.columns)
        assert h.layer.nunique() == 4 and set(h.which) == {"max", "min"}
        mass = h.assign(m=h.density * (h.right - h.left)).groupby(["layer", "which"]).m.sum()
        np.testing.assert_allclose(mass.to_numpy(), 1.0, atol=1e-9)
        assert (h[h.which == "max"].epoch >= 1).all()
        s = rd.diff_summary(runs[name])
        assert len(s) == 8 and ((s.frac_abs_one >= 0) & (s.frac_abs_one <= 1)).all() and (s["std"] >= 0).all()
    r = runs["real"]
    for e in rd.hist_epochs(r):
        eh = rd.epoch_histogram(r, rd.layers_with_histograms(r)[0], e)
        assert (eh.density * (eh.right - eh.left)).sum() == pytest.approx(1.0)


def test_extreme_diff_trajectories(runs):
    r = runs["real"]
    tj = rd.extreme_diff_trajectories(r, k=K)
    assert list(tj.columns) == ["group", "index", "diff", "epoch", "value", "delta"]
    epochs = list(range(r.config.epochs + 1))
    for g in ("high", "low"):
        d = tj[tj.group == g]
        assert d["index"].nunique() == K
        assert all(sorted(e.epoch) == epochs for _, e in d.groupby("index"))
    assert (tj[tj.epoch == 0].delta == 0).all()
    assert tj[tj.group == "high"]["diff"].abs().min() >= tj[tj.group == "low"]["diff"].abs().max()
    # the values are the tracked tensor's entries
    with np.load(r.path / "tracks.npz") as z:
        tr = z[rd.tracked_layer("resnet_small")]
    i = int(tj["index"].iloc[0])
    np.testing.assert_array_equal(tj[tj["index"] == i].sort_values("epoch").value.to_numpy()[:len(epochs)],
                                  tr.reshape(len(epochs), -1)[:, i])
    np.testing.assert_allclose(tr[-1], r.state_dict()[rd.tracked_layer("resnet_small")].numpy())
    summ = rd.trajectory_summary(tj)
    assert list(summ.group) == ["high", "low"] and (summ.k == K).all()
    c = rd.diff_displacement_correlation(r)
    assert c["n"] == tr[0].size and -1 <= c["rho_displacement"] <= 1


def test_figures_draw(runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cv = rd.curves(runs)
    n = rd.stats_samples(runs["real"].config)
    figs = [rd.fig_curves(cv, "t", n), rd.fig_coherence_runs(cv, "t", n),
            rd.fig_magnitudes(rd.weight_magnitudes(tiny_profile(), "resnet_small", runs), "t"),
            rd.fig_diff_histograms({k: rd.diff_histograms(runs[k]) for k in ("real", "gaussian")}, "t"),
            rd.fig_trajectories(rd.extreme_diff_trajectories(runs["real"], k=K), "t"),
            rd.fig_explorer(runs, "real", rd.layers_with_histograms(runs["real"])[0], 1)]
    for f in figs:
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in f.axes)
    assert _has_floor(figs[0].axes[0], n) and _has_floor(figs[1].axes[0], n) and _has_floor(figs[-1].axes[1], n)
    for f in figs:
        plt.close(f)
