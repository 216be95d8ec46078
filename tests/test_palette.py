"""One palette for every chapter: each mask method shown side by side has its own colour."""
from __future__ import annotations

import matplotlib.colors as mcolors
import pytest

from lib.chapters import large, palette
from lib.chapters.ch05_pruning_mlp import COLORS as CH5
from lib.chapters.ch09_figures import _COLORS as CH9


def test_methods_of_one_figure_have_distinct_colours():
    for methods in (large.PRUNED, ("none", "random", "magnitude", "diff"),
                    ("magnitude", "magnitude_shuffled", "diff", "diff_shuffled", "uniform", "random", "none"),
                    ("random", "uniform", "snip", "grasp", "synflow", "magnitude", "diff", "none")):
        cols = [mcolors.to_hex(palette.method_color(m)) for m in methods]
        assert len(set(cols)) == len(cols), methods
    # the two best masks of chapter 6 are far apart in hue, not two oranges
    a, b = (mcolors.rgb_to_hsv(mcolors.to_rgb(palette.method_color(m))) for m in ("magnitude_best", "coherence_best"))
    assert abs(a[0] - b[0]) > 0.3


def test_chapters_use_the_palette():
    assert CH5["magnitude"] == palette.METHOD_COLORS["magnitude"] and CH9 is palette.METHOD_COLORS
    with pytest.raises(KeyError, match="known"):
        palette.method_color("nonsense")
