"""The paired tests over seeds behind chapter 6's claims (:mod:`lib.chapters.ch06_pruning_large`; this module
is that chapter's alone): a run's per-seed values read from the chapter's tables (:func:`values`), one
comparison of two runs (:func:`compare`, :func:`shown`), the record of a claim decided over several
comparisons with Holm's correction (:func:`family_test`, :func:`family_groups`), and the text of a verdict
(:func:`scale_text`).

The seed is the replicate (:mod:`lib.chapters.seed_tests`). A child shares its parent's seed and data order with
the other children and with the dense ``none`` run of that seed, so every run gives one value per seed and every
comparison is a paired test over the seeds (n = seeds), made by :func:`lib.chapters.seed_tests.paired_groups` on
a long frame (a seed whose run gave a non-finite value is left out and counted). Three designs:

* one comparison of two runs (:func:`compare`): a mask against another mask, against the dense run, or the
  same mask in two scopes; against 0, or against a threshold fixed with the claim ("no more than three
  points below" is a - b > -0.03);
* a claim about each of several settings or masks ("each", "both", "in every setting"):
  ``paired_groups(..., every=True)``, each group judged over the seeds on its own;
* a claim that names a winner, or that some or every mask does something ("the best pruned network", "some
  pruned ViT", "every pruned ResNet"): every candidate is tested, Holm's correction over the claim's
  comparisons decides each of them (:func:`lib.chapters.seed_tests.holm_family`), and the claim's verdict is
  the logical combination of those decisions (:func:`lib.chapters.seed_tests.all_of`, ``any_of``). No mask is
  chosen by its mean on the seeds it is then tested on (issue 22, item 10: we test every candidate rather than
  choose on some seeds and test on the others, which would leave one or two seeds to test with three).

Scopes whose effects the thesis's tables give with different sizes or signs are separate claims. Margins are
fixed with the claims, before any run (:mod:`lib.chapters.ch06_claims`); a claim of a match is the two
one-sided tests (its 90 % interval inside the margin). Differences of two accuracies or two shares are cut to
[-1, 1], the range they can take (:data:`UNIT`).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import pandas as pd

from .ch06_claims import Item, Setting
from .large import PRUNED, mean_sd, per_seed
from .seed_tests import GROUP_STATS, HELD, NOT_HELD, Node, combined_key, paired_groups
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from .verdicts import Claim

#: ``{(family, scope): (results, layers)}``: :func:`lib.experiments.prune_large`'s two frames per setting.
Tables = Mapping[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]
#: The range a difference of two accuracies or of two shares of tensors can take.
UNIT = (-1.0, 1.0)
FAMILY = {"resnet": "ResNet", "vit": "ViT"}


def have(t: Tables, *settings: Setting) -> bool:
    """Whether every one of ``settings`` was run (is a key of ``t``)."""
    return all(k in t for k in settings)


def values(t: Tables, setting: Setting, method: str, column: str = "test_acc") -> pd.Series:
    """``column`` of ``method``'s runs in ``setting``, indexed by parent seed (:func:`lib.chapters.large.per_seed`)."""
    return per_seed(t[setting][0], method, column)


def masks_run(t: Tables, setting: Setting, masks: Sequence[str] = PRUNED) -> list[str]:
    """The masks among ``masks`` that were run in ``setting``, in the order given."""
    run = set(t[setting][0]["method"])
    return [m for m in masks if m in run]


def long_frame(parts: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Per-seed series as one long frame with columns item, seed, value."""
    return pd.concat([x.rename("value").rename_axis("seed").reset_index().assign(item=name)
                      for name, x in parts.items()], ignore_index=True)[["item", "seed", "value"]]


def run_names(a: Item, b: Item) -> tuple[str, str]:
    """How two compared runs are named: the mask alone within one setting, with its scope (and architecture
    when they differ) across settings."""
    if a[0] == b[0]:
        return a[1], b[1]
    if a[0][0] == b[0][0]:
        return f"{a[1]} ({a[0][1]})", f"{b[1]} ({b[0][1]})"
    return f"{a[1]} ({FAMILY[a[0][0]]} {a[0][1]})", f"{b[1]} ({FAMILY[b[0][0]]} {b[0][1]})"


def compare(t: Tables, a: Item, b: Item, *, claim: str = "greater", margin: float | None = None,
            threshold: float = 0.0) -> dict[str, Any]:
    """The paired test over seeds of ``a``'s test accuracy against ``b``'s plus ``threshold`` (runs of the same
    parent seed paired): :func:`lib.chapters.seed_tests.paired_groups` of a - (b + threshold), with ``claim``
    and ``margin`` as there and the interval cut to the range a difference of accuracies can take. The
    result keeps ``threshold`` and ``label`` ("a - b"); :func:`shown` turns its numbers into those of a - b."""
    la, lb = run_names(a, b)
    df = long_frame({la: values(t, *a), lb: values(t, *b)})
    plain, _ = paired_groups(df, "item", la, lb, "value", claim=claim, margin=margin, bounds=UNIT)
    out = {**plain, "threshold": threshold, "label": f"{la} - {lb}"}
    if not threshold:
        return out
    df.loc[df["item"] == lb, "value"] += threshold
    test, _ = paired_groups(df, "item", la, lb, "value", claim=claim, margin=margin,
                            bounds=(UNIT[0] - threshold, UNIT[1] - threshold))
    return {**test, "threshold": threshold, "label": out["label"], "shown": {k: plain[k] for k in SHOWN}}


#: The numbers of a :func:`compare` result a reader sees as those of a - b.
SHOWN = ("a", "b", "diff", "ci_low", "ci_high", "clipped")


def shown(test: Mapping[str, Any]) -> dict[str, Any]:
    """A :func:`compare` result as the reader sees it: means, difference and interval of a - b (computed from
    the unshifted values); the verdict, p and seeds needed are those of the test against the threshold."""
    out = {k: v for k, v in test.items() if k != "shown"}
    return {**out, **test.get("shown", {})}


# ---- Holm's correction over the comparisons of one claim
def family_test(root: Node, leaves: Mapping[str, Node]) -> dict[str, Any]:
    """The test record of a claim decided by :func:`holm_family` and :func:`all_of` / :func:`any_of`: the
    deciding comparison's numbers (:func:`shown`) with the claim's verdict, its Holm-adjusted p, the seeds
    more would need, the rule, the comparison that decided it, how the comparisons fell, the values left out
    in any comparison, and a key over every comparison's data."""
    words = [n["verdict"] for n in leaves.values()]
    lost = [(k, n["test"]) for k, n in leaves.items() if n["test"].get("dropped")]
    return {**shown(root["test"]), "verdict": root["verdict"], "p": root["p"], "needed_for": root["needed_for"],
            "seeds_needed": root["seeds_needed"], "rule": f"Holm over {len(leaves)} comparisons",
            "decided_by": root["label"], "comparisons": len(leaves), "groups": len(leaves),
            "held_after_holm": words.count(HELD),
            "not_held_after_holm": words.count(NOT_HELD),
            "dropped": max((x["dropped"] for _, x in lost), default=0),
            "dropped_why": "; ".join(f"{k}: {x['dropped_why']}" for k, x in lost),
            "key": combined_key(n["test"]["key"] for n in leaves.values())}


def family_groups(leaves: Mapping[str, Node]) -> pd.DataFrame:
    """One row per comparison of a Holm family: its label (``versus``), seeds, means, difference and 95 %
    interval (:func:`shown`), and its verdict after Holm's correction."""
    rows = [{"versus": k, **{c: shown(n["test"])[c] for c in GROUP_STATS}, "verdict": n["verdict"]}
            for k, n in leaves.items()]
    return pd.DataFrame(rows, columns=["versus", *GROUP_STATS])


def holm_note(leaves: Mapping[str, Node]) -> str:
    """The note under a claim decided by a Holm family."""
    return (f"Each of the {len(leaves)} comparisons is decided with Holm's correction over all of them; the "
            "interval shown is the deciding comparison's own 95 % interval.")


# ---- text helpers
def scale_text(t: Tables, *settings: Setting) -> str:
    """How close to the thesis's regime: per architecture, our dense ``none`` test accuracy (seed mean)
    against the thesis's in each table named, e.g. "ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)"."""
    parts = []
    for fam in dict.fromkeys(f for f, _ in settings):
        mine = [k for k in settings if k[0] == fam and k in t]
        if not mine:
            continue
        res = t[mine[0]][0]
        ours = f"{values(t, mine[0], 'none').mean():.2f}" if "none" in set(res["method"]) else "not run"
        thesis = ", ".join(f"{PRUNE_TABLES[k]['none'][1]:.2f}" + (f" in Table {TABLE_NUMBERS[k]}" if len(mine) > 1 else "")
                           for k in mine)
        tables = "" if len(mine) > 1 else f", Table {TABLE_NUMBERS[mine[0]]}"
        parts.append(f"{FAMILY[fam]} dense test acc {ours} (thesis {thesis}{tables})")
    return "; ".join(parts)


def _tables(settings: Sequence[Setting]) -> str:
    """'Table 6.1' or 'Tables 6.1, 6.5'."""
    return ("Table " if len(settings) == 1 else "Tables ") + ", ".join(TABLE_NUMBERS[k] for k in settings)


def ms(x: pd.Series) -> str:
    """The "mean ± sd" of per-seed values (:func:`lib.chapters.large.mean_sd`)."""
    return mean_sd(list(x))


def on_tables(c: Claim, settings: Sequence[Setting]) -> Claim:
    """``c`` with its figure naming only the tables of ``settings`` (those that were run)."""
    return replace(c, figure=_tables(settings))
