"""Checks of the code base as a whole: style, the direction of imports, docs/layout.md.

A package, so module names here never clash with same-named test modules elsewhere.
"""
