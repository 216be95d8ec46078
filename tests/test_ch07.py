"""Chapter 7 (the conclusions) on hand-made verdicts: grouping by each claim's ``conclusion`` field, contrary
claims shown and counted against their conclusion, counts that add up, the Holm-adjusted verdicts and the
count chance alone would give, claims computed from the same numbers (and the build check that fails on
them), the description of how verdicts are made, and the design sentences read from the chapters."""
from __future__ import annotations

import ast
import dataclasses
import json
import types
from pathlib import Path

import pandas as pd
import pytest

from lib import profiles
from lib.plan import Planned
from lib.book import checks
from lib.chapters import ch07_conclusions as ch7
from lib.chapters import conclusions_design, conclusions_tables as ct
from lib.chapters import conclusions_text as cx
from lib.chapters import registry
from lib.chapters import seed_tests as st
from lib.chapters import verdicts as vd
from lib.chapters.seed_tests import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURED
from lib.chapters.verdicts import Verdict

SMOKE = ch7.setup(profile="smoke")


def _v(cid: str, verdict: str, conclusion: str = "", bears: str = "for", test: dict | None = None,
       figure: str = "Figure 9.9", claim: str = "a claim", scale: str = "") -> Verdict:
    """A stored verdict of chapter ``cid``'s leading number, with ``test`` (default: a test of that verdict
    and p-value 0.5, with a key of its own)."""
    if test is None:
        test = {} if verdict == NOT_MEASURED else _p(verdict, 0.5, f"key-{cid}")
    return Verdict(cid, cid.split("-")[0].zfill(2), claim, "thesis", f"numbers of {cid}", verdict, figure, test, scale,
                   "it fails if so", conclusion, bears)


#: A real test's fields (a paired test over three seeds), for hand-made tests that set their own verdict and p.
BASE = st.paired([1.0, 2.0, 3.5], [0.0, 0.5, 1.0])


def _p(verdict: str, p: float, key: str) -> dict:
    """A hand-made test over three seeds with ``verdict``, p-value ``p`` and data fingerprint ``key``."""
    return {**BASE, "verdict": verdict, "p": p, "key": key, "seeds_needed": None, "needed_for": None}


def gathered(*vs: Verdict, **kw) -> ch7.Results:
    return ch7.gather(vd.frame(list(vs)), **kw)


# ------------------------------------------------------------------------------------------ grouping
def test_grouping_reads_the_conclusion_field_not_the_id_figure_or_words():
    r = gathered(
        # the id, figure and wording all point at C4 (the old patterns); the field says C3
        _v("4-coherence-grows-with-width", HELD, "C3", figure="Figure 4.3", claim="max coherence grows with width"),
        # wording of C8, no field: its chapter's question
        _v("5-magnitude-beats-diff", HELD, "", figure="Figure 5.1", claim="magnitude pruning beats diff pruning"),
        _v("8-train-coherence-grows-with-width", NOT_HELD, "C4"))
    assert list(r.verdicts["group"]) == ["C3", "chapter 05", "C4"]
    claims = r.claims.set_index("")
    said = dict(line[4:].split(".** ", 1) for line in cx.conclusion_sentences(r.verdicts).splitlines())
    assert claims.loc["C3", "claims"] == "1" and said["C3"].startswith("1 of 1 claim held (`4-coherence-grows-with")
    assert claims.loc["C3", "verdict"] == HELD
    assert claims.loc["C4", "verdict"] == NOT_HELD and "`8-train-coherence-grows-with-width`" in said["C4"]
    assert claims.loc["C8", "verdict"] == NOT_MEASURED and claims.loc["C8", "claims"] == "0"
    assert said["C8"] == "No claim measured at this profile bears on it."
    # the chapter whose claim names the conclusion is linked beside the thesis's figures
    assert "[chapter 8](08_what_diffs_measure.ipynb)" in claims.loc["C4", "decided in"]
    assert "[Figure 4.3](04_width.ipynb)" in claims.loc["C4", "decided in"]
    for gone in ("EXPLICIT", "assign", "figures_named"):
        assert not hasattr(ch7, gone), gone


def test_contrary_claims_are_shown_and_counted_against_their_conclusion():
    r = gathered(_v("5-magnitude-beats-diff-global", HELD, "C8"), _v("6-resnet-diff-beats-random-layer", HELD, "C8"),
                 _v("6-vit-magnitude-best-wins-global", HELD, "C8", "against"),
                 _v("6-vit-diff-wins-global", INCONCLUSIVE, "C8", "against"))
    row = r.claims.set_index("").loc["C8"]
    assert row["verdict"] == "held (2 of 2); against it: 1 held, 1 inconclusive" and row["claims"] == "4 (2 against)"
    said = cx.conclusion_sentences(r.verdicts).splitlines()[-1]
    assert said.startswith("* **C8.** 2 of 2 claims for it held (`5-magnitude-beats-diff-global` and "
                           "`6-resnet-diff-beats-random-layer`). 1 of 2 claims against it held "
                           "(`6-vit-magnitude-best-wins-global`); 1 is inconclusive: the interval contains zero at 3 "
                           "seeds")
    six = r.verdicts[r.verdicts["chapter"] == "06"]
    table = cx.chapter_table(six)[0].assign(id=list(six["claim_id"])).set_index("id")
    assert table.loc["6-vit-magnitude-best-wins-global", "conclusion"] == "C8, against"
    assert table.loc["6-resnet-diff-beats-random-layer", "conclusion"] == "C8"
    line = next(x for x in ch7.headline_markdown(SMOKE, r).splitlines() if x.startswith("| C8 |"))
    assert "held (2 of 2); against it: 1 held, 1 inconclusive" in line
    assert ct.group_counts(r.verdicts).set_index("group").loc["C8", "of them against"] == 2
    # only contrary claims: the verdict says so rather than "held"
    only = gathered(_v("6-vit-magnitude-best-wins-global", HELD, "C8", "against"))
    assert only.claims.set_index("").loc["C8", "verdict"] == "against it: 1 held"


def test_every_verdict_is_counted_once_and_the_counts_reconcile():
    vs = [_v("2-a", HELD, "C1"), _v("2-b", INCONCLUSIVE, ""), _v("3-c", NOT_HELD, "C3", "against"),
          _v("3-d", HELD, ""), _v("4-e", NOT_MEASURED, "C4"), _v("8-f", HELD, ""), _v("8-g", INCONCLUSIVE, ""),
          _v("9-h", NOT_HELD, ""), _v("9-i", HELD, "C8")]
    r = gathered(*vs)
    g = ct.group_counts(r.verdicts).set_index("group")
    assert list(g.index) == ["C1", "C3", "C4", "C8", "chapter 02", "chapter 03", "chapter 08", "chapter 09", "all"]
    assert g.loc["all", "total"] == len(vs) == g["total"].iloc[:-1].sum()
    for k in st.VERDICTS:
        assert g.loc["all", k] == sum(v.verdict == k for v in vs)
    assert g.loc["all", "of them against"] == 1
    assert "open question of section 7.2" in g.loc["chapter 08", "bears on"]
    assert g.loc["chapter 02", "bears on"] == "a side check of its chapter"
    other = ct.other_table(r.verdicts).set_index("question")
    assert list(other["claims"]) == [1, 1, 2, 1] and other["claims"].sum() == 5  # counts, no list of ids
    assert other.loc[ct.question_of("08"), "verdicts"] == "1 held, 1 inconclusive"
    text = ch7.headline_markdown(SMOKE, r, prefix="")
    assert "Of the 9 verdicts, 4 bear on the eight conclusions (1 of them against)" in text
    assert "3 answer the open questions of section 7.2" in text and "2 are side checks" in text
    assert text.rstrip().endswith("4 + 3 + 2 = 9.")


def test_unknown_conclusion_keys_and_pooled_tests_are_problems():
    r = gathered(_v("2-a", HELD, "C9"), _v("4-b", HELD, "C4", test=_p(HELD, 0.01, "k1") | {"n": 12}),
                 _v("5-c", HELD, "C6"), seeds={"04": 3, "05": 3})
    assert r.verdicts.set_index("claim_id").loc["2-a", "group"] == "C9"
    assert r.design_problems[0].startswith("`2-a` names conclusion 'C9', which is not one of C1")
    assert r.design_problems[1] == ("`4-b` (chapter 4) was tested on n = 12 values, but its chapter has 3 seeds: "
                                    "values of one seed counted as independent")
    assert len(r.design_problems) == 2
    assert "`4-b` (chapter 4) was tested on n = 12" in ch7.problems(SMOKE, r)


# ------------------------------------------------------------------------------------------ multiplicity
def test_holm_column_on_constructed_p_values():
    r = gathered(_v("2-a", HELD, "C1", test=_p(HELD, 0.001, "a")), _v("3-b", HELD, "C2", test=_p(HELD, 0.02, "b")),
                 _v("4-c", NOT_HELD, "C4", test=_p(NOT_HELD, 0.04, "c")),
                 _v("5-d", INCONCLUSIVE, "C6", test=_p(INCONCLUSIVE, 0.3, "d")), _v("5-e", NOT_MEASURED, "C7"))
    # Holm over the 4 measured claims: 0.001 <= 0.05/4 survives; 0.02 > 0.05/3 stops the procedure
    assert list(r.verdicts["holm"]) == [HELD, INCONCLUSIVE, INCONCLUSIVE, INCONCLUSIVE, NOT_MEASURED]
    rows = [cx.chapter_table(r.verdicts[r.verdicts["chapter"] == k])[0] for k in ("02", "03", "04", "05")]
    shown = pd.concat(rows, ignore_index=True).map(cx.visible)
    assert list(shown["holm"]) == list(r.verdicts["holm"]) and shown.loc[1, "verdict"] == HELD
    claims = r.claims.set_index("")
    assert claims.loc["C2", "verdict"] == HELD and claims.loc["C2", "after Holm"] == INCONCLUSIVE
    text = ch7.headline_markdown(SMOKE, r)
    assert "After Holm's correction over the 4 tested claims (family-wise error 5 %): **1 held, 0 not held**" in text
    assert "**3 are decisive** (2 held, 1 not held)" in text
    assert next(x for x in text.splitlines() if x.startswith("| C2 |")).split(" | ")[2:4] == [HELD, INCONCLUSIVE]
    summary = ch7.summary(SMOKE, r).data.set_index("")["count"]
    assert summary["held after Holm"] == 1 and summary["not held after Holm"] == 0


def test_chance_count_is_claims_times_alpha():
    vs = [_v(f"2-c{i}", INCONCLUSIVE, "C1") for i in range(30)] + [_v("2-nm", NOT_MEASURED, "C1")]
    vs[0] = _v("2-c0", HELD, "C1", test=_p(HELD, 1e-6, "x"))
    r = gathered(*vs)
    assert r.tested == 30 and ct.decisive(r.verdicts) == 1
    text = ch7.multiplicity(SMOKE, r)
    assert f"about {30 * st.ALPHA:.1f} of them decisive (30 claims × α = {st.ALPHA:g})" in text
    assert "**30 claims were tested** at profile `smoke`" in text and "**1 are decisive**" in text
    assert text in ch7.headline_markdown(SMOKE, r) and text in ch7.headline(SMOKE, r)
    summary = ch7.summary(SMOKE, r).data.set_index("")["count"]
    assert summary["claims tested (measured)"] == 30
    assert summary[f"decisive by chance alone with no effect (claims × {st.ALPHA:g})"] == f"{30 * st.ALPHA:.1f}"


# ------------------------------------------------------------------------------------------ one question, one claim
def test_duplicate_tests_finds_claims_computed_from_the_same_numbers():
    same_a = st.paired([1.0, 2.0, 3.1], [0.0, 0.5, 1.0])
    same_b = st.paired([1.0, 2.0, 3.1], [0.0, 0.5, 1.0], claim="less")  # the same numbers, asked the other way
    other = st.paired([1.0, 2.0, 3.2], [0.0, 0.5, 1.0])
    empty = st.paired([float("nan")] * 3, [0.0] * 3)  # no data: no fingerprint to share
    frame = vd.frame([_v("4-coherence-grows-with-width", same_a["verdict"], "C4", test=same_a),
                      _v("8-train-coherence-grows-with-width", same_b["verdict"], "C4", test=same_b),
                      _v("4-other", other["verdict"], "C4", test=other),
                      _v("2-nothing", empty["verdict"], "C1", test=empty),
                      _v("3-nothing", empty["verdict"], "C2", test=empty),
                      _v("5-not-measured", NOT_MEASURED, "C6")])
    found = ch7.duplicate_tests(frame)
    assert found == [f"`4-coherence-grows-with-width` and `8-train-coherence-grows-with-width` test the same numbers "
                     f"(data key {same_a['key']})"]
    assert ch7.duplicate_tests(frame[frame["claim_id"] != "8-train-coherence-grows-with-width"]) == []
    r = ch7.gather(frame)
    assert r.duplicates == tuple(found)
    assert "One question, two claims" in ch7.problems(SMOKE, r) and "the build fails" in ch7.problems(SMOKE, r)
    assert "**1 pair(s) of claims test the same numbers**" in ch7.headline_markdown(SMOKE, r)


def test_duplicate_tests_on_trend_fingerprints():
    df = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "width": [1, 2] * 3, "value": [1.0, 2.0, 1.5, 2.1, 0.9, 2.5]})
    t1, t2 = st.trend(df, x="width", value="value"), st.trend(df, x="width", value="value", claim="less")
    t3 = st.trend(df.assign(value=df["value"] * 2), x="width", value="value")
    frame = vd.frame([_v("4-a", t1["verdict"], test=t1), _v("8-b", t2["verdict"], test=t2),
                      _v("8-c", t3["verdict"], test=t3)])
    assert [d.split(" test ")[0] for d in ch7.duplicate_tests(frame)] == ["`4-a` and `8-b`"]


def test_the_build_fails_on_duplicate_claims(monkeypatch):
    t = _p(HELD, 0.01, "same")
    dup = ch7.gather(vd.frame([_v("6-resnet-coherence-best-above-worst-global", HELD, "C8", test=t),
                               _v("9-resnet-diff-best-beats-worst", HELD, "", test=t)]))
    seen = []
    monkeypatch.setattr(ch7, "results", lambda s: seen.append(s.params) or dup)
    records = {"07": {"result": "ok", "parameters": {"profile": "smoke", "seed": 0}}}
    problems = checks.check_claims(records)
    assert problems == ["chapter 07: two claims ask one question: `6-resnet-coherence-best-above-worst-global` and "
                        "`9-resnet-diff-best-beats-worst` test the same numbers (data key same)"]
    assert seen == [ch7.Params(profile="smoke", seed=0)]
    assert checks.check_claims({"07": {"result": "never run", "parameters": {"profile": "smoke"}}}) == []
    assert checks.check_claims({}) == []
    monkeypatch.setattr(ch7, "results", lambda s: ch7.gather(vd.frame([_v("6-a", HELD, test=t), _v("9-b", HELD)])))
    assert checks.check_claims(records) == []


# ------------------------------------------------------------------------------------------ how verdicts are made
def test_method_text_is_generated_from_the_toolkit_constants(monkeypatch):
    text = ct.method_text()
    assert "two-sided 95 % t-interval" in text and "the 90 % interval" in text and "80 % power" in text
    assert f"beyond {st.MOST_SEEDS} seeds" in text and "Holm" in text and "Bonferroni" in text
    assert "each seed's least-squares slope" in text and "total fitted change" in text
    monkeypatch.setattr(ct, "ALPHA", 0.01)
    monkeypatch.setattr(ct, "POWER", 0.9)
    text = ct.method_text()
    assert "two-sided 99 % t-interval" in text and "the 98 % interval" in text and "90 % power" in text


def test_designs_are_read_from_the_stored_tests():
    df = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "width": [1, 2] * 3, "value": [1.0, 2.0, 1.5, 2.1, 0.9, 2.5]})
    long = pd.DataFrame({"side": ["a", "b"] * 6, "seed": [0, 0, 1, 1, 2, 2] * 2, "layer": [0] * 6 + [1] * 6,
                         "v": [1.0, 0.0, 1.2, 0.1, 0.9, 0.2, 1.1, 0.0, 1.3, 0.2, 1.0, 0.1]})
    tests = {
        "2-one": st.paired([1.0, 2.0, 3.0], [0.0, 0.5, 1.0]),
        "3-pooled": st.paired_groups(long, "side", "a", "b", "v", by=("layer",))[0],
        "3-every": st.paired_groups(long, "side", "a", "b", "v", by=("layer",), every=True)[0],
        "4-equal": st.paired([1.0, 1.01, 0.99], [1.0, 1.0, 1.0], claim="equal", margin=0.1),
        "4-trend": st.trend(df, x="width", value="value"),
        "4-flat": st.trend(df, x="width", value="value", claim="flat", margin=5.0),
    }
    r = gathered(*[_v(k, t["verdict"], test=t) for k, t in tests.items()], _v("5-nm", NOT_MEASURED))
    design = r.verdicts.set_index("claim_id")["design"]
    assert design.to_dict() == {
        "2-one": "directional, one value per seed", "3-pooled": "directional, seed means over groups",
        "3-every": "every group (intersection-union)",
        "4-equal": "equivalence (two one-sided tests), one value per seed",
        "4-trend": "trend (per-seed slopes)",
        "4-flat": "trend flat within a margin (two one-sided tests on the total change)", "5-nm": "not measured"}
    counts = ct.design_counts(r.verdicts).set_index("design")["claims"]
    assert counts.sum() == r.tested == 6
    page = ch7.method(SMOKE, r)
    assert page.startswith(ct.method_text()) and "The 6 claims measured at profile `smoke`, by design" in page
    assert "* every group (intersection-union): 1" in page


# ------------------------------------------------------------------------------------------ design sentences
@pytest.fixture(scope="module")
def cpu_changes():
    """changes() at cpu with the chapters' real setups and plans (a stand-in CIFAR-10 fingerprint)."""
    from lib import data

    mp = pytest.MonkeyPatch()
    mp.setattr(data, "cifar10_fingerprint", lambda *a, **k: "stand-in-for-tests")
    try:
        yield "\n".join(ch7.changes(ch7.setup(profile="cpu")))
    finally:
        mp.undo()


def _sentence_about(text: str, start: str) -> str:
    return next(part for line in text.splitlines() for part in line.split(". ") if part.startswith(start))


def test_chapter5_scopes_sentence_names_both_scopes(cpu_changes):
    ch5 = registry.module("05")
    s5 = ch5.setup(profile="cpu")
    assert set(s5.sweep_scopes) == set(s5.scaling_scopes) == {"global", "layer"}
    scopes = _sentence_about(cpu_changes, "Mask scopes")
    five = scopes.split("; ")[0]
    assert five == "Mask scopes, chapter 5: one global ranking with no floor and the same fraction per layer"
    six = next(p for p in scopes.split("; ") if p.startswith("chapter 6"))
    floor = registry.module("06").setup(profile="cpu").params.floor
    assert six == f"chapter 6: one global ranking with a {floor:.0%} floor per tensor and the same fraction per layer"
    assert "ranks the MLP's weights globally" not in cpu_changes


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_design_sentences_follow_the_chapters_setup(monkeypatch):
    ch5 = registry.module("05")
    real = ch5.setup
    monkeypatch.setattr(ch5, "setup", lambda **kw: dataclasses.replace(real(**kw), sweep_scopes=("layer",),
                                                                       scaling_scopes=("layer",)))
    text = "\n".join(ch7.changes(ch7.setup(profile="cpu")))
    assert "chapter 5: the same fraction per layer;" in text
    # a chapter that cannot be set up stops the page instead of a typed fallback sentence
    monkeypatch.setattr(ch5, "setup", lambda **kw: (_ for _ in ()).throw(ValueError("chapter mid-edit")))
    with pytest.raises(ValueError, match="mid-edit"):
        ch7.changes(ch7.setup(profile="cpu"))


def test_changes_at_cpu_read_seeds_sizes_and_settings(cpu_changes):
    text = cpu_changes
    for item in ("Gradient statistics", "Batch size.** 128", "augmentation", "ViT width", "depth 2", "Chapter 5 widths",
                 "Parent ratios", "Seeds.", "Epochs.", "Learning rates.", "Data subsets.", "Mask choices",
                 "Smaller ResNet", "Chapter 4 widths", "first 256 training images", "1,000 / 1,000", "(thesis 0.5)"):
        assert item in text, item
    seeds = {k: registry.module(k).setup(profile="cpu").seeds for k in ch7.SOURCES}
    assert len(set(seeds.values())) == 1
    assert f"**Seeds.** {len(seeds['02'])} seeds {list(seeds['02'])} in chapters 2, 3, 4, 5, 6, 8 and 9" in text
    p = profiles.get("cpu")
    assert f"The prune sweep uses widths {list(p.prune_widths)}" in text
    assert f"ResNet epochs on real data (chapter 2) {p.epochs_real_cnn} (thesis 300)" in text
    assert f"pruning epochs (chapter 6) {p.prune_epochs} (thesis 300)" in text
    assert "Children start from a fresh initialisation (the parent's seed + 1000) in chapters 5, 6 and 9" in text
    assert "tie" not in text.split()


def test_changes_at_paper_name_fewer_differences(cpu_changes):
    from lib import data

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "cifar10_fingerprint", lambda *a, **k: "stand-in-for-tests")
        paper = ch7.changes(ch7.setup(profile="paper"))
    assert len(paper) < len(cpu_changes.splitlines())
    text = "\n".join(paper)
    assert "first 10,000 training images (of 50,000" in text and "Batch size.** 128" in text
    assert "embedding 512" in text and "[128, 256, 512, 1024]" in text
    assert not any(k in text for k in ("Epochs.", "Learning rates.", "Data subsets.", "Smaller ResNet"))


def test_no_exception_is_swallowed_outside_resolve():
    """The only ``except`` of chapter 7 (and of the modules only it uses) reports a chapter whose verdicts cannot
    be read (as a problem line); no design sentence falls back to typed text."""
    trees = [ast.parse(Path(mod.__file__).read_text()) for mod in (ch7, ct, conclusions_design)]
    where = [f.name for tree in trees for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             for h in ast.walk(f) if isinstance(h, ast.ExceptHandler)]
    assert where == ["resolve"]


# ------------------------------------------------------------------------------------------ loading
@dataclasses.dataclass(frozen=True)
class FakeParams:
    profile: str = "cpu"
    seed: int = 0
    width: int = 16


def _fake(key: str, fail: bool = False) -> types.SimpleNamespace:
    """A chapter module with one planned run and three seeds; ``fail``: its setup raises."""
    cfg = profiles.mlp_config(profiles.get("smoke"), 16)

    def setup(**kw):
        if fail:
            raise ValueError("chapter mid-edit")
        return types.SimpleNamespace(params=FakeParams(**kw), profile=profiles.get(kw["profile"]), seeds=(0, 1, 2))

    return types.SimpleNamespace(__name__=f"lib.chapters.ch{key}_fake", Params=FakeParams, setup=setup,
                                 plan=lambda s: [[Planned(cfg)]])


@pytest.mark.usefixtures("run_cache", "stand_in_fingerprint")
def test_results_read_the_stored_fields_and_name_missing_stale_and_old_records(monkeypatch):
    fakes = {"03": _fake("03", fail=True), "04": _fake("04"), "05": _fake("05"), "06": _fake("06"), "08": _fake("08")}
    monkeypatch.setattr(ch7, "SOURCES", tuple(fakes))
    monkeypatch.setattr(ch7.registry, "module", lambda k: fakes[k])
    mine = FakeParams(profile="smoke")
    hashes = vd.run_hashes([[Planned(profiles.mlp_config(profiles.get("smoke"), 16))]])
    vd.store("smoke", "04", FakeParams(profile="smoke", width=99), hashes, [_v("4-other-params", HELD)])
    vd.store("smoke", "05", mine, ["not-the-plan"], [_v("5-stale-claim", HELD)])
    vd.store("smoke", "06", mine, hashes, [_v("6-resnet-diff-beats-random", NOT_HELD, "C8", scale="ResNet dense test "
                                              "acc 0.27 (thesis 0.90)"),
                                           _v("6-vit-magnitude-best-wins-global", HELD, "C8", "against",
                                              test=_p(HELD, 0.01, "k6") | {"n": 4})])
    old = vd.store("smoke", "08", mine, hashes, [_v("8-old-record", HELD)])
    record = json.loads(old.read_text())  # a version-2 record: no conclusion or bears field
    record["version"] = 2
    for v in record["verdicts"]:
        for f in ("fails_if", "conclusion", "bears", "note"):
            v.pop(f)
    old.write_text(json.dumps(record))
    r = ch7.results(ch7.setup(profile="smoke"))
    assert list(r.verdicts["claim_id"]) == ["6-resnet-diff-beats-random", "6-vit-magnitude-best-wins-global"]
    assert list(r.verdicts["group"]) == ["C8", "C8"] and list(r.verdicts["bears"]) == ["for", "against"]
    assert r.claims.set_index("").loc["C8", "verdict"] == "not held; against it: 1 held"
    assert r.design_problems == ("`6-vit-magnitude-best-wins-global` (chapter 6) was tested on n = 4 values, but its "
                                 "chapter has 3 seeds: values of one seed counted as independent",)
    assert len(r.problems) == 4
    assert r.problems[0].startswith("chapter 03: its parameters or plan could not be resolved (ValueError")
    assert r.problems[1] == "chapter 04: no verdicts stored for these parameters (missing: 4-other-params)"
    assert r.problems[2].startswith("chapter 05: stale verdicts") and r.problems[2].endswith("5-stale-claim")
    assert r.problems[3].startswith("chapter 08: stale verdicts (computed by verdict version 2, now 3)")
    assert "**4 chapter(s) missing or stale**" in ch7.headline(ch7.setup(profile="smoke"), r)


@pytest.mark.usefixtures("run_cache", "stand_in_fingerprint")
def test_headline_reaches_the_intro_page(tmp_path, monkeypatch):
    from lib.book import execute
    from lib.paths import ROOT

    r = gathered(_v("4-coherence-grows-with-width", HELD, "C4", test=_p(HELD, 0.001, "a")),
                 _v("8-mlp-real-diffs-not-coin-flips", NOT_HELD, "", test=_p(NOT_HELD, 0.3, "b")))
    monkeypatch.setattr(ch7, "results", lambda setup: r)
    monkeypatch.setattr(execute, "STAGE", tmp_path)
    (tmp_path / "intro.md").write_text(f"# Title\n\n{execute.HEADLINE_MARKER}\n\nmore\n")
    assert execute.write_headline("smoke")
    page = (tmp_path / "intro.md").read_text()
    assert execute.HEADLINE_MARKER not in page and page.endswith("more\n")
    assert "**2 claims were tested** at profile `smoke`" in page and "about 0.1 of them decisive" in page
    assert "**2 are decisive** (1 held, 1 not held)" in page
    assert "**1 held, 0 not held**" in page  # Holm over the 2: 0.001 <= 0.05 / 2 survives, 0.3 > 0.05 does not
    assert execute.HEADLINE_MARKER in (ROOT / "intro.md").read_text()


def test_tables_keep_markdown_and_regimes():
    from lib.chapters import glossary

    assert glossary.pipe_table(pd.DataFrame({"a": ["x|y"], "b": [1]})).splitlines() == ["| a | b |", "|---|---|",
                                                                                        "| x\\|y | 1 |"]
    r = gathered(_v("4-a", HELD, "C4", scale="MLP test acc 0.5 (thesis 0.55)"),
                 _v("6-b", NOT_HELD, "C8", scale="ViT dense test acc 0.30 (thesis 0.78)"), _v("6-c", HELD, ""))
    reg = ct.regime_counts(r.verdicts).set_index("regime")
    assert list(reg.index) == ["near the thesis's regime", "far from it", "no reference accuracy"]
    assert reg.loc["far from it", "total"] == 1 and reg["total"].sum() == 3 and "claims" not in reg
    assert ct.regime_sentence(r.verdicts) == (
        "Of the 3 verdicts, 2 name a reference accuracy beside the thesis's: 1 near the thesis's regime, 1 far from "
        "it; our reference networks reach 0.38 to 0.91 of the thesis's accuracy. The other 1 (of chapter 6) name no "
        "accuracy of the thesis to compare with.")
    t = ct.verdict_counts(r.verdicts).set_index("chapter")
    assert t.loc["all", "total"] == 3 and t.loc["06", HELD] == 1


# ------------------------------------------------------------------------------------------ the page's shape
def _t(verdict: str, key: str, n: int = 3, **more) -> dict:
    """A hand-made test over ``n`` seeds with ``verdict`` and fields of :func:`lib.chapters.seed_tests.paired`."""
    return {**BASE, "verdict": verdict, "p": 0.5, "key": key, "n": n, "seeds_needed": None, "needed_for": None} | more


def test_the_chapter_summary_line_counts_every_kind():
    r = gathered(_v("5-a", HELD, "C6"), _v("5-b", NOT_HELD, ""), _v("5-c", INCONCLUSIVE, "C6"),
                 _v("5-d", INCONCLUSIVE, ""), _v("5-e", NOT_MEASURED, "C7"))
    line = cx.chapter_summary(r.verdicts, "05")
    assert line == ("Chapter 5, pruning fully-connected networks: 5 claims — 1 held, 1 not held, 2 inconclusive, "
                    "1 not measured")
    assert cx.chapter_summary(gathered(_v("6-a", HELD)).verdicts, "06") == (
        "Chapter 6, pruning ResNets and ViTs: 1 claim — 1 held, 0 not held, 0 inconclusive, 0 not measured")


def test_what_the_runs_show_is_generated_from_the_verdicts():
    r = gathered(
        _v("8-a", HELD, test=_t(HELD, "a") | {"p": 1e-6}), _v("8-b", HELD, test=_t(HELD, "b")),
        _v("8-c", NOT_HELD, test=_t(NOT_HELD, "c")),
        _v("8-d", INCONCLUSIVE, test=_t(INCONCLUSIVE, "d", seeds_needed=7, needed_for=HELD)),
        _v("8-e", INCONCLUSIVE, test=_t(INCONCLUSIVE, "e", seeds_needed=40, needed_for=NOT_HELD)),
        _v("8-f", INCONCLUSIVE, test=_t(INCONCLUSIVE, "f", needed_for=HELD)),  # beyond MOST_SEEDS
        _v("8-g", INCONCLUSIVE, test=_t(INCONCLUSIVE, "g", claim="equal", margin=0.1)),
        _v("8-h", INCONCLUSIVE, test=_t(INCONCLUSIVE, "h", rule="every group")),
        _v("8-i", NOT_MEASURED))
    text = cx.what_runs_show(r.verdicts)
    assert text == (
        "2 of 9 claims held (`8-a` and `8-b`) and 1 did not (`8-c`); 5 are inconclusive: the interval contains zero "
        "at 3 seeds for 3, the interval straddles the margin at 3 seeds for 1, the groups are not all decided at 3 "
        f"seeds for 1 (≈7–40 seeds would decide 2 of them at the observed effects; 1 would need more than "
        f"{st.MOST_SEEDS}; 2 point neither way); 1 was not measured at this scale. "
        "1 of the 3 decisive verdicts survives Holm's correction (`8-a`).")
    # every number in it comes from the frame: another frame, other words
    one = gathered(_v("3-x", INCONCLUSIVE, test=_t(INCONCLUSIVE, "x", n=2, seeds_needed=5, needed_for=HELD)))
    assert cx.what_runs_show(one.verdicts) == ("The one claim is inconclusive: the interval contains zero at 2 seeds "
                                               "(≈5 seeds would decide it at the observed effects).")
    assert cx.what_runs_show(gathered(_v("5-y", NOT_MEASURED), _v("5-z", NOT_MEASURED)).verdicts) == \
        "None of the 2 claims was measured at this scale."
    many = gathered(*[_v(f"9-h{i}", HELD, test=_t(HELD, f"h{i}") | {"p": 1e-9}) for i in range(5)])
    assert cx.what_runs_show(many.verdicts) == ("5 of 5 claims held (`9-h0`, `9-h1`, `9-h2` and 2 more). All 5 "
                                                "decisive verdicts survive Holm's correction over every claim tested.")


def _cells(markdown: str) -> list[str]:
    return [c for line in markdown.splitlines() if line.startswith("| ") for c in line.strip()[2:-2].split(" | ")]


def test_no_cell_of_chapter_7_holds_more_than_its_limit_and_none_lists_ids():
    long = "a claim worded at great length, " * 12
    vs = [_v(f"{k}-claim-with-a-rather-long-identifier-{i}", verdict, c, claim=long,
             scale="ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)")
          for k in ("2", "6", "9") for i, (verdict, c) in enumerate([(HELD, "C1"), (INCONCLUSIVE, ""),
                                                                      (NOT_MEASURED, "C8")])]
    r = gathered(*vs)
    page = "\n".join([ch7.conclusions(SMOKE, r), ch7.other_claims(SMOKE, r), ch7.every_verdict(SMOKE, r).data])
    cells = _cells(page)
    assert len(cells) > 50 and max(len(cx.visible(c)) for c in cells) <= cx.CELL_CHARS
    assert all(cx.visible(c).count("claim-with") <= 1 for c in cells)  # no cell lists several claims
    for f in (ch7.group_table, ch7.regimes, ch7.summary):
        data = f(SMOKE, r).data
        assert all(len(str(x)) <= cx.CELL_CHARS for x in data.to_numpy().ravel())


def test_each_chapter_is_one_block_with_its_scale_stated_once_and_links_to_its_verdicts():
    scale = "ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)"
    r = gathered(_v("6-a", HELD, "C8", scale=scale, figure="Table 6.1"),
                 _v("6-b", INCONCLUSIVE, "", scale=scale, figure="Table 6.2"),
                 _v("9-c", NOT_MEASURED, "", scale="100 images"),
                 _v("9-d", INCONCLUSIVE, "", scale="200 images"))
    page = ch7.every_verdict(SMOKE, r).data
    blocks = page.split("</details>")[:-1]
    assert len(blocks) == 2 and all(b.strip().startswith('<details class="readable"><summary>') for b in blocks)
    six, nine = blocks
    assert "<summary><strong>Chapter 6, pruning ResNets and ViTs: 2 claims — 1 held, 0 not held, 1 inconclusive, " \
           "0 not measured</strong></summary>" in six
    assert six.count(scale) == 1 and f"**Scale** of these claims: {scale} — far from it (0.30 of the thesis's " \
           "accuracy)." in six
    header = next(line for line in six.splitlines() if line.startswith("| claim"))
    assert header == "| claim | difference [interval] | verdict | after Holm | conclusion | decided in |"
    assert "Every interval below is over 3 seeds." in six and ", 3 seeds" not in six  # the seeds stated once
    assert f"[Table 6.1](06_pruning_large.ipynb{cx.verdicts_anchor('06')})" in six
    assert cx.verdicts_anchor("06") == "#verdicts" and cx.verdicts_anchor("02") == "#summary-of-verdicts"
    assert "| – |" in six and "A claim with no conclusion (–) is a side check of its chapter." in six
    # two scales: numbered once, each row gives its number; the unmeasured claim's reason is a note
    assert "1. 100 images — no reference accuracy; 1 claim" in nine
    assert "2. 200 images — no reference accuracy; 1 claim" in nine
    rows = [c for c in _cells(nine) if c.startswith("`9-")]
    assert rows == ["`9-c` a claim (note 1)", "`9-d` a claim"]
    assert "**Notes.**\n\n1. numbers of 9-c" in nine
    header = next(line for line in nine.splitlines() if line.startswith("| claim"))
    assert "conclusion" not in header and header.endswith("| decided in | scale |")  # all "–": column dropped
    assert "None of these claims names a conclusion of section 7.1: each is about an open question" in nine
    # tests on different numbers of seeds: each interval keeps its own
    mixed = gathered(_v("6-a", HELD, test=_t(HELD, "a", n=3)), _v("6-b", HELD, test=_t(HELD, "b", n=4)))
    table = cx.chapter_table(mixed.verdicts)[0]
    assert cx.common_seeds(mixed.verdicts) is None and table["difference [interval], seeds"].str.endswith(
        (", 3 seeds", ", 4 seeds")).all()


def test_the_glossary_gives_human_headers_one_number_format_and_no_empty_columns():
    from lib.chapters import glossary

    df = pd.DataFrame({"claim_id": ["a", "b"], "train_loss_mean": [0.123456, float("nan")], "n": [3, 12000],
                       "empty": [None, ""], "holm": [HELD, INCONCLUSIVE]})
    t = glossary.tidy(df)
    assert list(t.columns) == ["claim", "train loss (mean)", "seeds", "after Holm"]
    assert list(t["train loss (mean)"]) == ["0.123", "–"] and list(t["seeds"]) == ["3", "12,000"]
    assert [glossary.number(x) for x in (0.5, 2.0, 1234.5, 1e-6, "text", None)] == ["0.5", "2", "1,234", "1e-06",
                                                                                    "text", "–"]
    assert glossary.human("some_code_name") == "some code name"
    md = glossary.markdown(df)
    assert md.startswith('<div class="readable">') and "| claim | train loss (mean) | seeds | after Holm |" in md
    assert 'class="readable"' in glossary.styled(df, badges=["holm"]).to_html()
    css = (Path(__file__).resolve().parent.parent / "_static" / "tables.css").read_text()
    assert ".readable table th" in css and "word-break: keep-all" in css


def test_a_row_links_to_the_figure_that_decides_it():
    got = cx.decided_link("Figures 5.1, 5.3", "05")
    assert got == ('Figs. <a href="05_pruning_mlp.html#fig-5-1">5.1</a>, '
                   '<a href="05_pruning_mlp.html#fig-5-3">5.3</a>')
    assert cx.decided_link("Figure 4.3, Table 4.c", "04", prefix="chapters/") == \
        'Fig. <a href="chapters/04_width.html#fig-4-3">4.3</a>'
    tables = cx.decided_link("Tables 6.1, 6.2", "06")  # tables have no anchors: the chapter's verdicts
    assert tables.startswith("[Tables 6.1, 6.2](06_pruning_large.ipynb") and "<a " not in tables
    assert cx.decided_link("", "08").startswith("[chapter 8](08_what_diffs_measure.ipynb")
