"""ADBench's published J/obj (derivative time / objective time, same language), quoted beside
our results.

Sources, all in the microsoft/ADBench repository (commit 38cb793):

* GMM and Hand: the 2015 timing files behind the paper's figures,
  ``data/gmm/{1k,10k}/times_24-Sep-2015.mat`` and ``data/hand/*/times_24-Sep-2015.mat``
  (``times_J / times_f`` per tool and size).  GMM tools: Manual (C++), Tapenade (C),
  Theano (vector) (Python); these files stop at d = 64 (no d = 128).  Hand tools: Manual
  (C++ Eigen), ADOL-C (C++ light), Adept (C++ light); Tapenade did not run Hand.
* BA: the relative-runtime table of the paper (Šrajer, Kukelova, Fitzgibbon 2018,
  ``Documents/ms.tex``, table "Relative runtimes for BA"), whose columns are ba1 (3.18e4
  measurements), ba4 (2.04e5) and ba7 (2.87e5) ...; ba2 is not a column.
* D-LSTM is not in the paper (it came to ADBench in 2019); nothing is quoted.
"""

from __future__ import annotations

GMM_TOOLS = ("Manual", "Tapenade", "Theano(vec)")

# (points, d, K) -> J/obj of GMM_TOOLS (None: the tool did not finish or crashed)
GMM: dict[tuple[str, int, int], tuple[float | None, ...]] = {
    ("1k", 2, 5): (2.08, 3.63, 3.14),
    ("1k", 2, 10): (1.95, 3.84, 3.26),
    ("1k", 2, 25): (1.96, 4.08, 3.33),
    ("1k", 2, 50): (2.22, 4.10, 3.38),
    ("1k", 10, 5): (2.93, 7.44, 3.48),
    ("1k", 2, 100): (2.01, 4.16, 3.46),
    ("1k", 10, 10): (2.92, 7.79, 3.72),
    ("1k", 20, 5): (3.34, 10.35, 3.86),
    ("1k", 2, 200): (2.16, 4.28, 3.48),
    ("1k", 10, 25): (3.09, 7.98, 3.80),
    ("1k", 20, 10): (3.69, 10.40, 4.32),
    ("1k", 32, 5): (4.30, 12.17, 4.93),
    ("1k", 10, 50): (3.03, 8.20, 3.80),
    ("1k", 32, 10): (4.21, 12.27, 5.22),
    ("1k", 20, 25): (3.66, 10.33, 4.25),
    ("1k", 10, 100): (3.06, 8.25, 3.77),
    ("1k", 64, 5): (5.29, 14.46, 7.33),
    ("1k", 20, 50): (3.61, 10.53, 4.20),
    ("1k", 10, 200): (3.25, 8.33, 3.72),
    ("1k", 32, 25): (3.88, 11.96, 4.80),
    ("1k", 64, 10): (5.81, 15.01, 8.54),
    ("1k", 20, 100): (3.76, 10.75, 4.24),
    ("1k", 32, 50): (4.38, 11.91, 5.11),
    ("1k", 20, 200): (3.70, 10.54, 4.27),
    ("1k", 64, 25): (6.10, 14.97, 9.53),
    ("1k", 32, 100): (4.41, 11.93, 5.14),
    ("1k", 64, 50): (6.23, 15.64, 10.25),
    ("1k", 32, 200): (4.30, 11.87, 5.15),
    ("1k", 64, 100): (6.56, 15.91, 10.95),
    ("1k", 64, 200): (7.20, 15.61, 10.97),
    ("10k", 2, 5): (1.88, 3.74, 3.01),
    ("10k", 2, 10): (2.13, 3.99, 3.19),
    ("10k", 2, 25): (2.17, 4.14, 3.30),
    ("10k", 2, 50): (2.17, 4.48, 3.23),
    ("10k", 10, 5): (2.94, 7.69, 3.82),
    ("10k", 2, 100): (2.12, 4.32, 3.29),
    ("10k", 10, 10): (3.04, 7.52, 3.99),
    ("10k", 20, 5): (3.61, 10.62, 4.27),
    ("10k", 2, 200): (2.18, 4.09, 3.26),
    ("10k", 10, 25): (3.14, 9.09, 4.06),
    ("10k", 20, 10): (3.71, 8.47, 4.41),
    ("10k", 32, 5): (4.26, 11.99, 5.03),
    ("10k", 10, 50): (3.13, 7.93, 4.06),
    ("10k", 32, 10): (4.23, 9.99, 5.18),
    ("10k", 20, 25): (3.67, 10.64, 4.46),
    ("10k", 10, 100): (3.08, 7.25, 4.01),
    ("10k", 64, 5): (5.48, 13.37, 7.24),
    ("10k", 20, 50): (3.66, 10.18, 4.40),
    ("10k", 10, 200): (3.13, 8.24, 4.11),
    ("10k", 32, 25): (4.17, 11.77, 4.88),
    ("10k", 64, 10): (5.97, 12.10, 8.17),
    ("10k", 20, 100): (3.77, 10.88, 4.42),
    ("10k", 32, 50): (4.39, 11.09, 4.98),
    ("10k", 20, 200): (3.73, 10.31, None),
    ("10k", 64, 25): (6.16, 13.29, 8.75),
    ("10k", 32, 100): (4.33, 11.76, 5.20),
    ("10k", 64, 50): (6.34, 14.31, 9.16),
    ("10k", 32, 200): (4.46, 11.60, None),
    ("10k", 64, 100): (6.59, 15.40, None),
    ("10k", 64, 200): (7.21, 15.48, None),
}

BA_TOOLS = ("Manual", "Tapenade", "Theano", "MuPAD")

# ba instance -> J/obj of BA_TOOLS
BA: dict[str, tuple[float | None, ...]] = {
    "ba1": (6.72, 8.78, 9.24, 1.72),
    "ba4": (7.23, 8.68, 9.61, 2.18),
    "ba7": (6.46, 8.54, 9.41, 2.27),
}

HAND_TOOLS = ("Manual", "ADOL-C", "Adept")

# (variant_model, correspondences) -> J/obj of HAND_TOOLS
HAND: dict[tuple[str, int], tuple[float | None, ...]] = {
    ("simple_small", 100): (2.45, 17.45, 25.76),
    ("simple_small", 192): (2.44, 15.93, 32.31),
    ("simple_small", 200): (2.62, 16.85, 31.08),
    ("simple_small", 400): (2.74, 17.95, 30.14),
    ("simple_small", 800): (2.99, 17.65, 33.64),
    ("simple_small", 1600): (3.15, 18.89, 33.79),
    ("simple_small", 3200): (4.03, 20.01, 33.40),
    ("simple_small", 6400): (5.74, 22.39, 35.52),
    ("simple_small", 12800): (7.89, 26.24, 43.12),
    ("simple_small", 25600): (12.52, 34.64, 36.54),
    ("simple_small", 51200): (19.29, 47.99, 50.50),
    ("simple_small", 100000): (26.72, 67.11, 63.27),
    ("simple_big", 100): (4.87, 18.21, 36.56),
    ("simple_big", 192): (4.17, 21.65, 38.65),
    ("simple_big", 200): (4.33, 21.08, 37.98),
    ("simple_big", 400): (4.73, 20.65, 36.41),
    ("simple_big", 800): (3.05, 21.11, 37.39),
    ("simple_big", 1600): (2.86, 20.94, 37.39),
    ("simple_big", 3200): (4.47, 21.32, 37.83),
    ("simple_big", 6400): (5.08, 21.54, 37.80),
    ("simple_big", 12800): (3.22, 21.75, 37.52),
    ("simple_big", 25600): (3.83, 21.19, 38.12),
    ("simple_big", 51200): (6.55, 23.20, 37.02),
    ("simple_big", 100000): (7.67, 23.14, 38.64),
    ("complicated_small", 100): (2.30, 33.43, 43.65),
    ("complicated_small", 192): (2.52, 33.43, 41.25),
    ("complicated_small", 200): (2.40, 34.12, 42.62),
    ("complicated_small", 400): (2.74, 36.30, 44.02),
    ("complicated_small", 800): (3.06, 35.49, 43.49),
    ("complicated_small", 1600): (3.99, 40.18, 44.42),
    ("complicated_small", 3200): (5.66, 53.92, 47.90),
    ("complicated_small", 6400): (8.38, 72.97, 52.00),
    ("complicated_small", 12800): (13.18, 97.70, 64.80),
    ("complicated_small", 25600): (21.49, 179.60, 79.54),
    ("complicated_small", 51200): (28.92, 220.81, 100.15),
    ("complicated_small", 100000): (35.26, 269.53, 117.82),
    ("complicated_big", 100): (4.91, 30.89, 46.46),
    ("complicated_big", 192): (4.73, 31.17, 46.27),
    ("complicated_big", 200): (4.70, 30.24, 45.69),
    ("complicated_big", 400): (4.82, 30.09, 46.40),
    ("complicated_big", 800): (3.02, 29.95, 45.68),
    ("complicated_big", 1600): (4.66, 30.87, 46.26),
    ("complicated_big", 3200): (4.90, 32.74, 46.62),
    ("complicated_big", 6400): (2.87, 32.88, 46.64),
    ("complicated_big", 12800): (2.89, 34.70, 46.47),
    ("complicated_big", 25600): (6.08, 36.66, 46.78),
    ("complicated_big", 51200): (5.11, 44.39, 50.87),
    ("complicated_big", 100000): (9.32, 54.62, 53.37),
}


def quoted(tools: tuple[str, ...], values: tuple[float | None, ...] | None) -> dict[str, float]:
    """``{tool: J/obj}`` for the tools with a number."""
    if values is None:
        return {}
    return {t: v for t, v in zip(tools, values) if v is not None}
