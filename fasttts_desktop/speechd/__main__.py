"""`python -m fasttts_desktop.speechd`: the output module's program (also the `fasttts-speechd` command)."""

import sys

from fasttts_desktop.speechd.module import main

sys.exit(main())
