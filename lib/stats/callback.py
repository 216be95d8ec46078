"""``StatsCallback``: gradient statistics during training (see :class:`lib.train.StatsConfig`)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .core import gradient_stats


class StatsCallback:
    """Computes :func:`lib.stats.gradient_stats` on the training set after epoch 0 (initialisation),
    every ``cfg.every`` epochs and after the last epoch, on the first ``cfg.max_samples`` training
    images (0 = all), with ``cfg.backend`` and ``cfg.batch_size``; the model's mode is left as found.

    Metric columns (on computed epochs; other epochs return ``{}``, NaN in the trainer's table):
    ``coherence``, ``scaled_coherence``, ``mean_sq_norm`` and ``coh/<param name>`` per parameter.

    Files in ``ctx.out_dir``:

    * ``diff_hist.npz``: ``edges`` (``cfg.bins + 1`` fixed edges on [-1, 1]), ``epochs`` (int64, the
      computed epochs) and ``h/<param name>``: int64 (len(epochs), bins) histogram counts of that
      parameter's diffs (numpy's convention: the last bin includes 1.0). Written by ``on_train_end``.
    * ``diffs_max.pt`` / ``diffs_min.pt``: ``{"epoch", "coherence", "diffs": {name: float32 tensor}}``
      at the computed epoch of highest / lowest coherence so far, epoch 0 (initialisation) included;
      rewritten whenever a new extreme appears, so they exist from the first computed epoch on.
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

    def _update(self, key: str, better, epoch: int, coh: float, diffs: dict[str, torch.Tensor], out_dir) -> None:
        old = self.extreme.get(key)
        if old is None or (not math.isnan(coh) and (math.isnan(old) or better(coh, old))):
            self.extreme[key] = coh
            torch.save({"epoch": int(epoch), "coherence": float(coh), "diffs": diffs}, out_dir / f"{key}.pt")

    def on_epoch_end(self, epoch: int, model: nn.Module, ctx) -> dict[str, float]:
        if not self.due(epoch, ctx.config.epochs):
            return {}
        x, y = ctx.data.x_train, ctx.data.y_train
        if self.cfg.max_samples > 0:
            x, y = x[:self.cfg.max_samples], y[:self.cfg.max_samples]
        st = gradient_stats(model, (x, y), backend=self.cfg.backend, batch_size=self.cfg.batch_size, progress=False)
        self.epochs.append(int(epoch))
        for name, d in st.diffs.items():
            h, _ = np.histogram(d.numpy().ravel(), bins=self.edges)
            self.hists.setdefault(name, []).append(h.astype(np.int64))
        out_dir = ctx.out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self._update("diffs_max", lambda a, b: a > b, epoch, st.coherence, st.diffs, out_dir)
        self._update("diffs_min", lambda a, b: a < b, epoch, st.coherence, st.diffs, out_dir)
        if epoch >= 1:
            self._update("diffs_max_trained", lambda a, b: a > b, epoch, st.coherence, st.diffs, out_dir)
        row = {"coherence": st.coherence, "scaled_coherence": st.scaled_coherence, "mean_sq_norm": st.mean_sq_norm}
        row.update({f"coh/{k}": v for k, v in st.layer_coherence.items()})
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
        np.savez(ctx.out_dir / "diff_hist.npz", **arrays)
