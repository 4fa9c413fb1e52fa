"""Tests of control flow: ``cond`` and the loops (``scan``, ``fori_loop``, ``while_loop``).

A package, so module names here never clash with same-named test modules elsewhere.
"""
