"""``python -m reclio``: the ``reclio`` command."""

import sys

from reclio.cli import main

sys.exit(main())
