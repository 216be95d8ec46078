"""What chapters 2 and 3 share about their runs: the ResNet and ViT trained on CIFAR-10 and on Gaussian noise.

Both chapters read the same runs (chapter 3 those of chapter 2), so they share their parameter checks
(:func:`check_large`), the profile with their overrides (:func:`large_profile`), the settings table
(:func:`large_settings`), the scale of a verdict against the thesis (:func:`scale_text`), the number n of
images the coherence averages over (:func:`stats_n`) and the debiased coherence beside α
(:func:`with_debiased`), and the notebook's :func:`style` and :func:`seeds_line`.
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from .. import profiles
from ..models import ARCHS
from . import params as check
from . import realdata as rd
from . import thesis
from .figures import debiased_coherence
from .figures import style as figure_style

#: Family -> the name used in claim ids.
FAMILY = {"cnn": "resnet", "vit": "vit"}
#: Family -> the thesis's network of that family.
THESIS_MODEL = {"cnn": "ResNet50", "vit": "ViT"}
#: The thesis's own settings (epochs per family, Gaussian epochs), for the ``scale`` of each verdict.
THESIS = profiles.get("paper")
#: Said in the caption of every coherence figure (the floor line :func:`figures.floor_line` draws).
FLOOR_NOTE = "the dotted grey line is 1/n, the coherence of n unrelated gradients"


def check_large(p: Any) -> None:
    """Checks shared by chapters 2 and 3 (their ResNet/ViT parameters)."""
    check.profile(p.profile)
    check.integer(p.seed, "seed", minimum=0)
    check.choice(p.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
    check.choice(p.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
    check.integer(p.epochs, "epochs", minimum=1, optional=True)
    check.integer(p.epochs_gaussian, "epochs_gaussian", minimum=1, optional=True)
    check.integer(p.n_train, "n_train", minimum=1, optional=True)
    check.integer(p.n_test, "n_test", minimum=1, optional=True)
    check.integer(p.stats_max_samples, "stats_max_samples", minimum=1, optional=True)


def large_profile(p: Any) -> profiles.Profile:
    """The profile with chapters 2-3's overrides applied (``None`` keeps the profile's value)."""
    return profiles.with_overrides(
        p.profile, arch_cnn=p.arch_cnn, arch_vit=p.arch_vit, epochs_real_cnn=p.epochs, epochs_real_vit=p.epochs,
        epochs_gaussian=p.epochs_gaussian, n_train_large=p.n_train, n_test_large=p.n_test,
        stats_max_samples=p.stats_max_samples)


def stats_n(s: Any, fam: str) -> int:
    """n, the number of images the coherence of ``fam``'s runs averages over (:func:`realdata.stats_samples`
    of the real run of the figures' seed; the Gaussian runs use as many)."""
    return rd.stats_samples(s.configs[(fam, s.params.seed)]["real"])


def with_debiased(df: pd.DataFrame, cols: Sequence[str], n: int) -> pd.DataFrame:
    """``df`` with a column "<col> debiased" right after each coherence column of ``cols``: the value with
    the floor 1/n of n unrelated gradients removed (:func:`figures.debiased_coherence`)."""
    out = df.copy()
    for c in cols:
        out.insert(out.columns.get_loc(c) + 1, f"{c} debiased", debiased_coherence(out[c].astype(float), n))
    return out


def style() -> None:
    """The book's plotting style, and tables shown to four significant digits."""
    figure_style()
    pd.set_option("display.precision", 4)


def seeds_line(s: Any) -> str:
    """Markdown line above the verdict table: profile and seeds (with one seed no claim can be decided)."""
    seeds = list(s.seeds)
    return (f"Profile `{s.profile.name}`, seeds {seeds}."
            + (" With one seed there is no interval: every measured claim is inconclusive." if len(seeds) < 2 else ""))


def large_settings(p: profiles.Profile, stats_images: str, extra: dict[str, Any]) -> pd.DataFrame:
    """Settings table of chapters 2 and 3: profile, models, epochs, data sizes, the number of images of
    the gradient statistics (row ``stats_images``), then the rows ``extra``."""
    rows = {"profile": p.name, "ResNet": p.arch_cnn, "ViT": p.arch_vit,
            "real-data epochs (ResNet / ViT)": f"{p.epochs_real_cnn} / {p.epochs_real_vit}",
            "Gaussian-data epochs": p.epochs_gaussian,
            "training / test images": f"{p.n_train_large or 50000} / {p.n_test_large or 10000}",
            stats_images: p.stats_max_samples or "all", **extra}
    return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=pd.Index(list(rows), name="setting"))


def scale_text(p: profiles.Profile, archs: dict[str, str], m: pd.DataFrame, fams: Sequence[str]) -> str:
    """How close to the thesis's regime the runs of ``fams`` are: each family's mean CIFAR-10 test
    accuracy after our epochs against the thesis's epochs and its dense network's test accuracy (Tables
    6.1, 6.2), and the mean Gaussian train accuracy after our Gaussian epochs against its 1000.
    ``m``: rows with family, test_acc_real, final_acc_gaussian."""
    parts = []
    for fam in fams:
        rows = m[m.family == fam]
        ours_e, thesis_e = (p.epochs_real_cnn, THESIS.epochs_real_cnn) if fam == "cnn" else (p.epochs_real_vit,
                                                                                              THESIS.epochs_real_vit)
        dense = thesis.PRUNE_TABLES[(FAMILY[fam], "global")]["none"][1]
        test_acc, gauss_acc = (rows[c].mean(skipna=False) for c in ("test_acc_real", "final_acc_gaussian"))
        parts.append(f"{archs[fam]}: CIFAR-10 test acc {test_acc:.2f} after {ours_e} of the thesis's "
                     f"{thesis_e} epochs (its dense {THESIS_MODEL[fam]} {dense:.2f}, Table "
                     f"{thesis.TABLE_NUMBERS[(FAMILY[fam], 'global')]}); Gaussian train acc "
                     f"{gauss_acc:.2f} after {p.epochs_gaussian} of its {THESIS.epochs_gaussian} epochs")
    return "; ".join(parts)
