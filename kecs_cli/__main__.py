"""`python -m kecs_cli` is `kecs-secrets`."""

import sys

from kecs_cli.main import main

sys.exit(main())
