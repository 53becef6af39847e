"""`fasttts-desktop speechd install|remove`: make `fasttts` one of the user's speech-dispatcher voices
(the work is fasttts_desktop/speechd/install.py's)."""

from __future__ import annotations

import shutil
import sys

from fasttts_desktop.cli import _Parser  # one-line errors, as every command
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.speechd.install import MODULE, install, remove


def main(argv: list[str]) -> int:
    p = _Parser(
        prog="fasttts-desktop speechd",
        description="Make fasttts a speech-dispatcher voice for every program (Orca, browsers, Okular...).",
    )
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("install", help="add the fasttts module to your speech-dispatcher")
    add.add_argument("--default", action="store_true", help="also make it speech-dispatcher's default module")
    sub.add_parser("remove", help="take the fasttts module out again")
    args = p.parse_args(argv)
    try:
        done = install(args.default) if args.action == "install" else remove()
    except (OSError, EngineError) as exc:
        print(f"fasttts-desktop: error: {exc}", file=sys.stderr)
        return 2
    for line in done or ["nothing to remove"]:
        print(line)
    if shutil.which("speech-dispatcher") is None:
        print("note: speech-dispatcher is not installed (Debian: apt install speech-dispatcher)")
    else:
        print(
            "speech-dispatcher reads this when it next starts (it starts by itself when a program speaks; "
            "to restart a running one: `systemctl --user restart speech-dispatcher` or end its process); "
            f"try: spd-say -o {MODULE} 'Hello'"
        )
    return 0
