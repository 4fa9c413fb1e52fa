"""Tests of the command line: its commands, exit statuses and safe expression parser.

A package, so module names here never clash with same-named test modules elsewhere.
"""
