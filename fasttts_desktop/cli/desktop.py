"""`install-desktop-entry [--remove]`: the app's menu entry, icons and document types (desktop/entry.py)."""

from __future__ import annotations

import argparse

COMMANDS = ("install-desktop-entry",)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "install-desktop-entry",
        help="add FastTTS to the desktop's application menu, with its icon and document types",
    )
    p.add_argument("--remove", action="store_true", help="take the entry and icons away again")


def run(args: argparse.Namespace) -> int:
    from fasttts_desktop.desktop import entry

    home = entry.data_home()
    if args.remove:
        removed = entry.remove(home)
        print(f"Removed {len(removed)} files from {home}." if removed else f"Nothing to remove in {home}.")
        return 0
    written = entry.install(home)
    print(
        f"Wrote {entry.desktop_file(home)} and {len(written) - 1} icons; FastTTS is in the application menu."
    )
    return 0
