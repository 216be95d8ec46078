"""Numbers reported in the thesis (Yauney, 2024), for drawing beside ours. Values only, no prose.

Accuracies are fractions in [0, 1], as printed in the thesis's tables. The thesis's tables name the
masks ``none``, ``random_10``, ``magnitude_best``, ``magnitude_worst``, ``coherence_best`` and
``coherence_worst``; we use the same names (``random_10`` is our ``random`` at 10 % kept).
"""
from __future__ import annotations

#: (train accuracy, test accuracy) per mask, Tables 6.1, 6.2 (global, 2 % floor), 6.5, 6.6 (per layer).
PRUNE_TABLES: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
    ("resnet", "global"): {  # Table 6.1, ResNet50, SGD lr 0.5, 300 epochs
        "random": (0.99816, 0.9133), "magnitude_best": (0.997, 0.9091), "none": (0.998824, 0.89994),
        "magnitude_worst": (0.99728, 0.8968), "coherence_best": (0.96358, 0.1285), "coherence_worst": (0.1014, 0.1),
    },
    ("vit", "global"): {  # Table 6.2, ViT, Adam 1e-4, 300 epochs
        "none": (0.992684, 0.77814), "magnitude_best": (0.98346, 0.7752), "coherence_worst": (0.82108, 0.7642),
        "coherence_best": (0.7723, 0.7413), "random": (0.80194, 0.7402), "magnitude_worst": (0.29234, 0.2806),
    },
    ("resnet", "layer"): {  # Table 6.5
        "none": (0.99974, 0.9102), "random": (0.9973, 0.8986), "magnitude_best": (0.99664, 0.8901),
        "coherence_best": (0.9955, 0.8872), "magnitude_worst": (0.99646, 0.887), "coherence_worst": (0.99722, 0.8834),
    },
    ("vit", "layer"): {  # Table 6.6
        "none": (0.99618, 0.7884), "coherence_best": (0.8494, 0.7707), "magnitude_worst": (0.87538, 0.7559),
        "magnitude_best": (0.87212, 0.7511), "random": (0.87234, 0.7461), "coherence_worst": (0.87292, 0.7458),
    },
}

TABLE_NUMBERS = {("resnet", "global"): "6.1", ("vit", "global"): "6.2", ("resnet", "layer"): "6.5", ("vit", "layer"): "6.6"}

#: Scalar facts the thesis states, with where it states them.
FACTS = {
    "mlp512_params": 2.3e6,        # section 5.4: base MLP of width 512 "2.3M" parameters
    "max_parent_ratio": 62,        # section 5.4: parents up to 62x the base network
    "density": 0.10,               # sections 5.3, 6.1: 10 % of weights kept
    "global_floor": 0.02,          # section 6.1: each layer keeps at least 2 %
    "gap_plateau_width": 1500,     # section 4.1: generalisation gap stops growing near width 1500
    "max_coherence_width": 2800,   # section 4.2 / Fig. 4.4: widest MLP, highest max coherence
    "vit_max_layer_pruning": 0.05,  # caption of Fig. 6.4 as printed
}
