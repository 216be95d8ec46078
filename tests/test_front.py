"""The intro's first screen and the Status page (:mod:`lib.book.front`, :mod:`lib.book.status`): verdict counts
that add up per chapter and per conclusion on made-up verdict sets of known counts, a not-held verdict far from
the thesis's regime kept apart from one that contradicts it, chapters without verdicts named, the scale table
computed from the run cache and the thesis's numbers, figure links by anchor, and no internal words (issue
numbers, commit hashes, code names) on the intro or the Status page."""
from __future__ import annotations

import json
import random
import re

import pytest

from lib import paths, runs
from lib.book import execute, front, status
from lib.chapters import ch07_conclusions as ch7
from lib.chapters import registry, thesis
from lib.chapters import seed_tests as st
from lib.chapters import verdicts as vd
from lib.chapters.conclusions_tables import KEYS
from lib.chapters.seed_tests import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURED
from lib.chapters.verdicts import Verdict
from lib.config import config_hash
from lib.paths import ROOT
from lib.plan import configs

BASE = st.paired([1.0, 2.0, 3.5], [0.0, 0.5, 1.0])
FAR_SCALE = "ResNet test acc 0.28 (thesis 0.90)"      # 0.31 of the thesis's: far from its regime
NEAR_SCALE = "MLP test acc 0.50 (thesis 0.52)"        # near it


def _v(cid: str, verdict: str, conclusion: str = "", bears: str = "for", scale: str = "") -> Verdict:
    test = {} if verdict == NOT_MEASURED else {**BASE, "verdict": verdict, "p": 0.5, "key": f"key-{cid}",
                                               "seeds_needed": None, "needed_for": None}
    return Verdict(cid, cid.split("-")[0].zfill(2), "a claim", "thesis", "ours", verdict, "Figure 9.9", test, scale,
                   "it fails if so", conclusion, bears)


def _results(vs, problems=()) -> ch7.Results:
    return ch7.gather(vd.frame(list(vs)), list(problems))


KNOWN = [_v("2-a", HELD, "C1"), _v("2-b", INCONCLUSIVE, ""), _v("3-c", NOT_HELD, "C3", "against", FAR_SCALE),
         _v("3-d", HELD, ""), _v("4-e", NOT_MEASURED, "C4"), _v("5-f", NOT_HELD, "C6", scale=NEAR_SCALE),
         _v("6-g", NOT_HELD, "", scale=FAR_SCALE), _v("8-h", HELD, ""), _v("8-i", INCONCLUSIVE, ""),
         _v("9-j", NOT_HELD, ""), _v("9-k", HELD, "C8")]


def test_counts_per_chapter_and_per_conclusion_on_a_known_set():
    v = front.with_kinds(_results(KNOWN).verdicts)
    per = front.chapter_counts(v, ch7.SOURCES).set_index("chapter")
    assert list(per.index) == [*ch7.SOURCES, "all"]
    assert per.loc["all", "total"] == 11 == per["total"].iloc[:-1].sum()
    assert per.loc["all", HELD] == 4 and per.loc["all", INCONCLUSIVE] == 2 and per.loc["all", NOT_MEASURED] == 1
    # 4 not held: two on networks far from the thesis's accuracy, two that contradict it
    assert per.loc["all", front.NOT_HELD_FAR] == 2 and per.loc["all", front.NOT_HELD_CONTRA] == 2
    assert per.loc["03", front.NOT_HELD_FAR] == 1 and per.loc["05", front.NOT_HELD_CONTRA] == 1
    assert per.loc["09", front.NOT_HELD_CONTRA] == 1  # no reference accuracy: counted as contradicting
    con = front.conclusion_counts(v).set_index("row")
    assert list(con.index) == [*KEYS, front.SIDE, front.OPEN, "all"]
    assert con.loc[front.SIDE, "total"] == 3 and con.loc[front.OPEN, "total"] == 3  # 2-b, 3-d, 6-g; 8-h, 8-i, 9-j
    assert con["total"].iloc[:-1].sum() == con.loc["all", "total"] == 11
    for k in front.KINDS:
        assert con[k].iloc[:-1].sum() == con.loc["all", k] == per.loc["all", k], k
    assert con.loc["C2", "combined"] == "no claim stored" and con.loc["C3", "combined"] == "against it: 1 not held"
    text = front.found_sentence(per.loc["all"].to_dict())
    assert text == ("**11 verdicts**: **4 held**; **4 not held** (2 contradict the thesis, 2 far from its regime); "
                    "2 inconclusive; 1 not measured at this scale")


@pytest.mark.parametrize("seed", range(5))
def test_rows_sum_to_the_total_on_random_sets(seed):
    rng = random.Random(seed)
    chapters = ["2", "3", "4", "5", "6", "8", "9"]
    vs = []
    for i in range(rng.randint(1, 80)):
        verdict = rng.choice(st.VERDICTS)
        vs.append(_v(f"{rng.choice(chapters)}-c{i}", verdict, rng.choice(["", *KEYS]), rng.choice(vd.BEARS),
                     rng.choice(["", FAR_SCALE, NEAR_SCALE])))
    v = front.with_kinds(_results(vs).verdicts)
    per, con = front.chapter_counts(v, ch7.SOURCES), front.conclusion_counts(v)
    for t in (per, con):
        body, total = t.iloc[:-1], t.iloc[-1]
        assert body["total"].sum() == total["total"] == len(vs)
        assert all(body[k].sum() == total[k] for k in front.KINDS)
        assert (body[list(front.KINDS)].sum(axis=1) == body["total"]).all()
    assert (per.iloc[-1][list(front.KINDS)] == con.iloc[-1][list(front.KINDS)]).all()
    assert con.iloc[-1][front.NOT_HELD_FAR] + con.iloc[-1][front.NOT_HELD_CONTRA] == sum(x.verdict == NOT_HELD for x in vs)


def test_the_rendered_tables_add_up_and_link_figures_by_anchor(monkeypatch):
    monkeypatch.setattr(front, "staged_ids", lambda chapter: {"fig-5-1-global", "fig-5-1-layer", "fig-5-2"}
                        if chapter == "05" else set())
    r = _results(KNOWN)
    page = front.first_screen("smoke", r, [])
    chapter_rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ")}
    cells = [int(x) for x in chapter_rows["**total**"].split("|")[2:-1]]
    assert cells[-1] == 11 == sum(cells[:-1])
    con = [line for line in page.splitlines() if line.startswith("| C") or "Side checks" in line or "Open questions" in line]
    assert len(con) == 10 and sum(int(line.split("|")[-4]) for line in con) == 11
    assert '<a href="chapters/02_coherence.html#fig-2-1">2.1</a>' in page and "#fig-2-4" in page
    assert '<a href="chapters/07_conclusions.html#the-conclusions-of-section-7-1">chapter 7</a>' in page
    assert front.figure_numbers("Figures 5.1-5.3") == ["5.1", "5.2", "5.3"] and front.figure_anchor("4.3") == "fig-4-3"
    assert front.figure_numbers("Tables 6.1, 6.2") == []
    # a figure shown once per mask scope: its first part; a page not staged: the convention
    assert '<a href="chapters/05_pruning_mlp.html#fig-5-1-global">5.1</a>' in page and "#fig-5-2\">" in page
    assert front.resolve_anchor("fig-5-3", set()) == "fig-5-3"
    assert front.resolve_anchor("fig-5-1", {"fig-5-1", "fig-5-1-layer"}) == "fig-5-1"


def test_chapters_without_verdicts_are_named_not_fatal():
    problems = ["chapter 05: no verdicts stored for these parameters (run the chapter first)",
                "chapter 06: stale verdicts (computed from other runs than the chapter's plan now lists); rerun: x"]
    page = front.first_screen("smoke", _results(KNOWN[:2], problems), [])
    assert "chapter 5 has not been built at this profile yet" in page
    assert "the verdicts of chapter 6 were computed from other runs" in page
    total = next(line for line in page.splitlines() if line.startswith("| **total**"))
    assert total.split("|")[5].strip() == "–" and total.split("|")[-2].strip() == "2"
    empty = front.first_screen("smoke", _results([], problems), [])
    assert "No verdict is stored yet" in empty and "chapter 5 has not been built" in empty


def _cache(cfg, test_acc: float) -> None:
    """A finished-looking run of ``cfg`` whose last epoch has ``test_acc``."""
    d = paths.run_dir(config_hash(cfg))
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text(f"epoch,test_acc\n0,0.1\n{cfg.epochs},{test_acc}\n")
    (d / "model.pt").write_bytes(b"")
    (d / "config.json").write_text(json.dumps(runs.config_dict(cfg, non_default_only=False)))
    runs.write_manifest(d)


@pytest.mark.usefixtures("run_cache", "stand_in_fingerprint")
def test_the_scale_is_read_from_the_runs_and_the_thesis(monkeypatch):
    assert [r.acc for r in front.scale_rows("smoke")] == [None, None, None]  # nothing trained: said, not invented
    mod = registry.module("02")
    s = mod.setup(profile="smoke")
    real = [c for c in configs(mod.plan(s)) if c.data.dataset == "cifar10" and c.init_from is None]
    resnets = [c for c in real if c.model.arch == s.profile.arch_cnn]
    for c, acc in zip(resnets, (0.25, 0.31)):
        _cache(c, acc)
    rows = {r.family: r for r in front.scale_rows("smoke")}
    assert rows["ResNet"].acc == pytest.approx(0.28) and rows["ResNet"].runs_found == 2
    assert rows["ResNet"].thesis_acc == thesis.PRUNE_TABLES[("resnet", "global")]["none"][1]
    assert rows["ResNet"].n_train == resnets[0].data.n_train and rows["ResNet"].epochs == resnets[0].epochs
    assert rows["ResNet"].thesis_epochs == 300 and rows["ResNet"].seeds == len(s.seeds)
    assert rows["ViT"].acc is None and rows["MLP"].thesis_acc is None
    table = front.scale_table(list(rows.values()), "smoke").splitlines()
    assert table[0] == "| profile `smoke` | ResNet `resnet_small` | ViT `vit_tiny` | MLPs, widths 16-32 (thesis up to 2,800) |"
    acc = next(x for x in table if x.startswith("| test accuracy"))
    assert acc.split(" | ")[1:3] == ["**0.28** (thesis 0.90)", "not trained yet (thesis 0.78)"]
    images = next(x for x in table if x.startswith("| training images"))
    assert images.split(" | ")[1] == f"{resnets[0].data.n_train:,d} (thesis 50,000)"
    # the thesis's number comes from lib.chapters.thesis, not from the page's text
    monkeypatch.setitem(thesis.PRUNE_TABLES, ("resnet", "global"), {"none": (1.0, 0.42)})
    assert "(thesis 0.42)" in front.scale_table(front.scale_rows("smoke"))


# ------------------------------------------------------------------------------------------ internal words
#: Words a reader should not meet: issue numbers, commit hashes, code names in prose.
INTERNAL = [re.compile(r"\bissues?\s*#?\d+", re.I), re.compile(r"(?<![\w/.-])#\d+\b"),
            re.compile(r"\bcommit\b", re.I),
            re.compile(r"(?<![\w#-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![\w-])"),
            re.compile(r"\blib\.\w|\w\.py\b(?!`)|\b\w+_\w+\(")]


def internal_words(text: str, allowed_columns: tuple[str, ...] = ()) -> list[str]:
    """The internal words in ``text`` (outside the table columns headed ``allowed_columns``)."""
    found, allowed = [], set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("|") and any(h in cells for h in allowed_columns):
            allowed = {i for i, c in enumerate(cells) if c in allowed_columns}
        elif not line.startswith("|"):
            allowed = set()
        if line.startswith("|"):
            line = "|".join(c for i, c in enumerate(line.split("|")) if i not in allowed)
        found += [m.group(0) for rx in INTERNAL for m in rx.finditer(line)]
    return found


def test_the_internal_words_check_catches_them():
    assert internal_words("as issue 14 asked") and internal_words("at commit `f92499e`")
    assert internal_words("see issues 14 and 15") and internal_words("done in a0c6e93.")
    assert internal_words("| version |\n|---|\n| `f92499e` |") and not internal_words(
        "| version |\n|---|\n| `f92499e` |", ("version",))
    assert not internal_words("1,000 images, 10 epochs, 0.28 (thesis 0.90), Fig. 2.1, fig-2-1, 2026-12-02")


@pytest.mark.usefixtures("run_cache", "stand_in_fingerprint")
def test_no_internal_words_on_the_intro(tmp_path, monkeypatch):
    r = _results(KNOWN, ["chapter 05: no verdicts stored for these parameters (run the chapter first)"])
    monkeypatch.setattr(ch7, "results", lambda setup: r)
    monkeypatch.setattr(execute, "STAGE", tmp_path)
    (tmp_path / "intro.md").write_text((ROOT / "intro.md").read_text())
    assert execute.write_headline("smoke")
    page = (tmp_path / "intro.md").read_text()
    assert execute.HEADLINE_MARKER not in page and execute.TIMES_MARKER not in page
    # links and HTML attributes are not prose
    prose = re.sub(r"\]\([^)]*\)|href=\"[^\"]*\"", "", page)
    assert internal_words(prose) == []
    head = page.split("## The thesis")[0]
    for shown in ("The scale of this copy", "test accuracy", "training images", "epochs", "seeds",
                  "verdicts, per chapter", "not held, far from its regime", "not held, contradicts the thesis", "## What the reproduction found, per conclusion"):
        assert shown in head, shown


def test_no_internal_words_on_the_status_page():
    records = {"02": {"profile": "cpu", "seconds": 580.0, "date": "2026-12-07 12:00", "result": "ok",
                      "parameters": {"profile": "cpu"}, "source_sha": "0123456789abcdef", "machine": "Linux x86_64, 2 CPUs",
                      "runs_trained": 18, "runs_cached": 0},
               "03": {"profile": "cpu", "seconds": None, "date": "2026-12-07 12:10", "result": "failed",
                      "error": "chapter 03 (03_diffs.ipynb) failed in cell 4 (execution count 4): ValueError: x\nTrace",
                      "parameters": {"profile": "cpu"}, "source_sha": "fedcba9876543210", "machine": "m"}}
    md = status.status_markdown(records, {}, {"02": "0123456789abcdef", "03": "x"}, "2026-12-07 12:30 UTC",
                                None, status.measured_builds(), executed={"03"},
                                previous={"state": "failed", "step": "executing chapters", "started": "s",
                                          "reason": "chapter 09 failed\nmore", "pid": 1, "host": "h"})
    prose = re.sub(r"\]\([^)]*\)", "", md)
    prose = re.sub(r"`\w+\.ipynb`|\(\d\d_\w+\.ipynb\)|`python scripts/build_book\.py[^`]*`", "", prose)
    assert internal_words(prose, ("code version",)) == []
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| [")}
    two = next(v for k, v in rows.items() if k.startswith("[2."))
    three = next(v for k, v in rows.items() if k.startswith("[3."))
    assert two[:6] == ["reused", "cpu", "9.7 min", "18", "0", "2026-12-07 12:00"]
    assert three[0] == "executed" and three[6].startswith("failed: chapter 03")
    assert "The build before this one (started s UTC) ended as *failed* while executing chapters: chapter 09 failed." in md
    assert "## A whole build from an empty run cache" in md and "| code version |" in md
    # one measured build, the latest: no history of earlier ones
    builds = json.loads(status.MEASURED_BUILDS.read_text())["builds"]
    assert md.count("| measured (UTC date) |") == 1 and f"**{builds[-1]['total']:.1f}**" in md
    assert all(b["commit"] not in md for b in builds[:-1] if b["commit"] != builds[-1]["commit"])


def test_the_conclusions_section_link_matches_chapter_7s_heading():
    import nbformat

    nb = nbformat.read(ROOT / "chapters" / f"{registry.get('07').stem}.ipynb", as_version=4)
    headings = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    slugs = [re.sub(r"[^a-z0-9]+", "-", h.lower()).strip("-") for h in headings]
    assert front.CONCLUSIONS_SECTION in slugs


def test_the_gathering_chapter_is_stale_when_its_sources_ran_after_it():
    rec = {"profile": "smoke", "seconds": 1.0, "result": "ok", "parameters": {"profile": "smoke"}, "machine": "m"}
    records = {"02": {**rec, "date": "2026-12-07 13:09"}, "07": {**rec, "date": "2026-12-07 13:03"},
               "08": {**rec, "date": "2026-12-07 13:01"}}
    md = status.status_markdown(records, {}, {}, "now", executed={"02"})
    row = next(line for line in md.splitlines() if line.startswith("| [7."))
    assert "stale: chapter 2 ran again after it" in row
    records["07"]["date"] = "2026-12-07 13:10"
    row = next(line for line in status.status_markdown(records, {}, {}, "now").splitlines() if line.startswith("| [7."))
    assert "| ok |" in row
