"""Tests of the intermediate representation: nodes, types, the op contract, errors.

A package, so module names here never clash with same-named test modules elsewhere.
"""
