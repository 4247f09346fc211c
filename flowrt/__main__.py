"""`python -m flowrt` is the `flowrt` command."""

import sys

from flowrt.cli import main

sys.exit(main())
