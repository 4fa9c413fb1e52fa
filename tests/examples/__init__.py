"""What a user copies must run: the notebooks, the example scripts, the Python blocks of
the README and docs/*.md.

A package, so module names here never clash with same-named test modules elsewhere.
"""
