"""``StatsCallback``: gradient statistics during training (see :class:`lib.train.StatsConfig`), and
:func:`sign_counts`, which reads exact sign counts back from the diffs files it writes."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import paths
from .base import GradStats
from .core import gradient_stats

_INT16_MAX = 2 ** 15 - 1
#: below this many samples round(diffs * n) recovers every sign sum exactly (float32 diffs are off
#: by at most 2^-25 in absolute value), so the files store no sign sums
_EXACT_N = 2 ** 24


def _saved(st: GradStats) -> dict:
    """The per-entry part of a diffs file: ``diffs``, and with counts ``nonzero`` (int16 for n <=
    32767, else int32) and ``n`` (plus ``sign_sum`` in int64 when n is too large to recover them)."""
    out: dict = {"diffs": st.diffs}
    if st.nonzero is not None and st.sign_sum is not None:
        dtype = torch.int16 if st.n <= _INT16_MAX else torch.int32
        out["nonzero"] = {k: v.to(dtype) for k, v in st.nonzero.items()}
        out["n"] = int(st.n)
        if st.n >= _EXACT_N:
            out["sign_sum"] = dict(st.sign_sum)
    return out


def sign_counts(saved: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], int]:
    """(sign_sum, nonzero, n) from a loaded ``diffs_*.pt`` dict written with ``StatsConfig(counts=True)``.

    sign_sum and nonzero: parameter name -> int64 tensor; per entry, positives = (nonzero + sign_sum)
    / 2 and negatives = (nonzero - sign_sum) / 2 samples. The sign sums are round(diffs * n) (exact
    below 2^24 samples) unless the file stores them. Raises ValueError for a file without counts or
    with counts that cannot be right (|sign_sum| > nonzero, or an odd nonzero - sign_sum)."""
    if "nonzero" not in saved or "n" not in saved:
        raise ValueError(f"this diffs file has no nonzero counts (keys: {sorted(saved)}); it comes from a run "
                         "made without StatsConfig(counts=True)")
    n = int(saved["n"])
    nonzero = {k: v.to(torch.int64) for k, v in saved["nonzero"].items()}
    if "sign_sum" in saved:
        sign_sum = {k: v.to(torch.int64) for k, v in saved["sign_sum"].items()}
    else:
        sign_sum = {k: torch.round(v.double() * n).to(torch.int64) for k, v in saved["diffs"].items()}
    if set(sign_sum) != set(nonzero):
        raise ValueError(f"sign sums cover {sorted(sign_sum)} but nonzero counts cover {sorted(nonzero)}")
    for k, s in sign_sum.items():
        nz = nonzero[k]
        if bool(((s.abs() > nz) | ((nz - s) % 2 != 0)).any()):
            raise ValueError(f"parameter {k!r}: sign sums and nonzero counts disagree (need |sign_sum| <= nonzero "
                             f"and an even difference, n = {n})")
    return sign_sum, nonzero, n


class StatsCallback:
    """Computes :func:`lib.stats.gradient_stats` on the training set after epoch 0 (initialisation),
    every ``cfg.every`` epochs and after the last epoch, on the first ``cfg.max_samples`` training
    images (0 = all), with ``cfg.backend`` and ``cfg.batch_size``; the model's mode is left as found.

    Metric columns (on computed epochs; other epochs return ``{}``, NaN in the trainer's table):
    ``coherence``, ``scaled_coherence``, ``mean_sq_norm`` and ``coh/<param name>`` per parameter;
    with ``cfg.test_samples`` > 0 also ``test_coherence``, ``test_scaled_coherence`` and
    ``test_mean_sq_norm``, the same statistics on the first ``cfg.test_samples`` test images (all of
    them if the run has fewer; ValueError if it has none).

    Files in ``ctx.out_dir``:

    * ``diff_hist.npz``: ``edges`` (``cfg.bins + 1`` fixed edges on [-1, 1]), ``epochs`` (int64, the
      computed epochs) and ``h/<param name>``: int64 (len(epochs), bins) histogram counts of that
      parameter's diffs (numpy's convention: the last bin includes 1.0). Written by ``on_train_end``.
    * ``diffs_max.pt`` / ``diffs_min.pt``: ``{"epoch", "coherence", "diffs": {name: float32 tensor}}``
      at the computed epoch of highest / lowest coherence so far, epoch 0 (initialisation) included;
      rewritten whenever a new extreme appears, so they exist from the first computed epoch on.
      With ``cfg.counts`` they also hold ``"nonzero"``: ``{name: int16 tensor}`` (int32 above 32767
      samples), the number of samples whose gradient entry is nonzero, and ``"n"``, the number of
      samples; :func:`sign_counts` turns such a file into exact sign and nonzero counts.
    * ``diffs_max_trained.pt``: the same for the highest coherence over epochs >= 1 only (the
      thesis's "epoch of highest coherence during training"); absent for a run with 0 epochs.

    NaN coherence (all gradients zero) never counts as an extreme, unless nothing else was seen.
    """

    def __init__(self, cfg):
        if cfg.bins < 1:
            raise ValueError(f"bins must be >= 1, got {cfg.bins}")
        self.cfg = cfg
        self.edges = np.linspace(-1.0, 1.0, cfg.bins + 1)
        self.epochs: list[int] = []
        self.hists: dict[str, list[np.ndarray]] = {}
        self.extreme: dict[str, float] = {}

    def due(self, epoch: int, total_epochs: int) -> bool:
        return epoch == 0 or epoch % self.cfg.every == 0 or epoch == total_epochs

    def _update(self, file: str, better, epoch: int, coh: float, saved: dict, out_dir) -> None:
        key = file.removesuffix(".pt")  # checkpoints keep the extremes by "diffs_max", "diffs_min", ...
        old = self.extreme.get(key)
        if old is None or (not math.isnan(coh) and (math.isnan(old) or better(coh, old))):
            self.extreme[key] = coh
            torch.save({"epoch": int(epoch), "coherence": float(coh), **saved}, out_dir / file)

    def _test_row(self, model: nn.Module, ctx) -> dict[str, float]:
        """Coherence columns on the first ``cfg.test_samples`` test images (fewer if the run has fewer)."""
        k = min(self.cfg.test_samples, int(ctx.data.y_test.shape[0]))
        if k == 0:
            raise ValueError(f"StatsConfig.test_samples={self.cfg.test_samples} asks for statistics on the test "
                             "split, but this run has no test images")
        st = gradient_stats(model, (ctx.data.x_test[:k], ctx.data.y_test[:k]), backend=self.cfg.backend,
                            batch_size=self.cfg.batch_size, progress=False)
        return {"test_coherence": st.coherence, "test_scaled_coherence": st.scaled_coherence,
                "test_mean_sq_norm": st.mean_sq_norm}

    def on_epoch_end(self, epoch: int, model: nn.Module, ctx) -> dict[str, float]:
        if not self.due(epoch, ctx.config.epochs):
            return {}
        x, y = ctx.data.x_train, ctx.data.y_train
        if self.cfg.max_samples > 0:
            x, y = x[:self.cfg.max_samples], y[:self.cfg.max_samples]
        st = gradient_stats(model, (x, y), backend=self.cfg.backend, batch_size=self.cfg.batch_size, progress=False,
                            counts=self.cfg.counts)
        self.epochs.append(int(epoch))
        for name, d in st.diffs.items():
            h, _ = np.histogram(d.numpy().ravel(), bins=self.edges)
            self.hists.setdefault(name, []).append(h.astype(np.int64))
        out_dir = ctx.out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        saved = _saved(st)
        self._update(paths.DIFFS_MAX, lambda a, b: a > b, epoch, st.coherence, saved, out_dir)
        self._update(paths.DIFFS_MIN, lambda a, b: a < b, epoch, st.coherence, saved, out_dir)
        if epoch >= 1:
            self._update(paths.DIFFS_MAX_TRAINED, lambda a, b: a > b, epoch, st.coherence, saved, out_dir)
        row = {"coherence": st.coherence, "scaled_coherence": st.scaled_coherence, "mean_sq_norm": st.mean_sq_norm}
        row.update({f"coh/{k}": v for k, v in st.layer_coherence.items()})
        if self.cfg.test_samples > 0:
            row.update(self._test_row(model, ctx))
        return row

    def state_dict(self) -> dict:
        """What a resumed run needs (lib.train checkpoints): computed epochs, histograms so far and the
        extreme coherences seen (the diffs files themselves are in the run folder)."""
        return {"epochs": list(self.epochs), "hists": {k: list(v) for k, v in self.hists.items()},
                "extreme": dict(self.extreme)}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`."""
        self.epochs = [int(e) for e in state["epochs"]]
        self.hists = {k: list(v) for k, v in state["hists"].items()}
        self.extreme = {k: float(v) for k, v in state["extreme"].items()}

    def on_train_end(self, model: nn.Module, ctx) -> None:
        arrays = {"edges": self.edges, "epochs": np.asarray(self.epochs, dtype=np.int64)}
        for name, hs in self.hists.items():
            arrays[f"h/{name}"] = np.stack(hs).astype(np.int64)
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        np.savez(ctx.out_dir / paths.DIFF_HIST_FILE, **arrays)
