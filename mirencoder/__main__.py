"""Allows ``python -m mirencoder``."""

from mirencoder.cli import main

raise SystemExit(main())
