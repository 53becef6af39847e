"""The window's command with no display, or with a PATH that is not there, as real processes: one line and
exit status 2 before Qt starts (Qt itself aborts with SIGABRT and a core when it finds no display)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from robust_helpers import assert_model_not_loaded, assert_one_line_error, run_cli


@pytest.fixture
def no_display_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def test_no_display_is_one_line_not_an_abort(no_display_env, tmp_path):
    r = run_cli([], no_display_env, cwd=tmp_path, timeout=120)
    line = assert_one_line_error(r, "no display found")
    assert "desktop session" in line and "say" in line
    assert "Reinstalling" not in r.stderr.decode()
    assert_model_not_loaded(r)


def test_an_existing_document_with_no_display_is_the_same_line(no_display_env, tmp_path):
    doc = tmp_path / "book.txt"
    doc.write_text("Hello there.\n")
    r = run_cli([str(doc)], no_display_env, cwd=tmp_path, timeout=120)
    assert_one_line_error(r, "no display found")


@pytest.mark.parametrize(
    ("word", "fragment"),
    [
        ("sya", "unknown command or missing file 'sya' (did you mean 'say'?)"),
        ("voises", "did you mean 'voices'?"),
        ("frobnicate", "unknown command or missing file 'frobnicate' (commands: say,"),
        ("missing/book.epub", "missing/book.epub: no such file"),
    ],
)
def test_a_mistyped_command_or_missing_file_is_named_before_qt(no_display_env, tmp_path, word, fragment):
    # the path is checked first: with or without a display, Qt never starts for it
    for env in (no_display_env, {**no_display_env, "QT_QPA_PLATFORM": "offscreen"}):
        r = run_cli([word], env, cwd=tmp_path, timeout=120)
        assert_one_line_error(r, fragment)
        assert_model_not_loaded(r)
