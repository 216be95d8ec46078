"""Could chapter 6's ResNet children train faster side by side in one network? Seconds per training step
of K separate ``resnet_small`` networks against one network holding all K as channel groups (every
convolution with ``groups=K``, BatchNorm over the K groups' channels, one grouped classifier), which
computes the same K functions of the same batch.

Usage: python benchmarks/grouped_children.py [--k 1,3,6] [--batch 128] [--steps 8] [--repeats 3] [--threads 1]

A measurement for a design decision (issue 11), not a path of the book: the book trains every child as
its own run. The grouped network here is built for timing only; its outputs are checked against the K
separate networks (same weights copied in) before timing, and the largest relative difference is printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from lib.models import resnet_small  # noqa: E402


def grouped_copy(models: list[nn.Module]) -> nn.Module:
    """One network computing all of ``models`` (``resnet_small`` instances) as channel groups."""
    k = len(models)

    def conv(name: str) -> nn.Conv2d:
        cs = [dict(m.named_modules())[name] for m in models]
        c = cs[0]
        g = nn.Conv2d(c.in_channels * k, c.out_channels * k, c.kernel_size, c.stride, c.padding, groups=k, bias=False)
        with torch.no_grad():
            g.weight.copy_(torch.cat([x.weight for x in cs]))
        return g

    def bn(name: str) -> nn.BatchNorm2d:
        bs = [dict(m.named_modules())[name] for m in models]
        b = nn.BatchNorm2d(bs[0].num_features * k)
        with torch.no_grad():
            b.weight.copy_(torch.cat([x.weight for x in bs]))
            b.bias.copy_(torch.cat([x.bias for x in bs]))
        return b

    class Block(nn.Module):
        def __init__(self, prefix: str, has_down: bool):
            super().__init__()
            self.c1, self.b1 = conv(f"{prefix}.conv1"), bn(f"{prefix}.bn1")
            self.c2, self.b2 = conv(f"{prefix}.conv2"), bn(f"{prefix}.bn2")
            self.c3, self.b3 = conv(f"{prefix}.conv3"), bn(f"{prefix}.bn3")
            self.down = nn.Sequential(conv(f"{prefix}.downsample.0"), bn(f"{prefix}.downsample.1")) if has_down else None

        def forward(self, x):
            out = F.relu(self.b1(self.c1(x)))
            out = F.relu(self.b2(self.c2(out)))
            out = self.b3(self.c3(out))
            return F.relu(out + (self.down(x) if self.down is not None else x))

    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.k = k
            self.conv1, self.bn1 = conv("conv1"), bn("bn1")
            names = dict(models[0].named_modules())
            self.blocks = nn.Sequential(*[Block(f"layer{i}.0", f"layer{i}.0.downsample" in names) for i in range(1, 5)])
            fcs = [m.fc for m in models]
            self.fc_w = nn.Parameter(torch.stack([f.weight.detach().clone() for f in fcs]))  # (k, 10, features)
            self.fc_b = nn.Parameter(torch.stack([f.bias.detach().clone() for f in fcs]))

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x.repeat(1, self.k, 1, 1))))
            x = self.blocks(x)
            feats = x.mean((2, 3)).view(x.shape[0], self.k, -1)  # (batch, k, features)
            return torch.einsum("bkf,kof->bko", feats, self.fc_w) + self.fc_b  # (batch, k, classes)

    return Grouped()


def step_time(step, steps: int) -> float:
    """Median seconds of ``step()`` over ``steps`` calls (after one warm-up call)."""
    step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", default="1,3,6")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = torch.randn(args.batch, 3, 32, 32), torch.randint(0, 10, (args.batch,))
    print(f"batch {args.batch}, {args.threads} thread(s), median of {args.steps} steps, {args.repeats} repeats")
    print("| K | K separate (s/step) | grouped (s/step) | separate / grouped | max rel. output difference |")
    print("|---:|---:|---:|---:|---:|")
    for k in (int(v) for v in args.k.split(",")):
        models = [resnet_small() for _ in range(k)]
        grouped = grouped_copy(models)
        with torch.no_grad():
            for m in models + [grouped]:
                m.train()
            ref = torch.stack([m(x) for m in models], 1)
            diff = ((grouped(x) - ref).abs().max() / ref.abs().max()).item()
        opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]
        gopt = torch.optim.SGD(grouped.parameters(), lr=0.01, momentum=0.9)

        def separate():
            for m, o in zip(models, opts):
                o.zero_grad(set_to_none=True)
                F.cross_entropy(m(x), y).backward()
                o.step()

        def together():
            gopt.zero_grad(set_to_none=True)
            out = grouped(x)
            sum(F.cross_entropy(out[:, i], y) for i in range(k)).backward()
            gopt.step()

        sep, grp = [], []
        for _ in range(args.repeats):
            sep.append(step_time(separate, args.steps))
            grp.append(step_time(together, args.steps))
        a, b = statistics.median(sep), statistics.median(grp)
        print(f"| {k} | {a:.3f} | {b:.3f} | {a / b:.2f} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
