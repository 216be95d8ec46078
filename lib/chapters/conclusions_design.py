"""Chapter 7's list of every way a profile departs from the thesis (:func:`changes`), read from each source
chapter's setup and the runs its plan lists (a :class:`Design`, made by
:func:`lib.chapters.ch07_conclusions.design`); this module is that chapter's alone.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from torch import nn

from .. import profiles
from ..config import TrainConfig
from ..masks import default_min_size, prunable
from ..models import ModelConfig, build_model, count_weights


@dataclass(frozen=True)
class Design:
    """What each chapter of :data:`lib.chapters.ch07_conclusions.SOURCES` runs at this page's profile: its
    setup (``setups``) and the configs its plan lists (``runs``). Every sentence :func:`changes` says about a
    chapter's design is read from here."""

    setups: dict[str, Any]
    runs: dict[str, list[TrainConfig]]


#: CIFAR-10's training and test images: what a data size of 0 ("all of the split") means, and what the thesis uses.
CIFAR10_SPLIT = (50_000, 10_000)
#: How the text names each model family.
FAMILY_NAMES = {"mlp": "the MLPs", "resnet": "the ResNet", "vit": "the ViT"}
SCOPE_WORDS = {"global": "one global ranking", "layer": "the same fraction per layer"}


def family(cfg: TrainConfig) -> str:
    """"resnet", "vit" or "mlp": the family of a run's architecture, from its name."""
    arch = cfg.model.arch
    return "resnet" if arch.startswith("resnet") else "vit" if arch.startswith("vit") else "mlp"


def _n(x: int) -> str:
    return f"{x:,d}"


def _list(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _chapters(keys: Iterable[str]) -> str:
    """"chapter 5" or "chapters 2, 3 and 8"."""
    ks = sorted(set(keys))
    return ("chapter " if len(ks) == 1 else "chapters ") + _list([str(int(k)) for k in ks])


def _families(fams: Iterable[str]) -> str:
    order = list(FAMILY_NAMES)
    return _list([FAMILY_NAMES[f] for f in sorted(set(fams), key=order.index)])


def _by(d: Design, what: Any, keys: Iterable[str] | None = None) -> dict[Any, set[str]]:
    """Value -> the chapters (of ``keys``, default all) with a run for which ``what(config)`` gives that value
    (None: the run takes no part)."""
    out: dict[Any, set[str]] = defaultdict(set)
    for key in keys if keys is not None else d.runs:
        for c in d.runs[key]:
            v = what(c)
            if v is not None:
                out[v].add(key)
    return out


def _merged(groups: Mapping[tuple, set[str]]) -> dict[tuple, tuple[set[str], set[str]]]:
    """(family, *rest) -> chapters, merged over families that share rest and chapters: rest -> (families, chapters)."""
    out: dict[tuple, tuple[set[str], set[str]]] = {}
    for (fam, *rest), chs in sorted(groups.items(), key=str):
        k = (*rest, tuple(sorted(chs)))
        fams, _ = out.get(k, (set(), set()))
        out[k] = (fams | {fam}, set(chs))
    return out


def _stats_item(d: Design) -> str:
    """Which training images the per-sample gradient statistics use, per family, from the runs' stats configs."""
    groups = _by(d, lambda c: (family(c), c.stats.max_samples, c.data.n_train or CIFAR10_SPLIT[0])
                 if c.stats.every else None)
    every = sorted({c.stats.every for runs in d.runs.values() for c in runs if c.stats.every})
    by_sample: dict[int, list[str]] = defaultdict(list)
    for (ms, n, chs), (fams, _) in _merged(groups).items():
        part = f"{_n(n)} for {_families(fams)} in {_chapters(chs)}"
        by_sample[ms if ms and ms < n else 0].append(f"of {part}" if ms and ms < n else part)
    parts = [(f"the first {_n(ms)} training images" if ms else "all training images") + f" ({'; '.join(where)})"
             for ms, where in sorted(by_sample.items())]
    when = "every epoch" if every == [1] else ", ".join(f"every {e} epochs" for e in every)
    return (f"**Gradient statistics on a sample.** Per-sample gradients over {'; '.join(parts)}, after {when}; the "
            "thesis computes them over the entire training set.")


def _batch_item(d: Design) -> str:
    sizes = _by(d, lambda c: c.batch_size)
    if len(sizes) == 1:
        (b, _), = sizes.items()
        return f"**Batch size.** {b} in every chapter's runs; the thesis does not give one."
    return "**Batch size.** " + "; ".join(f"{b} in {_chapters(chs)}" for b, chs in sorted(sizes.items())) + \
        "; the thesis does not give one."


def _vit_shape(arch: str) -> str:
    """'embedding 64, depth 2, 4 heads of 16, feed-forward 128' of a ViT of :data:`lib.models.ARCHS`."""
    m = build_model(ModelConfig(arch=arch))
    b = m.blocks[0]
    return (f"embedding {m.patch_embed.out_features}, depth {len(m.blocks)}, {b.attn.heads} heads of "
            f"{b.attn.dim_head}, feed-forward {b.ff.hidden.out_features}")


def _vit_item(d: Design) -> str:
    archs = _by(d, lambda c: c.model.arch if family(c) == "vit" else None)
    shapes = "; ".join(f"`{a}` ({_chapters(chs)}): {_vit_shape(a)}" for a, chs in sorted(archs.items()))
    return (f"**ViT width.** {shapes}; the thesis gives patch 4, depth 6, 8 heads and feed-forward width 512, but no "
            "embedding width.")


def _weights(arch: str) -> str:
    return f"{count_weights(build_model(ModelConfig(arch=arch)))[0] / 1e6:.2f} M weights"


def _start(c: TrainConfig) -> str:
    """How a masked child starts: from another run's weights, or from a seed relative to its parent's."""
    if c.init_from is not None:
        return "from another run's trained weights"
    off = c.seed - c.mask.parent.seed
    if off == 0:
        return "from their parent's own initialisation (the parent's seed, the network their mask scored)"
    return f"from a fresh initialisation (the parent's seed + {off})"


def _starts_text(d: Design) -> str:
    """How the children of every pruning chapter start, from their configs: the most common way, then the
    children that start otherwise, by chapter and mask method."""
    starts: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    runs: dict[str, int] = defaultdict(int)
    for key, cs in d.runs.items():
        for c in cs:
            if c.mask is not None:
                starts[_start(c)][key].add(c.mask.method)
                runs[_start(c)] += 1
    if not starts:
        return "no chapter prunes at this profile"
    main, *others = sorted(starts, key=lambda k: -runs[k])
    text = f"children start {main} in {_chapters(starts[main])}"
    for o in others:
        text += "; " + "; ".join(f"the {_list(sorted(ms))} children of {_chapters([k])} start {o}"
                                 for k, ms in sorted(starts[o].items()))
    return text


def _dense_text(d: Design) -> str:
    """Where the dense comparison ``none`` runs: unpruned runs that are not one of the chapter's parents, with
    the seeds of the chapter's children or others."""
    out = []
    for key, cs in d.runs.items():
        parents = set(d.setups[key].seeds)
        children = {c.seed for c in cs if c.mask is not None}
        dense = {c.seed for c in cs if c.mask is None and c.init_from is None and c.seed not in parents}
        if children and dense:
            out.append((key, dense <= children))
    same = [k for k, ok in out if ok]
    text = (f"the dense comparison `none` of {_chapters(same)} is an unpruned run with its children's seeds, trained "
            "like them") if same else ""
    other = [k for k, ok in out if not ok]
    if other:
        text += ("; " if text else "") + f"in {_chapters(other)} it has seeds of its own"
    return text


def _scopes_text(d: Design) -> str:
    """Each pruning chapter's mask scopes from its runs: global ranking (with its per-tensor floor by family)
    and the same fraction per layer, naming the mask methods when a scope holds only some of them."""
    parts = []
    for key, cs in d.runs.items():
        masked = [c for c in cs if c.mask is not None]
        if not masked:
            continue
        methods = {c.mask.method for c in masked}
        items = []
        for scope in sorted({c.mask.scope for c in masked}, key=list(SCOPE_WORDS).index):
            mine = [c for c in masked if c.mask.scope == scope]
            text = SCOPE_WORDS[scope]
            only = {c.mask.method for c in mine}
            if only != methods:
                text += f" ({_list(sorted(only))} only)"
            if scope == "global":
                floors: dict[float, set[str]] = defaultdict(set)
                for c in mine:
                    floors[c.mask.floor].add(family(c))
                if len(floors) == 1:
                    (f, _), = floors.items()
                    text += f" with a {f:.0%} floor per tensor" if f else " with no floor"
                else:
                    text += " with a per-tensor floor of " + ", ".join(
                        f"{f:.0%} for {_families(fams)}" for f, fams in sorted(floors.items()))
            items.append(text)
        parts.append(f"{_chapters([key])}: {_list(items)}")
    return "mask scopes, " + "; ".join(parts) if parts else ""


def _dense_kinds(model: Any, pruned: set[str], min_size: int) -> list[str]:
    """What the weight tensors (parameters of two or more dimensions) a mask leaves dense are: the
    classifier head (the last ``nn.Linear``), tensors under ``min_size`` weights, and the others by name."""
    head = next((n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None)
    dense = [(n, p.numel()) for n, p in model.named_parameters() if p.dim() >= 2 and n not in pruned]
    kinds = ["the classifier head"] if any(n == f"{head}.weight" for n, _ in dense) else []
    layers = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    small = [n for n, k in dense if n != f"{head}.weight" and n in layers and k < min_size]
    if small:
        kinds.append(f"{len(small)} tensor{'s' if len(small) > 1 else ''} under {_n(min_size)} weights")
    kinds += [f"`{n}`" for n, k in dense if n != f"{head}.weight" and n not in small]
    return kinds


def _dense_tensors_text(d: Design) -> str:
    """Per architecture that is pruned: how many of its weight tensors its masks prune and which stay dense,
    with their share of its weights (:func:`lib.masks.prunable` on the smallest model of the runs, with the
    masks' ``min_size``)."""
    models: dict[tuple[str, int], Any] = {}
    for cs in d.runs.values():
        for c in cs:
            if c.mask is not None:
                key = (c.model.arch, c.mask.min_size)
                if key not in models or getattr(c.model, "width", 0) < getattr(models[key], "width", 0):
                    models[key] = c.model
    parts = []
    for (arch, min_size), mc in sorted(models.items()):
        m = build_model(mc)
        pruned = set(prunable(m, min_size or None))
        weights = {n: p.numel() for n, p in m.named_parameters() if p.dim() >= 2}
        dense = [n for n in weights if n not in pruned]
        if not dense:
            parts.append(f"`{arch}`: every weight tensor, the head included")
            continue
        share = sum(weights[n] for n in dense) / sum(weights.values())
        kinds = _dense_kinds(m, pruned, min_size or default_min_size(m))
        parts.append(f"`{arch}`: {len(pruned)} of its {len(weights)} weight tensors, leaving {_list(kinds)} dense "
                     f"({share:.1%} of its weights)")
    return "the masks prune " + "; ".join(parts) if parts else ""


def _mask_item(d: Design) -> str:
    parts = [t for t in (_starts_text(d), _dense_text(d), _scopes_text(d), _dense_tensors_text(d)) if t]
    text = " ".join(f"{t[0].upper()}{t[1:]}." for t in parts)
    return (f"**Mask choices the thesis leaves open.** {text} Children keep their mask at zero throughout; equal "
            "scores at the cut are ordered by a seeded permutation.")


def _optim_item(d: Design) -> str:
    opts = _by(d, lambda c: (family(c), c.optim.name, c.optim.momentum, c.optim.weight_decay))
    names: dict[str, set[str]] = defaultdict(set)
    extras = set()
    for fam, name, mom, wd in opts:
        names[name].add(fam)
        if name == "sgd":
            extras.add((mom, wd))
    text = "; ".join(f"{name.upper() if name == 'sgd' else name.capitalize()} for {_families(fams)}"
                     for name, fams in sorted(names.items()))
    if extras:
        text += "; SGD " + ("without momentum or weight decay" if extras == {(0.0, 0.0)} else
                            "with " + ", ".join(f"momentum {m:g} and weight decay {w:g}" for m, w in sorted(extras)))
    return (f"**Optimisers and measurement.** {text}, each at a constant learning rate; coherence is measured with "
            "BatchNorm in eval mode and reported unscaled.")


def _seeds_item(d: Design) -> str:
    groups: dict[tuple[int, ...], set[str]] = defaultdict(set)
    for key, cs in d.setups.items():
        groups[tuple(cs.seeds)].add(key)
    text = "; ".join(f"{len(sd)} seeds {list(sd)} in {_chapters(chs)}" for sd, chs in sorted(groups.items()))
    return (f"**Seeds.** {text}, where the thesis reports one run per setting; every verdict is decided over these "
            "seeds (see *How a verdict is decided*).")


def _data_item(d: Design) -> str | None:
    """The training / test images per family and chapter, from the runs' data configs; None when every run
    uses all of CIFAR-10's split (or as many Gaussian images), as the thesis does."""
    groups = _by(d, lambda c: (family(c), c.data.n_train or CIFAR10_SPLIT[0], c.data.n_test or CIFAR10_SPLIT[1]))
    if all((n, t) == CIFAR10_SPLIT for (_, n, t) in groups):
        return None
    parts = [f"{_n(n)} / {_n(t)} for {_families(fams)} ({_chapters(chs)})"
             for (n, t, _), (fams, chs) in _merged(groups).items()]
    seeds = {c.data.seed for cs in d.runs.values() for c in cs if c.data.dataset == "cifar10"}
    drawn = (f"each subset is drawn once (data seed {seeds.pop()}) and shared by every run that uses it"
             if len(seeds) == 1 else f"the subsets are drawn with data seeds {sorted(seeds)}")
    return (f"**Data subsets.** Training / test images: {'; '.join(parts)}, against all {_n(CIFAR10_SPLIT[0])} / "
            f"{_n(CIFAR10_SPLIT[1])} in the thesis; {drawn}.")


@dataclass(frozen=True)
class Setting:
    """A setting the thesis states, read from the runs of one chapter: its label, the chapter, the runs it
    covers (model family and dataset; None: any), the config attribute and the thesis's value."""

    label: str
    chapter: str
    family: str | None
    dataset: str | None
    attribute: str  # "epochs" or "lr"
    thesis: float


#: The epochs and learning rates the thesis states (its chapters 2, 4, 5 and 6).
SETTINGS: tuple[Setting, ...] = (
    Setting("ResNet epochs on real data", "02", "resnet", "cifar10", "epochs", 300),
    Setting("ViT epochs on real data", "02", "vit", "cifar10", "epochs", 200),
    Setting("epochs on Gaussian data", "02", None, "gaussian", "epochs", 1000),
    Setting("MLP epochs", "04", "mlp", "cifar10", "epochs", 200),
    Setting("pruning epochs", "06", None, "cifar10", "epochs", 300),
    Setting("ResNet SGD learning rate", "02", "resnet", None, "lr", 0.1),
    Setting("ResNet SGD learning rate", "06", "resnet", None, "lr", 0.5),
    Setting("ViT Adam learning rate", "02", "vit", None, "lr", 1e-4),
    Setting("MLP Adam learning rate", "04", "mlp", None, "lr", 1e-4),
)


def setting_values(d: Design, st: Setting) -> list[float]:
    """The values of ``st`` over the runs of its chapter (sorted, distinct)."""
    def value(c: TrainConfig) -> float:
        return c.epochs if st.attribute == "epochs" else c.optim.lr

    return sorted({value(c) for c in d.runs[st.chapter] if (st.family in (None, family(c)))
                   and (st.dataset in (None, c.data.dataset))})


def _differs(d: Design, attribute: str) -> list[str]:
    """"label (chapter N) ours (thesis X)" for each setting of ``attribute`` whose runs depart from the thesis."""
    out = []
    for st in SETTINGS:
        if st.attribute != attribute:
            continue
        have = setting_values(d, st)
        if have != [st.thesis]:
            out.append(f"{st.label} ({_chapters([st.chapter])}) {', '.join(f'{x:g}' for x in have)} "
                       f"(thesis {st.thesis:g})")
    return out


def changes(d: Design) -> list[str]:
    """Every way the profile departs from the thesis, one Markdown item each, read from each chapter's setup
    and the runs its plan lists (``d``, :func:`lib.chapters.ch07_conclusions.design`): first the choices the
    thesis leaves open and what differs even at ``paper`` (statistics on a sample, batch size, augmentation,
    the ViT's width, chapter 5's widths, parent ratios, mask choices, optimisers, seeds), then what the
    profile scales down (networks, data subsets, epochs, learning rates, widths)."""
    paper = profiles.get("paper")
    ch4, ch5 = d.setups["04"], d.setups["05"]
    out = [
        _stats_item(d),
        _batch_item(d),
        "**No data augmentation.** Images are only normalised per channel (`lib.data`); the thesis does not say "
        "whether it augmented its images.",
        _vit_item(d),
        f"**Parent ratios.** The parent-scaling sweep of chapter 5 uses ratios {list(ch5.profile.ratios)}; the thesis "
        "goes up to 62× without listing the steps.",
        _mask_item(d),
        _optim_item(d),
        _seeds_item(d),
    ]
    if sorted(ch5.widths) != sorted(ch4.widths):
        out.insert(4, f"**Chapter 5 widths.** The prune sweep uses widths {list(ch5.widths)} where the thesis "
                   f"prunes the widths of chapter 4 ({list(ch4.widths)} here).")
    resnets = _by(d, lambda c: c.model.arch if family(c) == "resnet" and c.model.arch != paper.arch_cnn else None)
    for arch, chs in sorted(resnets.items()):
        out.append(f"**Smaller ResNet.** `{arch}` ({_weights(arch)}) in {_chapters(chs)} instead of `{paper.arch_cnn}` "
                   f"({_weights(paper.arch_cnn)}), the same family of bottleneck blocks.")
    data = _data_item(d)
    if data:
        out.append(data)
    for name, attribute in (("Epochs", "epochs"), ("Learning rates", "lr")):
        diff = _differs(d, attribute)
        if diff:
            out.append(f"**{name}.** " + "; ".join(diff) + ".")
    base = ch5.base.model.width
    if list(ch4.widths) != list(paper.widths) or base != paper.base_width:
        out.append(f"**Chapter 4 widths.** {list(ch4.widths)} instead of {list(paper.widths)} (read from the thesis's "
                   f"figures, which reach 2,800); chapter 5's parent-scaling base width {base} (thesis "
                   f"{paper.base_width}).")
    return out
