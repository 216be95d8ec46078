"""The verdict toolkit every chapter uses: the one way to write a claim (:class:`Claim`), the
:class:`Verdict` record and the decided claim (:class:`Decided`), the verdict as a reader sees it
(:func:`interval_text`, :func:`shown_verdict`), storing and loading with provenance, and the display
tables. The tests over seeds that decide a claim (:func:`lib.chapters.seed_tests.paired`,
:func:`~lib.chapters.seed_tests.paired_groups`, :func:`~lib.chapters.seed_tests.trend`, Holm's correction)
are in :mod:`lib.chapters.seed_tests`; each claim says what result would make it not held
(:attr:`Claim.fails_if`).

Each chapter stores its verdicts as one JSON file per (profile, chapter, parameters):
``runs/verdicts/<profile>/<chapter>/<params key>.json`` with the chapter's parameters, the profile, the
hashes of the runs they were computed from and the code version (:func:`store`); the file is replaced
atomically, so two processes never leave a mixed set, and different parameters never overwrite each
other. The conclusions chapter reads back those of the parameters it was built with
(:func:`load_for`) and names the chapters whose verdicts are missing or stale. A file that is not such a
record (not JSON, another shape, keys missing: :func:`record_problem`) is renamed ``<name>.damaged-<ns>``
beside it with a :class:`DamagedVerdictsWarning` naming both (:func:`read_record`): it is never read again,
kept for inspection, and its chapter counts as missing (:func:`unreadable`), which the build re-executes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .. import paths
from ..plan import Plan, hashes
from .seed_tests import ALPHA, GROUP_STATS, HELD, INCONCLUSIVE, MOST_SEEDS, NOT_HELD, NOT_MEASURED, VERDICTS

#: Bump when the way verdicts are computed changes: stored verdicts of another version are stale.
VERDICT_VERSION = 3


def one_group(test: Mapping[str, Any], **labels: Any) -> pd.DataFrame:
    """A per-group frame of one row: ``labels`` and the :data:`~lib.chapters.seed_tests.GROUP_STATS` of a
    :func:`~lib.chapters.seed_tests.paired` result, for a claim decided by a single comparison."""
    return pd.DataFrame([{**labels, **{c: test.get(c) for c in GROUP_STATS}}])


def _num(x: float, digits: int) -> str:
    return f"{x:+.{digits}g}"


def interval_text(t: Mapping[str, Any], digits: int = 3) -> str:
    """'+0.012 [-0.003, +0.027], 3 seeds' (the mean paired difference, or the mean slope of a trend, and its
    interval, 90 % for an equivalence claim), or 'one seed (no interval)' / 'no seeds'; with the values
    left out, the groups of an "every" claim and a clipped interval said."""
    n = t.get("n", 0)
    if not n:
        return "no seeds"
    d = _num(t["diff"], digits)
    if t.get("statistic", "").startswith("slope"):
        d = f"slope {d} per {t.get('x', 'x')}"
    elif t.get("statistic", "").startswith("fitted total"):
        d = f"total change {d}"
    if n < 2 or not np.isfinite(t.get("ci_low", math.nan)):
        text = f"{d}, one seed (no interval)"
    else:
        level = t.get("level", 1 - t.get("alpha", ALPHA))
        lvl = "" if abs(level - 0.95) < 1e-9 else f" ({level:.0%} CI)"
        text = f"{d} [{_num(t['ci_low'], digits)}, {_num(t['ci_high'], digits)}]{lvl}, {n} seeds"
    if t.get("rule") == "every group":
        text += f"; every group: {t['groups_held']} of {t['groups']} held"
        if t.get("groups_not_held"):
            text += f", {t['groups_not_held']} not held"
    if t.get("clipped"):
        text += "; interval cut to the statistic's range"
    if t.get("dropped") or t.get("dropped_why"):
        text += f"; {t['dropped_why']}"
    return text


def shown_verdict(verdict: str, test: Mapping[str, Any] | None) -> str:
    """The verdict word as a reader sees it: an inconclusive one with the seeds that would decide it
    ("inconclusive (≈7 seeds to decide held)"), or why no number of seeds would."""
    if verdict != INCONCLUSIVE or not test:
        return verdict
    need, side = test.get("seeds_needed"), test.get("needed_for")
    claim, margin = test.get("claim"), test.get("margin")
    beyond = claim in ("equal", "flat") and margin is not None and np.isfinite(test.get("diff", math.nan)) \
        and abs(test["diff"]) >= margin
    if test.get("n", 0) < 2:
        return f"{verdict} (fewer than two seeds)"
    if beyond:
        return (f"{verdict} (difference beyond the margin; ≈{need} seeds to decide not held)" if need
                else f"{verdict} (difference beyond the margin)")
    if need and side:
        return f"{verdict} (≈{need} seeds to decide {side})"
    if side:
        return f"{verdict} (more than {MOST_SEEDS} seeds at this effect)"
    if test.get("rule") == "every group":
        return f"{verdict} (the groups point different ways)"
    return f"{verdict} (no effect either way)"


# ---------------------------------------------------------------------------------- the record
#: How a held verdict bears on the conclusion it names: "for" supports it, "against" speaks against it.
BEARS = ("for", "against")


@dataclass(frozen=True)
class Verdict:
    """One claim of the thesis and what our runs at one profile say about it.

    ``test`` is :func:`~lib.chapters.seed_tests.paired`'s (or :func:`~lib.chapters.seed_tests.trend`'s) result
    the verdict was computed from (empty for a claim not measured); ``scale`` says how close to the thesis's
    regime it was measured (e.g. the dense network's test accuracy, ours against the thesis's). ``fails_if``
    is the result that would make the claim not held, written with the claim; ``conclusion`` the key of the
    chapter-7 conclusion it bears on ("" for none), ``bears`` whether a held verdict supports that conclusion
    or speaks against it; ``note`` what a reader must know where the verdict is shown (a value left out, a
    regime not reached)."""

    claim_id: str   # short stable id, e.g. "2-resnet-peak-coherence-real-gt-gaussian"
    chapter: str    # e.g. "02"
    claim: str      # the claim in our words
    thesis: str     # what the thesis reports (numbers where it gives them)
    ours: str       # what we measured (numbers)
    verdict: str    # one of VERDICTS
    figure: str     # the figure or table that decides it, e.g. "Figure 2.1"
    test: dict = field(default_factory=dict)
    scale: str = ""
    fails_if: str = ""
    conclusion: str = ""
    bears: str = "for"
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")
        if self.test and self.test.get("verdict") not in (None, self.verdict):
            raise ValueError(f"{self.claim_id}: verdict {self.verdict!r} is not its test's {self.test['verdict']!r}")
        if self.bears not in BEARS:
            raise ValueError(f"{self.claim_id}: bears must be one of {BEARS}, got {self.bears!r}")

    @classmethod
    def of(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, test: Mapping[str, Any],
           figure: str, scale: str = "", **more: Any) -> "Verdict":
        """A verdict whose word is its test's (:func:`~lib.chapters.seed_tests.paired`); the record keeps the
        test's numbers."""
        return cls(claim_id, chapter, claim, thesis, ours, test["verdict"], figure,
                   {k: _plain(v) for k, v in test.items()}, scale, **more)

    @classmethod
    def unmeasured(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, figure: str,
                   scale: str = "", **more: Any) -> "tuple[Verdict, pd.DataFrame]":
        """A claim not measured at this scale (``ours`` says why), with an empty per-group frame."""
        return (cls(claim_id, chapter, claim, thesis, ours, NOT_MEASURED, figure, {}, scale, **more),
                pd.DataFrame(columns=list(GROUP_STATS)))

    @property
    def interval(self) -> str:
        """The test's difference and interval as text (:func:`interval_text`), '' when not measured."""
        return interval_text(self.test) if self.test else ""

    @property
    def shown(self) -> str:
        """The verdict word, with the seeds an inconclusive one would need (:func:`shown_verdict`)."""
        return shown_verdict(self.verdict, self.test)


class Decided(NamedTuple):
    """A decided claim: its verdict and the per-group intervals the chapter shows beside it."""

    verdict: Verdict
    groups: pd.DataFrame


@dataclass(frozen=True)
class Claim:
    """A claim as written before any run: the one way every chapter states and decides a claim.

    ``id`` (stable, starts with the chapter's number), ``chapter`` ("02"), ``text`` (the claim in our
    words), ``thesis`` (what the thesis reports), ``fails_if`` (the result that would make it not held:
    a claim no run could fail is no claim), ``figure`` (what decides it), ``conclusion`` (the key of the
    chapter-7 conclusion it bears on, "" for none) and ``bears`` ("for": a held verdict supports that
    conclusion; "against": it speaks against it). :meth:`decide` turns a test into a :class:`Decided`."""

    id: str
    chapter: str
    text: str
    thesis: str
    fails_if: str
    figure: str
    conclusion: str = ""
    bears: str = "for"

    def __post_init__(self) -> None:
        if not (len(self.chapter) == 2 and self.chapter.isdigit()):
            raise ValueError(f"claim {self.id!r}: chapter must be two digits like '05', got {self.chapter!r}")
        if not self.id.startswith(f"{int(self.chapter)}-"):
            raise ValueError(f"claim id {self.id!r} must start with its chapter's number, '{int(self.chapter)}-'")
        if not self.fails_if.strip():
            raise ValueError(f"claim {self.id!r} says no result that would make it not held (fails_if)")
        if self.bears not in BEARS:
            raise ValueError(f"claim {self.id!r}: bears must be one of {BEARS}, got {self.bears!r}")

    def _verdict(self, ours: str, verdict: str, test: Mapping[str, Any], scale: str, note: str) -> Verdict:
        return Verdict(self.id, self.chapter, self.text, self.thesis, ours, verdict, self.figure,
                       {k: _plain(v) for k, v in test.items()}, scale, self.fails_if, self.conclusion, self.bears, note)

    def decide(self, ours: str, test: Mapping[str, Any], *, scale: str = "", groups: pd.DataFrame | None = None,
               note: str = "", **labels: Any) -> Decided:
        """The claim decided by ``test`` (:func:`~lib.chapters.seed_tests.paired`,
        :func:`~lib.chapters.seed_tests.paired_groups` or :func:`~lib.chapters.seed_tests.trend`): its verdict,
        with ``ours`` (our numbers), ``scale`` and ``note``, and the per-group frame (``groups``, else one row
        from ``test`` with ``labels``)."""
        g = groups if groups is not None else one_group(test, **labels)
        return Decided(self._verdict(ours, test["verdict"], test, scale, note), g)

    def unmeasured(self, ours: str, *, scale: str = "", note: str = "") -> Decided:
        """The claim not measured at this scale (``ours`` says why), with an empty per-group frame."""
        return Decided(self._verdict(ours, NOT_MEASURED, {}, scale, note), pd.DataFrame(columns=list(GROUP_STATS)))

    def regime_not_reached(self, ours: str, test: Mapping[str, Any], *, scale: str = "", note: str = "",
                           groups: pd.DataFrame | None = None) -> Decided:
        """Not measured at this scale although a test was run: the profile does not reach the claim's regime
        (e.g. memorisation after 20 of the thesis's 1,000 epochs); the test's numbers are kept for the
        reader, its verdict word is not used."""
        t = {**test, "verdict": NOT_MEASURED, "measured_verdict": test.get("verdict")}
        g = groups if groups is not None else one_group(t)
        return Decided(self._verdict(ours, NOT_MEASURED, t, scale, note), g)


def verdicts_of(decided: Iterable[Decided]) -> list[Verdict]:
    """The verdicts of decided claims."""
    return [d[0] for d in decided]


def group_label(row: pd.Series, keys: Sequence[str]) -> str:
    """A per-group row's keys as text: ("from", "to") as "32→64", ("sweep", "x") as "width 64", the keys
    of :data:`VALUE_ONLY` as their value, any other key as "key value"."""
    def fmt(v: object) -> str:
        return f"{v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else str(v)

    parts = []
    for k in keys:
        if k in ("to", "x"):
            continue
        if k == "from":
            parts.append(f"{fmt(row['from'])}→{fmt(row['to'])}")
        elif k == "sweep" and "x" in keys:
            parts.append(f"{row['sweep']} {fmt(row['x'])}")
        elif k in VALUE_ONLY:
            parts.append(str(row[k]))
        else:
            parts.append(f"{k} {fmt(row[k])}")
    return ", ".join(parts) if parts else "all"


#: Group keys :func:`group_label` writes as their value alone.
VALUE_ONLY = ("versus", "method", "scope", "item")


def intervals_frame(decided: Iterable[tuple[object, pd.DataFrame]]) -> pd.DataFrame:
    """The per-group intervals behind a chapter's verdicts, one row per (claim, group): claim_id, group
    (:func:`group_label`), n (seeds), a, b (means), diff (mean of a - b), ci_low, ci_high, verdict of
    that group alone. ``decided``: (verdict, per-group frame of ``paired_groups``) pairs."""
    rows = []
    for v, g in decided:
        keys = [c for c in g.columns if c not in GROUP_STATS]
        for _, row in g.iterrows():
            rows.append({"claim_id": v.claim_id, "group": group_label(row, keys),
                         **{c: row[c] for c in GROUP_STATS}})
    return pd.DataFrame(rows, columns=["claim_id", "group", *GROUP_STATS])


def show_intervals(df: pd.DataFrame, digits: int = 3) -> "pd.io.formats.style.Styler":
    """:func:`intervals_frame` for display: the difference with its interval as one text column (95 %; 90 % for
    an equivalence claim, see the claim's verdict table)."""
    def ci(r: pd.Series) -> str:
        if r["diff"] is None or not np.isfinite(r["diff"]):
            return "-"
        if r["ci_low"] is None or not np.isfinite(r["ci_low"]):
            return f"{r['diff']:+.{digits}g} (no interval)"
        return f"{r['diff']:+.{digits}g} [{r['ci_low']:+.{digits}g}, {r['ci_high']:+.{digits}g}]"

    out = df.assign(**{"difference [interval]": df.apply(ci, axis=1) if len(df) else []})
    out = out[["claim_id", "group", "n", "a", "b", "difference [interval]", "verdict"]]
    return with_badges(out.style.hide(axis="index").format({"a": f"{{:.{digits}g}}", "b": f"{{:.{digits}g}}"},
                                                           na_rep="-")
                       .set_properties(**{"text-align": "left"}))


def _plain(x: Any) -> Any:
    """JSON-friendly scalar (numpy numbers to Python; NaN stays a float)."""
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


# ---------------------------------------------------------------------------------- storage
def params_key(params: Any) -> str:
    """A short stable key of a chapter's parameters (a ``Params`` dataclass or a mapping)."""
    d = asdict(params) if dataclasses.is_dataclass(params) else dict(params)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _dir(profile: str) -> Path:
    return paths.runs_dir() / "verdicts" / profile


def chapter_file(profile: str, chapter: str, params: Any) -> Path:
    """Where chapter ``chapter``'s verdicts for ``params`` at ``profile`` are stored."""
    return _dir(profile) / chapter / f"{params_key(params)}.json"


def store(profile: str, chapter: str, params: Any, run_hashes: Sequence[str], vs: Sequence[Verdict]) -> Path:
    """Store a chapter's verdicts with their provenance (``params``, ``profile``, the hashes of the runs
    they were computed from, :data:`VERDICT_VERSION`), replacing atomically the set stored earlier for
    the same parameters; returns the file. Every verdict must belong to ``chapter``."""
    wrong = [v.claim_id for v in vs if v.chapter != chapter]
    if wrong:
        raise ValueError(f"verdicts {wrong} do not belong to chapter {chapter!r}")
    d = asdict(params) if dataclasses.is_dataclass(params) else dict(params)
    record = {"chapter": chapter, "profile": profile, "params": d, "params_key": params_key(params),
              "run_hashes": sorted(set(run_hashes)), "version": VERDICT_VERSION,
              "written": time.strftime("%Y-%m-%d %H:%M:%S"), "verdicts": [asdict(v) for v in vs]}
    target = chapter_file(profile, chapter, params)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.time_ns()}.tmp")  # unique: writers may race
    try:
        tmp.write_text(json.dumps(record, indent=1, default=_plain))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def run_hashes(plan: Plan) -> list[str]:
    """The distinct run hashes of a plan (:data:`lib.plan.Plan`), sorted."""
    return hashes(plan)


def record(chapter_module: Any, setup: Any, vs: Sequence[Verdict]) -> Path:
    """Store a chapter's verdicts (:func:`store`) from its module and :class:`Setup`: the chapter key
    from the module's name (``ch05_...`` -> "05"), the parameters ``setup.params``, the profile
    ``setup.profile.name`` and the hashes of the module's ``plan(setup)``."""
    chapter = chapter_module.__name__.rsplit(".", 1)[-1][2:4]
    return store(setup.profile.name, chapter, setup.params, run_hashes(chapter_module.plan(setup)), vs)


#: The keys of every record :func:`store` writes.
RECORD_KEYS = ("chapter", "profile", "params", "params_key", "run_hashes", "version", "verdicts")


class DamagedVerdicts(ValueError):
    """A verdict file that is not a record :func:`store` writes; the message names the file and what is wrong."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"damaged verdict file {path}: {why}")
        self.path, self.why = path, why


class DamagedVerdictsWarning(UserWarning):
    """A damaged verdict file was set aside (:func:`read_record`); its chapter's verdicts count as missing."""


def _verdict_problem(v: Mapping[str, Any]) -> str:
    """Why ``v`` (one stored verdict of the current :data:`VERDICT_VERSION`) is no :class:`Verdict`; '' when it is."""
    try:
        Verdict(**v)
    except (TypeError, ValueError, AttributeError) as exc:
        return f"verdict {v.get('claim_id')!r} is not a verdict ({exc})"
    return ""


def record_problem(rec: Any, path: Path) -> str:
    """Why ``rec``, the JSON read from ``path``, is not a record :func:`store` writes there ('' when it is one):
    not an object, a key of :data:`RECORD_KEYS` missing, another chapter or parameters key than the path's,
    run hashes or verdicts not lists, a verdict without a claim id; for a record of the current
    :data:`VERDICT_VERSION`, a verdict that is no :class:`Verdict` (older versions are stale, not damaged)."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not an object"
    missing = [k for k in RECORD_KEYS if k not in rec]
    if missing:
        return f"key(s) missing: {', '.join(missing)}"
    if (rec["chapter"], rec["params_key"]) != (path.parent.name, path.stem):
        return f"holds chapter {rec['chapter']!r}, parameters {rec['params_key']!r}, not those of its path"
    if not isinstance(rec["run_hashes"], list) or not isinstance(rec["verdicts"], list):
        return "run_hashes and verdicts must be lists"
    if not all(isinstance(v, dict) and isinstance(v.get("claim_id"), str) for v in rec["verdicts"]):
        return "a verdict without a claim_id"
    if rec["version"] == VERDICT_VERSION:
        return next(filter(None, map(_verdict_problem, rec["verdicts"])), "")
    return ""


def load_record(path: Path) -> dict[str, Any]:
    """One stored chapter record (see :func:`store`); :class:`DamagedVerdicts` naming the file when it is not
    JSON or not such a record (:func:`record_problem`); FileNotFoundError when there is none."""
    try:
        rec = json.loads(path.read_bytes())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise DamagedVerdicts(path, f"not JSON ({exc})") from None
    why = record_problem(rec, path)
    if why:
        raise DamagedVerdicts(path, why)
    return rec


def set_aside(path: Path, why: str) -> Path:
    """Rename the damaged verdict file ``path`` to ``<name>.damaged-<ns>`` beside it (no reader globs that name,
    so it is never read again, and it is kept for inspection) and warn, naming both and ``why``; the new path."""
    aside = path.with_name(f"{path.name}.damaged-{time.time_ns()}")
    os.replace(path, aside)
    warnings.warn(f"damaged verdict file {path}: {why}; set aside as {aside.name}, its chapter's verdicts count "
                  "as missing (rerun the chapter)", DamagedVerdictsWarning, stacklevel=3)
    return aside


def read_record(path: Path) -> dict[str, Any] | None:
    """:func:`load_record`, or None when there is no file or it is damaged: a damaged file is set aside
    (:func:`set_aside`) unless a writer replaced it since it was read (then the new file is read)."""
    try:
        inode = path.stat().st_ino
        return load_record(path)
    except FileNotFoundError:
        return None
    except DamagedVerdicts as exc:
        try:
            if path.stat().st_ino != inode:  # :func:`store` replaced it meanwhile
                return read_record(path)
            set_aside(path, exc.why)
        except FileNotFoundError:  # another reader set it aside first
            pass
        return None


def unreadable(profile: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The chapters of ``params`` (chapter -> its parameters) with no readable verdict file for those
    parameters at ``profile``, each with why: "missing", or "damaged" (the file was set aside, :func:`read_record`)."""
    out = {}
    for chapter, p in params.items():
        f = chapter_file(profile, chapter, p)
        existed = f.exists()
        if read_record(f) is None:
            out[chapter] = "damaged" if existed else "missing"
    return out


def frame(vs: Sequence[Verdict] | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Verdicts (records or their dicts) as a table with the :class:`Verdict` fields as columns."""
    rows = [asdict(v) if isinstance(v, Verdict) else dict(v) for v in vs]
    return pd.DataFrame(rows, columns=list(Verdict.__dataclass_fields__))


def load_for(profile: str, expected: Mapping[str, tuple[Any, Sequence[str]]]) -> tuple[pd.DataFrame, list[str]]:
    """The stored verdicts of each chapter in ``expected`` (chapter -> (its parameters, the hashes of the
    runs its plan has for them)), sorted by chapter and claim id, and a list of problems, one line each:
    a chapter with no verdicts stored for these parameters (naming the claims stored under others; a damaged
    file is set aside and counts as none, :func:`read_record`), or with verdicts computed from other runs or
    by another version of this toolkit (stale)."""
    rows, problems = [], []
    for chapter, (params, planned) in expected.items():
        f = chapter_file(profile, chapter, params)
        damaged = f.exists()
        rec = read_record(f)
        if rec is None:
            others = [read_record(p) for p in sorted((_dir(profile) / chapter).glob("*.json")) if p != f]
            names = sorted({v["claim_id"] for r in others if r for v in r["verdicts"]})
            problems.append(f"chapter {chapter}: no verdicts stored for these parameters"
                            + (" (the file was damaged and set aside)" if damaged else "")
                            + (f" (missing: {', '.join(names)})" if names else " (run the chapter first)"))
            continue
        stale = []
        if rec.get("version") != VERDICT_VERSION:
            stale.append(f"computed by verdict version {rec.get('version')}, now {VERDICT_VERSION}")
        if sorted(set(planned)) != rec.get("run_hashes"):
            stale.append("computed from other runs than the chapter's plan now lists")
        if stale:
            problems.append(f"chapter {chapter}: stale verdicts ({'; '.join(stale)}); rerun the chapter: "
                            + ", ".join(v["claim_id"] for v in rec["verdicts"]))
            continue
        rows += rec["verdicts"]
    df = frame(rows)
    return df.sort_values(["chapter", "claim_id"], ignore_index=True), problems


def load_all(profile: str) -> pd.DataFrame:
    """Every verdict stored for ``profile`` under any parameters, with the chapter's ``params_key`` (damaged
    files are set aside and skipped, :func:`read_record`)."""
    return load_folder(_dir(profile))


def load_folder(folder: Path) -> pd.DataFrame:
    """Every verdict stored under ``folder`` (a profile's verdict folder, ``<runs>/verdicts/<profile>``, or a
    copy of one), with the chapter's ``params_key``; damaged files are set aside and skipped."""
    out = []
    for f in sorted(Path(folder).glob("*/*.json")):
        rec = read_record(f)
        if rec is None:  # damaged: set aside
            continue
        out.append(frame(rec["verdicts"]).assign(params_key=rec["params_key"]))
    if not out:
        return frame([]).assign(params_key=pd.Series(dtype=object))
    return pd.concat(out, ignore_index=True).sort_values(["chapter", "claim_id"], ignore_index=True)


def seeds_of(test: Mapping[str, Any] | None) -> int | None:
    """The number of seeds (pairs) a verdict's test used, or None for a claim not measured."""
    n = (test or {}).get("n")
    return None if n is None else int(n)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two sets of verdicts for the same claims (say 3 seeds, then 5): a count table (one row per verdict,
    columns ``before`` and ``after``) and the claims whose verdict changed (claim, chapter, each verdict with
    its interval and seeds). Claims in only one set are listed as changed, from or to "absent"."""
    def keyed(v: pd.DataFrame) -> pd.DataFrame:
        twice = sorted(set(v["claim_id"][v["claim_id"].duplicated()])) if len(v) else []
        if twice:
            raise ValueError(f"claims {twice[:5]} appear more than once (verdicts stored under several parameter "
                             "sets); compare folders that hold one parameter set per chapter")
        if not len(v):
            return pd.DataFrame(columns=["chapter", "verdict", "interval", "seeds", "needed"],
                                index=pd.Index([], name="claim_id"))
        return pd.DataFrame({"chapter": v["chapter"].astype(str).values, "verdict": v["verdict"].values,
                             "interval": [interval_text(t) if t else "" for t in v["test"]],
                             "seeds": [seeds_of(t) for t in v["test"]],
                             "needed": [(t or {}).get("seeds_needed") for t in v["test"]]},
                            index=pd.Index(v["claim_id"].values, name="claim_id"))
    b, a = keyed(before), keyed(after)
    counts = pd.DataFrame({"before": b["verdict"].value_counts(), "after": a["verdict"].value_counts()})
    counts = counts.reindex([x for x in VERDICTS if x in counts.index]).fillna(0).astype(int)
    both = b.add_suffix("_before").join(a.add_suffix("_after"), how="outer")
    both["verdict_before"] = both["verdict_before"].fillna("absent")
    both["verdict_after"] = both["verdict_after"].fillna("absent")
    both["chapter"] = both["chapter_before"].fillna(both["chapter_after"])
    for col in ("interval_before", "interval_after"):
        both[col] = both[col].fillna("")
    changed = both[both["verdict_before"] != both["verdict_after"]]
    cols = ["chapter", "verdict_before", "interval_before", "seeds_before", "needed_before", "verdict_after",
            "interval_after", "seeds_after"]
    return counts, changed[cols].sort_values(["chapter"]).reset_index()


def power_check(before: pd.DataFrame, after: pd.DataFrame, seeds: int) -> tuple[int, int]:
    """Of the claims inconclusive in ``before`` whose test said at most ``seeds`` seeds would decide them
    (``seeds_needed``, :func:`lib.chapters.seed_tests.seeds_needed`) and that ``after`` tested over at least
    ``seeds`` seeds, how many there are and how many ``after`` decided (held or not held): a check of the
    book's own power forecast."""
    b = {r.claim_id: r.test for r in before.itertuples()}
    a = {r.claim_id: (r.verdict, seeds_of(r.test) or 0) for r in after.itertuples()}
    named = [c for c, t in b.items() if (t or {}).get("verdict") == INCONCLUSIVE
             and (t or {}).get("seeds_needed") is not None and t["seeds_needed"] <= seeds
             and c in a and a[c][1] >= seeds]
    return len(named), sum(a[c][0] in (HELD, NOT_HELD) for c in named)


def combine(verdicts: Sequence[str]) -> str:
    """Several claims' verdicts bearing on one conclusion, as one phrase: the verdict when all agree
    ("held", or "held (3 of 3)"), else "mixed: 2 held, 1 inconclusive"."""
    v = list(verdicts)
    counts = {k: v.count(k) for k in VERDICTS if v.count(k)}
    if len(counts) == 1:
        (k, n), = counts.items()
        return k if n == 1 else f"{k} ({n} of {n})"
    return "mixed: " + ", ".join(f"{n} {k}" for k, n in counts.items())


#: Background of a verdict cell by kind: light tints of the Okabe-Ito blue and vermillion for held and
#: not held, grey for inconclusive, light yellow for not measured; the text says the verdict too, so the
#: colour only helps the eye find it.
BADGE_COLORS = {HELD: "#cfe3f3", NOT_HELD: "#f6d3bf", INCONCLUSIVE: "#e6e6e6", NOT_MEASURED: "#fbf0c0"}


def badge_css(shown: str) -> str:
    """CSS for a table cell holding a verdict as shown (``"held"``, ``"inconclusive (≈12 seeds)"``, ...):
    the background of its kind (:data:`BADGE_COLORS`, matched on the start of the text), bold; ``""``
    for text that is no verdict."""
    kind = next((k for k in sorted(VERDICTS, key=len, reverse=True) if str(shown).startswith(k)), None)
    return "" if kind is None else f"background-color: {BADGE_COLORS[kind]}; font-weight: 600; border-radius: 4px"


def with_badges(styler: "pd.io.formats.style.Styler", column: str = "verdict") -> "pd.io.formats.style.Styler":
    """``styler`` with every cell of ``column`` coloured by :func:`badge_css`."""
    return styler.map(badge_css, subset=[column])


def table(vs: list[Verdict], *, by: str = "claim_id") -> "pd.io.formats.style.Styler":
    """A chapter's verdicts for display: the claim (its id, its text with ``by="claim"``, or both with
    ``by="both"``), the thesis's statement, ours (with the verdict's note), the result that would make it
    not held, the paired difference with its interval and the number of seeds, the verdict (an
    inconclusive one with the seeds it would need), the scale it was measured at and the deciding figure;
    full text, no index."""
    heads = {"claim_id": {"claim": "claim_id"}, "claim": {"claim": "claim"},
             "both": {"claim id": "claim_id", "claim": "claim"}}
    if by not in heads:
        raise ValueError(f"by must be one of {', '.join(map(repr, heads))}, got {by!r}")
    rows = []
    for v in vs:
        row = {c: getattr(v, f) for c, f in heads[by].items()}
        row.update({"thesis": v.thesis, "ours": v.ours + (f" Note: {v.note}" if v.note else ""),
                    "not held if": v.fails_if, "difference [95 % CI]": v.interval,
                    "verdict": v.shown, "scale": v.scale, "decided by": v.figure})
        rows.append(row)
    cols = [*heads[by], "thesis", "ours", "not held if", "difference [95 % CI]", "verdict", "scale", "decided by"]
    df = pd.DataFrame(rows, columns=cols)
    return with_badges(df.style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"}))
