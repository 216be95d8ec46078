"""``lib.models.TokenEmbedding`` (class token and position embeddings of the ViT).

y = cat(cls, x) + pos, so sample z's gradients are pos: dL/dy_z, cls: dL/dy_z at token 0.
"""
from __future__ import annotations

import torch

from ...models import TokenEmbedding
from ..registry import register_grad_sampler


@register_grad_sampler(TokenEmbedding)
def token_embedding_sampler(module: TokenEmbedding, inputs: tuple[torch.Tensor, ...],
                            grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    if module.cls_token.requires_grad:
        out["cls_token"] = grad_out[:, None, :1, :]
    if module.pos_embedding.requires_grad:
        out["pos_embedding"] = grad_out[:, None]
    return out
