"""``python -m graphad``: see :mod:`graphad.cli`."""

from graphad.cli import main

raise SystemExit(main())
