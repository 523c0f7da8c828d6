"""Run tuimail as ``python -m tuimail``."""

from tuimail.cli import main

raise SystemExit(main())
