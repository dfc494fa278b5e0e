"""`python -m ragbot.cli`: the `ragbot` command."""

import sys

from ragbot.cli import main

sys.exit(main())
