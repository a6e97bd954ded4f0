"""``python -m jlml_core`` runs the command line."""

import sys

from jlml_core.cli import main

sys.exit(main())
