"""The thesis's models, none with dropout.

* ``mlp``: fully connected, ReLU, ``depth`` hidden width-by-width layers (thesis chapters 4-5).
* ``resnet50``: torchvision's ResNet50 with a CIFAR stem (3x3 stride-1 conv, no max-pool), 10 classes.
* ``resnet_small``: the same family (torchvision ``Bottleneck`` blocks, BatchNorm, 1x1 shortcut convs),
  one block per stage and an eighth of the channels, for the CPU profiles (about 0.13 M weights).
* ``vit``: the thesis's ViT: patch 4, depth 6, 8 heads, feed-forward width 512. The thesis does not give
  the embedding width; we take 512 (with 64 per head), the value of the widely used CIFAR-10 ViT
  recipe whose other settings match the thesis's list. Attention is written with ``nn.Linear`` q, k, v
  and output projections so every weight is visible to per-sample gradient code.
* ``vit_tiny``: the same code at embedding 64, depth 2, 4 heads, feed-forward 128, for the CPU profiles.
* ``gpt``: a decoder-only character language model (chapter 10): token and position embeddings, ``depth``
  pre-norm blocks of causal self-attention and feed-forward (the ViT's blocks with a causal mask), a final
  layer norm and an untied output layer over the vocabulary. Its sizes are :class:`ModelConfig` fields.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import validate

IN_FEATURES = 3 * 32 * 32
NUM_CLASSES = 10


#: The :class:`ModelConfig` fields only ``arch="gpt"`` uses (0, their default, for every other arch).
GPT_FIELDS = ("vocab", "context", "heads", "head_dim", "ff")


@dataclass(frozen=True)
class ModelConfig:
    """Which network to build. ``width`` and ``depth`` apply to ``arch="mlp"`` (hidden width, hidden layers)
    and ``arch="gpt"`` (embedding width, blocks) only.

    For ``gpt``: ``vocab`` symbols, ``context`` positions, ``heads`` attention heads of ``head_dim`` each
    (0: ``width // heads``), feed-forward hidden width ``ff``. Other archs leave these at 0 (out of the hash).
    """

    arch: str = "mlp"
    width: int = 512
    depth: int = 3
    vocab: int = 0
    context: int = 0
    heads: int = 0
    head_dim: int = 0
    ff: int = 0

    def __post_init__(self) -> None:
        validate.one_of(self, "arch", tuple(sorted(ARCHS)), "arch")
        validate.integer(self, "width", 1)
        validate.integer(self, "depth", 0)
        for name in GPT_FIELDS:
            validate.integer(self, name, 0)
        if self.arch == "gpt":
            for name, low in (("vocab", 2), ("context", 1), ("heads", 1), ("ff", 1)):
                if getattr(self, name) < low:
                    raise ValueError(f"ModelConfig.{name} must be >= {low} for arch 'gpt', got {getattr(self, name)}")
            if self.head_dim == 0 and self.width % self.heads:
                raise ValueError(f"ModelConfig: width {self.width} is not a multiple of heads {self.heads}; set "
                                 "head_dim, or a width that heads divides")
        else:
            used = [f"{n}={getattr(self, n)}" for n in GPT_FIELDS if getattr(self, n)]
            if used:
                raise ValueError(f"ModelConfig: {', '.join(used)} apply to arch 'gpt' only, not {self.arch!r}")


# ----------------------------------------------------------------------------------------- MLP
def mlp(width: int, *, depth: int = 3, in_features: int = IN_FEATURES, num_classes: int = NUM_CLASSES) -> nn.Sequential:
    """Flatten, Linear(in, width), ``depth`` x Linear(width, width), Linear(width, classes); ReLU between."""
    if int(width) != width or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(in_features, width), nn.ReLU()]
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def mlp_weight_count(width: float, *, depth: int = 3, in_features: int = IN_FEATURES, num_classes: int = NUM_CLASSES) -> float:
    """Number of weights (biases excluded) of :func:`mlp`: depth*w^2 + (in + classes)*w."""
    return depth * width * width + (in_features + num_classes) * width


def scaled_width(width: int, ratio: float, *, depth: int = 3, in_features: int = IN_FEATURES, num_classes: int = NUM_CLASSES) -> int:
    """Width whose MLP has ``ratio`` times the weights of the MLP of ``width`` (thesis section 5.3).

    Solves depth*w'^2 + (in+classes)*w' = ratio * W(width) and rounds to the nearest integer. For
    depth 3 this is the thesis's w' = w + (sqrt(3rw(3w+3082) + 2374681) - 3w - 1541)/3.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if not ratio > 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")
    target = ratio * mlp_weight_count(width, depth=depth, in_features=in_features, num_classes=num_classes)
    b = in_features + num_classes
    if depth == 0:
        return max(1, round(target / b))
    w = (-b + math.sqrt(b * b + 4 * depth * target)) / (2 * depth)
    return max(1, round(w))


# -------------------------------------------------------------------------------------- ResNet
class CifarResNet(nn.Module):
    """torchvision-style ResNet with a 3x3 stride-1 stem and no max-pool, for 32x32 images."""

    def __init__(self, block: type[nn.Module], layers: list[int], widths: tuple[int, ...], num_classes: int = NUM_CLASSES):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages = []
        for i, (n, w) in enumerate(zip(layers, widths)):
            stages.append(self._make_layer(block, w, n, stride=1 if i == 0 else 2))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block: type[nn.Module], planes: int, blocks: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * block.expansion))
        out = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        out += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50(num_classes: int = NUM_CLASSES) -> nn.Module:
    """torchvision's ResNet50 (23.5 M weights) with the CIFAR stem: conv1 3x3 stride 1, no max-pool."""
    import torchvision

    m = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    m.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(m.conv1.weight, mode="fan_out", nonlinearity="relu")
    m.maxpool = nn.Identity()
    return m


def resnet_small(num_classes: int = NUM_CLASSES) -> nn.Module:
    """ResNet50's family at CPU size: Bottleneck blocks [1, 1, 1, 1], stage widths 8/16/32/64
    (ResNet50: [3, 4, 6, 3] and 64/128/256/512). About 3x faster per image on a CPU than widths 16-128."""
    from torchvision.models.resnet import Bottleneck

    return CifarResNet(Bottleneck, [1, 1, 1, 1], (8, 16, 32, 64), num_classes)


# ----------------------------------------------------------------------------------------- ViT
class Attention(nn.Module):
    """Multi-head self-attention from four ``nn.Linear`` layers (q, k, v, out); ``causal``: each position
    attends to itself and earlier positions only."""

    def __init__(self, dim: int, heads: int, dim_head: int, causal: bool = False):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head, self.causal = heads, dim_head, causal
        self.q = nn.Linear(dim, inner, bias=False)
        self.k = nn.Linear(dim, inner, bias=False)
        self.v = nn.Linear(dim, inner, bias=False)
        self.out = nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        split = lambda z: z.view(b, t, self.heads, self.dim_head).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dim_head)
        if self.causal:
            later = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(later, float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        return self.out((attn @ v).transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    """Linear(dim, hidden), GELU, Linear(hidden, dim): the "feed-forward hidden" and "block output" layers."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.hidden = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.proj = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.act(self.hidden(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + ff(norm(x))."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int, causal: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dim_head, causal)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class Patchify(nn.Module):
    """(B, C, H, W) images -> (B, tokens, C*p*p) non-overlapping patches (no parameters)."""

    def __init__(self, patch: int):
        super().__init__()
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        p = self.patch
        x = x.view(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p * c)


class TokenEmbedding(nn.Module):
    """Prepends the class token and adds learned position embeddings (its own module, so that
    per-sample gradient code sees these two parameters on a leaf module)."""

    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding


class ViT(nn.Module):
    """Vision transformer for 32x32 images: patches, linear embedding, class token, pre-norm blocks."""

    def __init__(self, *, patch: int = 4, dim: int = 512, depth: int = 6, heads: int = 8, dim_head: int = 64,
                 mlp_dim: int = 512, num_classes: int = NUM_CLASSES, image: int = 32):
        super().__init__()
        if image % patch:
            raise ValueError(f"image size {image} is not a multiple of patch {patch}")
        self.patchify = Patchify(patch)
        self.patch_embed = nn.Linear(3 * patch * patch, dim)
        self.embed = TokenEmbedding((image // patch) ** 2, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads, dim_head, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.embed(self.patch_embed(self.patchify(x))))
        return self.head(self.norm(x)[:, 0])


def vit(num_classes: int = NUM_CLASSES) -> ViT:
    """The thesis's ViT (patch 4, depth 6, 8 heads of 64, embedding 512, feed-forward 512)."""
    return ViT(patch=4, dim=512, depth=6, heads=8, dim_head=64, mlp_dim=512, num_classes=num_classes)


def vit_tiny(num_classes: int = NUM_CLASSES) -> ViT:
    """CPU-sized ViT: patch 4, depth 2, 4 heads of 16, embedding 64, feed-forward 128."""
    return ViT(patch=4, dim=64, depth=2, heads=4, dim_head=16, mlp_dim=128, num_classes=num_classes)


# ----------------------------------------------------------------------------------------- GPT
class PositionEmbedding(nn.Module):
    """Adds a learned embedding of each position (its own module, so per-sample gradient code sees the
    parameter on a leaf module); inputs may be shorter than ``context``."""

    def __init__(self, context: int, dim: int):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.randn(1, context, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos_embedding[:, :x.shape[1]]


class GPT(nn.Module):
    """Decoder-only language model: (batch, positions) token indices -> (batch, positions, vocab) logits of
    the next token. Token embedding, position embedding, pre-norm causal blocks, layer norm, output layer
    (not tied to the embedding: shared parameters would hide each use's gradient from per-layer code)."""

    def __init__(self, *, vocab: int, context: int, dim: int, depth: int, heads: int, dim_head: int, ff: int):
        super().__init__()
        self.context = context
        self.tokens = nn.Embedding(vocab, dim)
        nn.init.normal_(self.tokens.weight, std=0.02)
        self.position = PositionEmbedding(context, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads, dim_head, ff, causal=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] > self.context:
            raise ValueError(f"GPT takes (batch, positions) token indices with at most {self.context} positions, "
                             f"got shape {tuple(x.shape)}")
        return self.head(self.norm(self.blocks(self.position(self.tokens(x)))))


def gpt(cfg: "ModelConfig") -> GPT:
    """The :class:`GPT` that ``cfg`` (arch ``gpt``) describes."""
    return GPT(vocab=cfg.vocab, context=cfg.context, dim=cfg.width, depth=cfg.depth, heads=cfg.heads,
               dim_head=cfg.head_dim or cfg.width // cfg.heads, ff=cfg.ff)


ARCHS: dict[str, Callable[..., nn.Module]] = {
    "gpt": gpt,
    "mlp": mlp,
    "resnet50": resnet50,
    "resnet_small": resnet_small,
    "vit": vit,
    "vit_tiny": vit_tiny,
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised network for ``cfg`` (initialisation uses torch's global RNG: seed it first)."""
    if cfg.arch == "mlp":
        return mlp(cfg.width, depth=cfg.depth)
    if cfg.arch == "gpt":
        return gpt(cfg)
    return ARCHS[cfg.arch]()


def count_weights(model: nn.Module) -> tuple[int, int]:
    """(weights, other parameters): weights are the >= 2-D tensors, the rest are biases and norms."""
    w = sum(p.numel() for p in model.parameters() if p.dim() >= 2)
    return w, sum(p.numel() for p in model.parameters()) - w
