"""`python -m g5k`: the `g5k` command."""

import sys

from g5k.cli.main import main

sys.exit(main())
