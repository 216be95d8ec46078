"""The book's colours: one colour-blind-safe hue per mask method, used by every chapter's figures.

Built on the Okabe-Ito palette (Okabe and Ito 2008), whose eight colours stay distinct under the common
colour-vision deficiencies. A method and its inverted ("worst") form share a hue family but differ in
lightness, and no two methods a figure sets side by side share a hue: in particular the best masks of
magnitude (orange) and of diffs (blue) are never two shades of one colour.
"""
from __future__ import annotations

#: The eight Okabe-Ito colours by name.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}

#: Mask method (as chapters 5, 6 and 9 name them) -> colour.
METHOD_COLORS: dict[str, str] = {
    "none": "#333333",
    "random": OKABE_ITO["green"],
    "random_10": OKABE_ITO["green"],
    "uniform": "#7FCDB5",                     # light green: random, the same fraction per layer
    "magnitude": OKABE_ITO["orange"],
    "magnitude_best": OKABE_ITO["orange"],
    "magnitude_worst": OKABE_ITO["vermillion"],
    "magnitude_shuffled": "#F3CF80",          # light orange
    "diff": OKABE_ITO["blue"],
    "coherence_best": OKABE_ITO["blue"],
    "coherence_worst": OKABE_ITO["sky_blue"],
    "diff_worst": OKABE_ITO["sky_blue"],
    "diff_shuffled": "#80B9D8",               # light blue
    "snip": OKABE_ITO["purple"],
    "grasp": "#8C6D31",                       # brown (Okabe-Ito's yellow is too light on white)
    "synflow": "#999999",
}

#: Data kinds (chapters 2, 3 and 8) -> colour.
DATA_COLORS: dict[str, str] = {"real": OKABE_ITO["blue"], "gaussian": OKABE_ITO["vermillion"],
                               "real_then_gaussian": OKABE_ITO["green"]}


def method_color(method: str) -> str:
    """The colour of ``method``; a KeyError names the known methods."""
    if method not in METHOD_COLORS:
        raise KeyError(f"no colour for mask method {method!r}; known: {', '.join(METHOD_COLORS)}")
    return METHOD_COLORS[method]
