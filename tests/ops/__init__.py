"""Table-driven op tests: ``cases.py`` holds the table, the ``test_*`` modules check it.

A package, so the table is imported relatively and module names here never
clash with same-named test modules elsewhere under ``tests/``.
"""
