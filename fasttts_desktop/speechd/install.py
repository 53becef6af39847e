"""`fasttts-desktop speechd install|remove`: make `fasttts` one of the user's speech-dispatcher modules.

speech-dispatcher finds modules by itself in the user's module folder
($XDG_DATA_HOME/../libexec/speech-dispatcher-modules, i.e. ~/.local/libexec/...) as programs named
`sd_<name>`, as long as its configuration names no module with AddModule (Debian's and upstream's default).
So install puts a two-line `sd_fasttts` there that runs this installation's module, and only where the
user's speechd.conf does list modules, or with --default, adds lines to it between marker comments.
A speechd.conf the user did not have is made from the system's, as `spd-conf -u` does (speech-dispatcher
reads the user's file instead of the system's, not beside it); remove takes our lines out again and
deletes such a copy when nothing else in it changed.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

from fasttts_desktop.engine.storage.files import write_text_atomic

MODULE = "fasttts"
BEGIN = "# >>> fasttts-desktop (fasttts-desktop speechd remove takes this out)"
END = "# <<< fasttts-desktop"
COPIED = "# fasttts-desktop: copied from {} by `fasttts-desktop speechd install`"
SYSTEM_CONF = Path("/etc/speech-dispatcher/speechd.conf")
_ADD_MODULE = re.compile(r"^\s*AddModule\s", re.IGNORECASE | re.MULTILINE)


def _xdg(name: str, fallback: str) -> Path:
    value = os.environ.get(name)
    return Path(value) if value and Path(value).is_absolute() else Path.home() / fallback


def module_dir() -> Path:
    """speech-dispatcher's own rule: the data home's sibling libexec folder (it opens the path with the
    "..", so the data home must exist too)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / ".." / "libexec" / "speech-dispatcher-modules"


def config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "speech-dispatcher" / "speechd.conf"


def program() -> list[str]:
    """The command that runs this installation's module: the `fasttts-speechd` entry point beside this
    Python if installed, else this Python running the package."""
    script = Path(sys.executable).parent / "fasttts-speechd"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "fasttts_desktop.speechd"]


def _launcher() -> str:
    env = ""
    if os.environ.get("PYTHONPATH"):  # a checkout run without installing: keep finding it
        env = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} "
    return (
        "#!/bin/sh\n# speech-dispatcher's `fasttts` module; written by `fasttts-desktop speechd install`\n"
        f'{env}exec {shlex.join(program())} "$@"\n'
    )


def _without_block(text: str) -> str:
    return re.sub(rf"\n?{re.escape(BEGIN)}\n.*?{re.escape(END)}\n?", "\n", text, flags=re.DOTALL)


def install(default: bool = False) -> list[str]:
    """Install the module; returns what was done, one line each."""
    done = []
    folder = module_dir()
    _xdg("XDG_DATA_HOME", ".local/share").mkdir(parents=True, exist_ok=True)
    folder.resolve().mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    launcher = folder / f"sd_{MODULE}"
    write_text_atomic(launcher, _launcher())
    launcher.chmod(0o755)
    done.append(f"module program: {launcher}")
    conf = config_file()
    current = conf.read_text(encoding="utf-8") if conf.is_file() else None
    effective = current if current is not None else _system_conf()
    lists_modules = bool(_ADD_MODULE.search(_without_block(effective or "")))
    if not (default or lists_modules):
        if current is not None and BEGIN in current:  # an earlier --default, now undone
            _write_conf(conf, _without_block(current))
        return done
    lines = [BEGIN]
    if lists_modules:
        lines.append(f'AddModule "{MODULE}" "{launcher}" "{MODULE}.conf"')
    if default:
        lines.append(f'DefaultModule "{MODULE}"')
    lines.append(END)
    base = current
    if base is None:
        base = COPIED.format(SYSTEM_CONF) + "\n" + (effective or "")
    text = _without_block(base).rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    _write_conf(conf, text)
    done.append(f"configuration: {conf}")
    return done


def remove() -> list[str]:
    done = []
    launcher = module_dir().resolve() / f"sd_{MODULE}"
    if launcher.is_file():
        launcher.unlink()
        done.append(f"removed {launcher}")
    conf = config_file()
    if conf.is_file():
        text = conf.read_text(encoding="utf-8")
        if BEGIN in text:
            rest = _without_block(text).rstrip("\n") + "\n"
            header = COPIED.format(SYSTEM_CONF) + "\n"
            if rest.startswith(header) and rest[len(header) :].rstrip("\n") == (_system_conf() or "").rstrip(
                "\n"
            ):
                # our copy of the system's file, unchanged: speech-dispatcher reads the system's again
                conf.unlink()
                done.append(f"removed {conf}")
            else:
                _write_conf(conf, rest)
                done.append(f"took fasttts out of {conf}")
    return done


def _system_conf() -> str | None:
    try:
        return SYSTEM_CONF.read_text(encoding="utf-8")
    except OSError:
        return None


def _write_conf(conf: Path, text: str) -> None:
    conf.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(conf, text)
