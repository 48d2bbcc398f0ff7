"""``python -m autograder``: the course's command line."""

import sys

from .cli import main

sys.exit(main())
