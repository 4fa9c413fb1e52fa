"""Tests of the compiler stage: rewrites, planning, generated code, memory.

A package, so module names here never clash with same-named test modules elsewhere.
"""
