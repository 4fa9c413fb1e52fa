"""Tests of the numerical tools on graphs: finite differences, check_gradients, minimize.

A package, so module names here never clash with same-named test modules elsewhere.
"""
