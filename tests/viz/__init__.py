"""Tests of drawing and explaining graphs: DOT/SVG, labels, the NetworkX view, ``explain``.

A package, so module names here never clash with same-named test modules elsewhere.
"""
