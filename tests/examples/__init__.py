"""What a user copies must run: the notebooks, the example scripts, the README's Python.

A package, so module names here never clash with same-named test modules elsewhere.
"""
