"""Fault injection into the build (issue 24, item 7): a damaged verdict file, two builds in one clone, a kill
while the HTML is rendered. Each test fails on the behaviour before the fix."""
from __future__ import annotations

import dataclasses
import json
import re
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from lib.book import build, checks, execute, layout, lock, status
from lib.book.layout import ROOT, BuildError
from lib.chapters import ch07_conclusions as ch7
from lib.chapters import verdicts as V
from lib.chapters.seed_tests import paired


# ---- (a) a damaged verdict file is named, set aside and its chapter recomputed --------------------------

@dataclasses.dataclass(frozen=True)
class FakeParams:
    profile: str = "cpu"
    seed: int = 0


def _verdict(chapter: str) -> V.Verdict:
    return V.Verdict.of(f"{int(chapter)}-claim", chapter, "claim", "thesis", "ours", paired([2, 3, 4], [1, 2, 3.1]), "F")


def _store(chapter: str) -> Path:
    """Chapter ``chapter``'s verdicts for the parameters chapter 7 reads at profile smoke, seed 0."""
    return V.store("smoke", chapter, FakeParams(profile="smoke"), [], [_verdict(chapter)])


def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])


def _drop_key(f: Path) -> None:
    rec = json.loads(f.read_text())
    del rec["verdicts"]
    f.write_text(json.dumps(rec))


def _bad_verdict(f: Path) -> None:
    rec = json.loads(f.read_text())
    rec["verdicts"][0]["verdict"] = "maybe"
    f.write_text(json.dumps(rec))


DAMAGE = {"truncated": (_truncate, "not JSON"), "a list": (lambda f: f.write_text("[1, 2]"), "not an object"),
          "a key missing": (_drop_key, "key(s) missing: verdicts"), "a bad verdict": (_bad_verdict, "is not a verdict")}


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.usefixtures("run_cache")
def test_a_damaged_verdict_file_is_named_set_aside_and_read_as_missing(kind):
    damage, why = DAMAGE[kind]
    f = _store("05")
    damage(f)
    kept = f.read_bytes()
    with pytest.warns(V.DamagedVerdictsWarning, match=rf"{f.name}: .*{re.escape(why)}.*set aside as {f.name}\.damaged-"):
        table, problems = V.load_for("smoke", {"05": (FakeParams(profile="smoke"), [])})
    assert not len(table) and problems == ["chapter 05: no verdicts stored for these parameters (the file was "
                                           "damaged and set aside) (run the chapter first)"]
    aside, = f.parent.glob(f"{f.name}.damaged-*")
    assert not f.exists() and aside.read_bytes() == kept  # kept for inspection, never read again
    assert not len(V.load_all("smoke"))
    _store("05")  # the chapter recomputed
    assert list(V.load_for("smoke", {"05": (FakeParams(profile="smoke"), [])})[0].claim_id) == ["5-claim"]


@pytest.mark.usefixtures("run_cache")
def test_load_record_names_the_damaged_file():
    f = _store("05")
    _truncate(f)
    with pytest.raises(V.DamagedVerdicts, match=rf"damaged verdict file {f}: not JSON"):
        V.load_record(f)


def _fake_chapter(key: str) -> types.SimpleNamespace:
    """A chapter module with three seeds and no runs, set up with FakeParams."""
    def setup(**kw):
        return types.SimpleNamespace(params=FakeParams(**kw), seeds=(0, 1, 2))

    return types.SimpleNamespace(__name__=f"lib.chapters.ch{key}_fake", Params=FakeParams, setup=setup,
                                 plan=lambda s: [])


@pytest.fixture()
def two_sources(run_cache, monkeypatch):
    """Chapter 7 gathering fake chapters 04 and 05, both with verdicts stored; returns 05's file."""
    fakes = {"04": _fake_chapter("04"), "05": _fake_chapter("05"), "07": ch7}
    monkeypatch.setattr(ch7, "SOURCES", ("04", "05"))
    monkeypatch.setattr(ch7.registry, "module", lambda k: fakes[k])
    _store("04")
    return _store("05")


def test_the_build_executes_first_the_chapter_whose_verdicts_chapter_7_finds_damaged(two_sources, capsys):
    assert build.chapters_to_recompute({"07": {"profile": "smoke"}}) == {}
    _truncate(two_sources)
    with pytest.warns(V.DamagedVerdictsWarning, match=two_sources.name):
        todo = build.with_recomputed({"07": {"profile": "smoke"}})
    assert todo == {"05": {"profile": "smoke", "seed": 0}, "07": {"profile": "smoke"}}  # 05 before 07
    assert "chapter 07 reads the verdicts of chapter 05, which are damaged: executing chapter 05 first" \
        in capsys.readouterr().out
    assert build.chapters_to_recompute({"07": {"profile": "smoke"}}) == {"05": {"profile": "smoke", "seed": 0}}
    # executed by this build anyway: nothing added; executed with other parameters: said
    assert build.chapters_to_recompute({"05": {"profile": "smoke"}, "07": {"profile": "smoke"}}) == {}
    assert build.chapters_to_recompute({"05": {"profile": "smoke", "seed": 3}, "07": {"profile": "smoke"}}) == {}
    assert "chapter 07 will list them as missing" in capsys.readouterr().out


# ---- (b) one build at a time in a clone ------------------------------------------------------------------

HOLDER = """import sys, time
from pathlib import Path
from lib.book import lock
with lock.build_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_build_stops_at_once_naming_the_first_and_a_killed_holder_leaves_no_lock(tmp_path):
    path = tmp_path / "_build" / "build.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with pytest.raises(BuildError) as err:
            with lock.build_lock(path):
                pass
        assert time.perf_counter() - t0 < 1
        msg = str(err.value)
        assert f"another build is running in this clone: {path} is locked by pid {holder.pid} on host " \
               f"{socket.gethostname()} since 20" in msg and " UTC (-c " in msg
    finally:
        holder.kill()
        holder.wait()
    with lock.build_lock(path):  # the kernel released the killed holder's lock
        assert json.loads(path.read_text())["pid"] != holder.pid


def test_the_build_takes_the_lock_before_touching_build(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "LOCK", tmp_path / "build.lock")
    monkeypatch.setattr(execute, "stage_sources", lambda **kw: pytest.fail("the second build staged sources"))
    with lock.build_lock():
        with pytest.raises(BuildError, match=f"{tmp_path / 'build.lock'} is locked by pid "):
            build.build({}, {}, offline=False)


# ---- (c) ok only once the whole HTML exists ----------------------------------------------------------------

@pytest.fixture()
def fake_book(tmp_path, monkeypatch):
    """A build of nothing into ``tmp_path``: staging, headline, folding and the checks stubbed; its HTML step is
    what each test sets as ``execute.run_jupyter_book``. Returns the HTML folder."""
    html, stage = tmp_path / "html", tmp_path / "book"
    for mod in (build, status):
        monkeypatch.setattr(mod, "HTML", html)
        monkeypatch.setattr(mod, "STAGE", stage)
    monkeypatch.setattr(status, "LAST_BUILD", tmp_path / "last_build.json")
    monkeypatch.setattr(status, "STATUS_JSON", tmp_path / "status.json")
    monkeypatch.setattr(layout, "LOCK", tmp_path / "build.lock")
    monkeypatch.setattr(execute, "stage_sources", lambda **kw: (stage / "chapters").mkdir(parents=True))
    for name in ("write_headline", "write_profiles_table", "fold_code", "show_parameters"):
        monkeypatch.setattr(execute, name, lambda *a, **kw: None)
    monkeypatch.setattr(checks, "check_pages", lambda records, figure_check: [])
    monkeypatch.setattr(checks, "check_assets", lambda offline: [])
    return html


def _render(html: Path, pages: list[str]) -> None:
    """Write ``pages`` into ``html`` as jupyter-book would; the Status page from its staged source."""
    for page in pages:
        (html / page).parent.mkdir(parents=True, exist_ok=True)
        text = (build.STAGE / "status.md").read_text() if page == "status.html" else page
        (html / page).write_text("".join(f"<p>{line}</p>\n" for line in text.splitlines()))


def test_a_kill_while_rendering_the_html_leaves_no_ok(fake_book, monkeypatch):
    def killed(strict):
        _render(fake_book, ["status.html", "intro.html"])
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "run_jupyter_book", killed)
    with pytest.raises(KeyboardInterrupt):
        build.build({}, {}, offline=False)
    last = status.last_build()
    assert (last["state"], last["step"], last["reason"]) == ("failed", "rendering the HTML",
                                                            "interrupted (KeyboardInterrupt)")
    page = (fake_book / "status.html").read_text()
    assert status.BUILDING in page and "Build state: complete" not in page
    assert "failed at step 'rendering the HTML'" in status.last_build_line(last)


def test_a_render_that_leaves_no_index_html_is_not_ok(fake_book, monkeypatch):
    monkeypatch.setattr(execute, "run_jupyter_book", lambda strict: (_render(fake_book, ["status.html"]), (0.0, []))[1])
    build.build({}, {}, offline=False)
    last = status.last_build()
    assert last["state"] == "failed" and "index.html" in last["reason"]
    assert status.BUILDING in (fake_book / "status.html").read_text()


def test_a_build_killed_outright_reads_as_interrupted(fake_book):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status.write_atomic(status.LAST_BUILD, json.dumps({"state": "building", "step": "rendering the HTML",
                                                       "started": "2026-01-01 10:00:00", "pid": dead.pid,
                                                       "host": status.platform.node()}))
    assert status.last_build()["state"] == "interrupted"


def test_ok_comes_last_and_a_later_loss_of_pages_is_said(fake_book, monkeypatch):
    monkeypatch.setattr(execute, "run_jupyter_book",
                        lambda strict: (_render(fake_book, status.expected_pages()), (0.0, []))[1])
    assert build.build({}, {}, offline=False) == []
    assert status.last_build()["state"] == "ok"
    page = (fake_book / "status.html").read_text()
    assert status.BUILDING not in page and "Build state: complete. Every page of this book was rendered" in page
    assert "Build state: complete" in (build.STAGE / "status.md").read_text()
    (fake_book / "index.html").unlink()
    last = status.last_build()
    assert last["state"] == "incomplete" and last["missing"] == ["index.html"]
    assert "pages missing from html/: index.html" in status.last_build_line(last)
