"""The package's rooms and their one-way doors, read from the source (every import, at any depth).

A room is a top-level package (`ui`, `worker`, `playback`, `export`, `cli`, `bench`) or a part of `engine`
(`engine.text`, `engine.synthesis`, `engine.weights`, `engine.storage`, and each of engine's own modules).
No two rooms import each other, however indirectly; the Qt-free rooms never reach Qt or the rooms above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fasttts_desktop"


def _room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "engine":
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else parts[0]


def _imports() -> dict[str, set[str]]:
    """module -> the modules (fasttts_desktop.* and PySide6) it imports anywhere in its source."""
    out: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        out[module] = {n for n in names if n.startswith(("fasttts_desktop.", "PySide6"))}
    return out


def _room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, names in _imports().items():
        for name in names:
            if name.startswith("fasttts_desktop.") and _room(name) != _room(module):
                graph.setdefault(_room(module), set()).add(_room(name))
    return graph


def test_no_two_rooms_import_each_other():
    graph = _room_graph()
    # every room that reaches back to itself: a cycle
    looped = []
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            room = todo.pop()
            if room == start:
                looped.append(start)
                break
            if room not in seen:
                seen.add(room)
                todo.extend(graph.get(room, ()))
    assert not looped, {room: sorted(graph[room]) for room in looped}


@pytest.mark.parametrize(
    ("room", "never"),
    [
        ("engine", ("PySide6", "fasttts_desktop.ui", "fasttts_desktop.worker", "fasttts_desktop.playback")),
        ("export", ("PySide6", "fasttts_desktop.ui", "fasttts_desktop.worker", "fasttts_desktop.playback")),
        ("playback", ("PySide6", "fasttts_desktop.ui", "fasttts_desktop.worker")),
        ("worker", ("fasttts_desktop.ui",)),
    ],
)
def test_a_room_never_reaches_up(room, never):
    found = {
        (module, name)
        for module, names in _imports().items()
        if module.startswith(f"fasttts_desktop.{room}")
        for name in names
        if name.startswith(never)
    }
    assert not found, sorted(found)
