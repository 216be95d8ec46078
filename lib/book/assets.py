"""Local copies of MathJax, require.js, the ipywidgets html-manager and Vega (the explorers), so the HTML reads
offline.

By default every build uses local copies: fetched once from the npm registry into
``_static_offline/vendor/`` (outside ``_static/``, git-ignored, reused by later builds). When they are
missing and cannot be fetched (no npm, no network), the build says so and this build's HTML loads them
from their CDNs. ``--offline`` makes a failed fetch an error; ``--cdn`` keeps the CDN defaults.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..chapters.explore import VEGA_SCRIPTS
from .layout import ROOT, VENDOR, BuildError

#: npm packages for offline reading, pinned to what the CDN defaults load:
#: Sphinx 7.4 loads mathjax@3 (latest 3.x = 3.2.2); myst-nb 1.4 loads require.js 2.3.4 and
#: @jupyter-widgets/html-manager 1.0.6 (ipywidgets 8.1 asks for ^1.0.1).
OFFLINE_PACKAGES: dict[str, dict[str, Any]] = {
    "mathjax": {"version": "3.2.2", "dir": "mathjax", "keep": ("es5/", "LICENSE")},
    "requirejs": {"version": "2.3.4", "dir": "requirejs", "keep": ("require.js", "package.json")},
    "@jupyter-widgets/html-manager": {"version": "1.0.6", "dir": "html-manager",
                                      "keep": ("dist/", "LICENSE", "package.json"),
                                      # only embed-amd.js (+ its fonts) is loaded
                                      "drop_suffix": (".map", "/embed.js", ".embed.js", "/libembed-amd.js")},
    # The explorers (lib/chapters/explore.py): what the pinned Altair targets (altair 6.3: alt.VEGALITE_VERSION
    # 6.4.1, alt.VEGA_VERSION 6, alt.VEGAEMBED_VERSION 7; the newest 6.x and 7.x); tests/test_explorers.py checks.
    "vega": {"version": "6.3.0", "dir": "vega", "keep": ("build/vega.min.js", "LICENSE"),
             "drop_suffix": (".map",)},
    "vega-lite": {"version": "6.4.1", "dir": "vega-lite", "keep": ("build/vega-lite.min.js", "LICENSE"),
                  "drop_suffix": (".map",)},
    "vega-embed": {"version": "7.3.0", "dir": "vega-embed", "keep": ("build/vega-embed.min.js", "LICENSE"),
                   "drop_suffix": (".map",)},
}
#: Paths in the HTML root (html_extra_path copies VENDOR's parent there); Sphinx/myst-nb treat a
#: relative script path as relative to _static/, hence the leading "../".
OFFLINE_MATHJAX = "../vendor/mathjax/es5/tex-mml-chtml.js"
#: Runs between require.js and the widget manager on pages with widgets (an inline script: no file name).
#: (1) embed-amd.js is a bundle of named AMD modules; require.js gives each the address <page's folder>/<name>,
#: and each module loads its fonts from the folder of that address (chapters/@jupyter-widgets/html-manager/
#: dist/*.woff2: not found). The paths below give them the folder they are really in. (2) Widgets typeset
#: their descriptions with MathJax 2's ``MathJax.Hub.Queue`` (ipywidgets#3829); the book loads MathJax 3,
#: which has no ``Hub`` (a TypeError for every described widget), so MathJax 3 gets that one call, after
#: its own start-up, before the widgets render at the load event.
WIDGETS_SETUP_JS = """(function () {
  var dist = document.documentElement.dataset.content_root + "vendor/html-manager/dist";
  requirejs.config({paths: {"@jupyter-widgets": dist, "@jupyter-widgets/html-manager/dist": dist}});
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset")
          mj.startup.promise = mj.startup.promise.then(function () { return mj.typesetPromise([job[2]]); });
      });
    }};
  });
})();"""
OFFLINE_WIDGETS_JS = {
    "../vendor/requirejs/require.js": {},
    "": {"body": WIDGETS_SETUP_JS},
    # standard widgets are bundled in embed-amd.js; the book uses no third-party widget module, so no
    # CDN address is given for one (the built pages then name no CDN at all).
    "../vendor/html-manager/dist/embed-amd.js": {},
}
#: The explorers' scripts as the staged config gives them to :mod:`lib.book.vega_pages` (which adds them to the
#: pages with an explorer, before require.js): the local copies, or (``--cdn``) the same versions from jsDelivr.
OFFLINE_VEGA_JS = [f"../vendor/{f}" for f in VEGA_SCRIPTS]
CDN_VEGA_JS = [f"https://cdn.jsdelivr.net/npm/{f.split('/')[0]}@{OFFLINE_PACKAGES[f.split('/')[0]]['version']}/"
               + f.split("/", 1)[1] for f in VEGA_SCRIPTS]
#: Seconds ``npm pack`` may take before the fetch counts as failed (no network: fall back to CDNs).
NPM_TIMEOUT_S = 60


def use_offline(*, offline: bool, cdn: bool) -> bool:
    """Whether the HTML loads the local copies. ``cdn``: no. ``offline``: yes, fetched first when missing
    (a failed fetch is an error). Default: yes, fetched when missing; when the fetch fails the build says
    why and this build's HTML loads them from CDNs (False)."""
    if offline and cdn:
        raise BuildError("--offline and --cdn contradict each other; give one")
    if cdn:
        return False
    if offline:
        fetch_offline_assets()
        return True
    try:
        fetch_offline_assets()
    except BuildError as exc:
        first = str(exc).strip().splitlines()[0]
        print(f"note: could not fetch MathJax / require.js / html-manager / Vega ({first}); this build's HTML loads them "
              "from CDNs, so maths and widgets need the network (retry with --offline, or --cdn to silence this)")
        return False
    print(f"using the local MathJax / require.js / html-manager / Vega in {VENDOR.relative_to(ROOT)} (--cdn to not)")
    return True


def fetch_offline_assets(dest: Path = VENDOR, *, force: bool = False) -> Path:
    """Download the pinned npm packages (OFFLINE_PACKAGES) with `npm pack` and unpack the files
    the HTML needs into ``dest/<dir>/``. Skipped when dest/VERSIONS.json already lists the pins."""
    pins = {name: spec["version"] for name, spec in OFFLINE_PACKAGES.items()}
    manifest = dest / "VERSIONS.json"
    if not force and manifest.exists() and json.loads(manifest.read_text()) == pins:
        return dest
    npm = shutil.which("npm")
    if not npm:
        raise BuildError("npm is needed to fetch MathJax, require.js, the ipywidgets html-manager and Vega once "
                         "(e.g. apt-get install npm)")
    print(f"fetching offline assets into {dest} ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{v}" for name, v in pins.items()]
        try:
            res = subprocess.run([npm, "pack", "--json", *specs], cwd=tmp, capture_output=True, text=True,
                                 timeout=NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BuildError(f"npm pack took over {NPM_TIMEOUT_S} s (no network?)") from None
        if res.returncode != 0:
            raise BuildError(f"npm pack failed:\n{res.stderr[-3000:]}")
        packed = {item["name"]: Path(tmp) / item["filename"] for item in json.loads(res.stdout)}
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for name, spec in OFFLINE_PACKAGES.items():
            _unpack(packed[name], staging / spec["dir"], spec)
        (staging / "VERSIONS.json").write_text(json.dumps(pins, indent=1) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)
    return dest


def _unpack(tarball: Path, target: Path, spec: dict[str, Any]) -> None:
    """The files of an npm tarball that ``spec`` keeps (path prefixes ``keep``, minus ``drop_suffix``)."""
    with tarfile.open(tarball) as tf:
        for member in tf.getmembers():
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if not member.isfile() or not rel.startswith(spec["keep"]):
                continue
            if rel.endswith(spec.get("drop_suffix", ())):
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            assert src is not None
            out.write_bytes(src.read())
