"""Tests of the ops with sub-graphs: ``cond`` (and the loops).

A package, so module names here never clash with same-named test modules elsewhere.
"""
