"""Run `fasttts-desktop say ...` in this process, then print which of some modules it imported (JSON).

Usage: python modules_after_say.py MODULE[,MODULE...] say ARGS...   (exit status: the CLI's)
"""

from __future__ import annotations

import json
import sys

from fasttts_desktop.cli import main

if __name__ == "__main__":
    watched, argv = sys.argv[1].split(","), sys.argv[2:]
    rc = main(argv)
    print(json.dumps({name: name in sys.modules for name in watched}))
    sys.exit(rc)
