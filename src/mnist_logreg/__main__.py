"""``python -m mnist_logreg`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
