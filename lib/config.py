"""Run configs: frozen dataclasses that fully describe a training run, and the hash that names it.

This is the bottom of the engine: :mod:`lib.train`, :mod:`lib.runs`, :mod:`lib.masks` and the
experiments import their configs from here, and nothing here imports them. Only fields that differ
from their defaults enter the hash (as in open_lth), so adding a field with a default keeps every
old run reachable; ``tests/fixtures/planned_hashes.json`` pins the hashes of every planned run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import validate
from .data import DataConfig, fingerprint
from .models import ModelConfig

OPTIMIZERS = ("sgd", "adam")
#: Mask methods and scopes :class:`MaskConfig` accepts; :mod:`lib.masks` checks at import that its
#: scorer registry holds exactly these methods (config cannot import masks: masks is above it).
MASK_METHODS = ("diff", "magnitude", "random", "snip", "grasp", "synflow")
#: The pruning-at-initialisation methods: they score the parent's initial network, and their children start
#: from it (:func:`lib.experiments.start_where_scored`).
INIT_MASK_METHODS = ("snip", "grasp", "synflow")
MASK_SCOPES = ("global", "layer")


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser: ``sgd`` (with ``momentum``) or ``adam``; constant learning rate ``lr``."""

    name: str = "adam"
    lr: float = 1e-4
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        validate.one_of(self, "name", OPTIMIZERS, "optimiser")
        validate.real(self, "lr", 0, low_open=True)
        validate.real(self, "momentum", 0)
        validate.real(self, "weight_decay", 0)


@dataclass(frozen=True)
class StatsConfig:
    """Per-sample gradient statistics after chosen epochs (see :mod:`lib.stats`).

    every: compute after epoch 0 and every ``every`` epochs (0 = never; the last epoch always when on).
    max_samples: use the first ``max_samples`` training images (0 = the whole training set).
    backend: ``auto``, ``fast``, ``functorch`` or ``opacus``. bins: diff-histogram bins on [-1, 1].
    counts: also save, per parameter entry, the exact number of samples with a nonzero gradient in the
    diffs files (see :class:`lib.stats.StatsCallback`).
    test_samples: also measure coherence on the first ``test_samples`` test images (0 = not at all).
    """

    every: int = 0
    max_samples: int = 0
    backend: str = "auto"
    bins: int = 50
    batch_size: int = 256
    counts: bool = False
    test_samples: int = 0

    def __post_init__(self) -> None:  # backend names are checked by lib.stats when used
        validate.integer(self, "every", 0)
        validate.integer(self, "max_samples", 0)
        validate.integer(self, "bins", 1)
        validate.integer(self, "batch_size", 1)
        if not isinstance(self.counts, bool):
            raise ValueError(f"StatsConfig.counts must be True or False, got {self.counts!r}")
        validate.integer(self, "test_samples", 0)


@dataclass(frozen=True)
class MaskConfig:
    """A pruning mask derived from a trained parent run (see :mod:`lib.masks`).

    method: ``diff`` (|diffs| at the parent's max-coherence epoch), ``magnitude`` (|final weights|),
    ``random``, or a pruning-at-initialisation score of the parent's initial network: ``snip``,
    ``grasp``, ``synflow`` (:mod:`lib.saliency`). density: fraction of prunable weights KEPT. scope: ``global`` (one ranking, with a
    per-tensor ``floor``) or ``layer`` (each tensor keeps ``density``). invert: keep the lowest-ranked
    ("worst") entries. seed: for ``random``, GraSP's class-balanced batch, and the permutations that break
    ties and shuffle.
    shuffle: after ranking, move each tensor's kept entries to positions drawn at random within the
    tensor (same count per tensor: the layer-wise shuffle of Frankle et al. 2021,
    :func:`lib.masks.shuffle_within_layers`); left out of the hash when False.
    shuffle_except: with ``shuffle``, a layer group (:func:`lib.masks.layer_group`: ``conv``,
    ``shortcut``, ``qkv``, ``ff_hidden``, ``block_output``, ...) whose tensors keep their ranked
    positions while every other tensor is shuffled: the method's choice restricted to one layer type.
    "" (default, out of the hash): shuffle every tensor.
    epoch: -1 (default, out of the hash): the parent as it finished (diff: its max-coherence epoch;
    magnitude: its final weights); e >= 0: the parent as it was after epoch e, from its snapshot
    (``parent.snapshots`` must hold e; diff: the diffs of those weights on the parent's statistics
    images, magnitude: those weights). Only for ``diff`` and ``magnitude``.
    """

    parent: "TrainConfig | None" = None
    method: str = "random"
    density: float = 0.1
    scope: str = "global"
    floor: float = 0.0
    invert: bool = False
    seed: int = 0
    min_size: int = 0
    shuffle: bool = False
    epoch: int = -1
    shuffle_except: str = ""

    def __post_init__(self) -> None:
        validate.one_of(self, "method", MASK_METHODS, "mask method", "allowed")
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"MaskConfig.shuffle must be True or False, got {self.shuffle!r}")
        validate.real(self, "density", 0, 1, low_open=True)
        validate.one_of(self, "scope", MASK_SCOPES, "scope", "allowed")
        validate.real(self, "floor", 0, 1)
        if not isinstance(self.invert, bool):
            raise ValueError(f"MaskConfig.invert must be True or False, got {self.invert!r}")
        validate.integer(self, "seed")
        validate.integer(self, "min_size", 0)
        validate.integer(self, "epoch", -1)
        if not isinstance(self.shuffle_except, str) or (self.shuffle_except and not self.shuffle):
            raise ValueError(f"MaskConfig.shuffle_except={self.shuffle_except!r} needs shuffle=True and a layer group "
                             "name (a string)")
        if self.epoch >= 0:
            if self.method not in ("diff", "magnitude"):
                raise ValueError(f"MaskConfig.epoch={self.epoch} needs method 'diff' or 'magnitude' (scores of the "
                                 f"parent's weights at that epoch), got method {self.method!r}")
            if self.parent is not None and self.epoch not in self.parent.snapshots:
                raise ValueError(f"MaskConfig.epoch={self.epoch}: the parent keeps no snapshot of that epoch "
                                 f"(its snapshots: {list(self.parent.snapshots)}); add it to parent.snapshots")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; its hash names the run's folder (:mod:`lib.runs`).

    init_from: start from this other run's final weights instead of a fresh initialisation.
    mask: hold these weights at zero throughout training (the child of a pruning experiment).
    track: parameter names whose full values are recorded after every epoch (``tracks.npz``).
    snapshots: epochs after which the whole state dict is kept (``weights_epoch<e>.pt``; 0 = the
    initialisation), for masks made from the network as it was then (:attr:`MaskConfig.epoch`).
    final_test: after the last epoch, also evaluate the final weights on the whole test split (all 10,000
    CIFAR-10 test images; every test window of a text dataset), recorded in the last row of the metrics as
    ``final_test_loss``, ``final_test_acc`` and ``final_test_n`` (:meth:`lib.runs.Run.final` reads them): the
    per-epoch curves keep the ``n_test`` subset, the run's final result loses most of its test-set sampling
    noise for one forward pass. Not for Gaussian data (no fixed test split). Left out of the hash when False.
    test_each_epoch: score the ``n_test`` test subset after every epoch (and at initialisation), the
    ``test_loss`` and ``test_acc`` columns of the metrics. False (only with ``final_test``): those columns stay
    empty and the run's test result is its final test alone, which saves one pass over the subset per epoch
    for runs whose per-epoch test curve nothing reads (the pruned children, :func:`lib.experiments.child_config`). The
    training itself is the same to the bit: scoring draws no random numbers and changes no weight. Left out
    of the hash when True.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 128
    epochs: int = 10
    seed: int = 0
    init_from: "TrainConfig | None" = None
    mask: MaskConfig | None = None
    stats: StatsConfig = field(default_factory=StatsConfig)
    track: tuple[str, ...] = ()
    snapshots: tuple[int, ...] = ()
    final_test: bool = False
    test_each_epoch: bool = True

    def __post_init__(self) -> None:
        validate.integer(self, "batch_size", 1)
        for name in ("final_test", "test_each_epoch"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if not self.test_each_epoch and not self.final_test:
            raise ValueError("TrainConfig.test_each_epoch=False needs final_test=True: without the final test "
                             "the run would record no test result at all")
        if self.final_test and self.data.dataset == "gaussian":
            raise ValueError("TrainConfig.final_test needs a dataset with a fixed test split (cifar10 or a text "
                             "dataset); gaussian data has none")
        validate.integer(self, "epochs", 0)  # 0 epochs: the untrained network (a run others start from)
        validate.integer(self, "seed")
        if not (isinstance(self.track, tuple) and all(isinstance(t, str) for t in self.track)):
            raise ValueError(f"TrainConfig.track must be a tuple of parameter names, got {self.track!r}")
        snaps = self.snapshots
        if not (isinstance(snaps, tuple) and all(isinstance(e, int) and not isinstance(e, bool) for e in snaps)
                and list(snaps) == sorted(set(snaps)) and all(0 <= e <= self.epochs for e in snaps)):
            raise ValueError(f"TrainConfig.snapshots must be a tuple of distinct increasing epochs in [0, {self.epochs}], "
                             f"got {snaps!r}")


def config_dict(cfg: Any, *, non_default_only: bool = True) -> dict[str, Any]:
    """A dataclass as a JSON-ready dict; nested dataclasses recurse. With ``non_default_only``
    a field equal to its default is left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if non_default_only:
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and v == f.default_factory():  # type: ignore[misc]
                continue
        if dataclasses.is_dataclass(v):
            v = config_dict(v, non_default_only=non_default_only)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def nested(cfg: Any, kind: type) -> list[Any]:
    """Every config of type ``kind`` in a config tree (the root included), depth first."""
    if isinstance(cfg, kind):
        here = [cfg]
    elif not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        return []
    else:
        here = []
    return here + [d for f in dataclasses.fields(cfg) for d in nested(getattr(cfg, f.name), kind)]


def data_configs(cfg: Any) -> list[DataConfig]:
    """Every :class:`DataConfig` in a config tree: the run's own, its ``init_from``'s, its mask parent's, ..."""
    return nested(cfg, DataConfig)


#: The rule :func:`lib.masks.make_mask` ranks by; it enters the hash of every config with a mask, so a
#: change of rule never reuses a mask (or a child) made by the old one. 1: ties at the cut broken by
#: flat index; 2: by a permutation seeded with the mask's seed.
MASK_RULE = 2
#: The definitions of the pruning-at-initialisation scorers (:data:`INIT_MASK_METHODS`); it enters the hash of
#: every config whose tree holds a mask of one of them, so no such mask (or child) made by an older definition is
#: reused. 1: GraSP at temperature 1 with the gradient of the pruned tensors on the first 256 images, SynFlow
#: rounds that could re-admit pruned weights; 2: the authors' definitions (:data:`lib.saliency.AUTHORS_DEFINITION`:
#: GraSP at temperature 200, whole-network gradient, class-balanced batch; SynFlow never re-admits a weight).
INIT_RULE = 2


def config_hash(cfg: Any) -> str:
    """16 hex digits of the SHA-256 of the config's non-default fields and the fingerprint of each dataset
    its tree uses (JSON, sorted keys; :func:`lib.data.fingerprint`): the same config on another data file
    is another run. Needs the CIFAR-10 file for a config that uses it (read once, then memoised)."""
    tree = {"type": type(cfg).__name__, **config_dict(cfg)}
    fingerprints = {d.dataset: fingerprint(d) for d in data_configs(cfg)}
    if fingerprints:
        tree["data_fingerprints"] = fingerprints
    mask_cfgs = nested(cfg, MaskConfig)
    if mask_cfgs:
        tree["mask_rule"] = MASK_RULE
    if any(m.method in INIT_MASK_METHODS for m in mask_cfgs):
        tree["init_rule"] = INIT_RULE
    text = json.dumps(tree, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dependencies(cfg: TrainConfig) -> list[TrainConfig]:
    """The runs ``cfg`` needs finished first: the run it starts from and the parent of its mask."""
    deps = [cfg.init_from] if cfg.init_from is not None else []
    if cfg.mask is not None and cfg.mask.parent is not None:
        deps.append(cfg.mask.parent)
    return deps
