"""`python -m courtdoc.cli` runs the command line."""

from .main import main

raise SystemExit(main())
