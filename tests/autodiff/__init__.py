"""Tests of the derivative passes: reverse mode, forward mode, and how one gives the other.

A package, so module names here never clash with same-named test modules elsewhere.
"""
