"""Tests of running graphs: the Executor, feeds and fetches, threads, pickling, backends.

A package, so module names here never clash with same-named test modules elsewhere.
"""
