"""An unwritable home (a read-only file system, or a settings path under a regular file): the app works
from a temporary folder for the run and says once, in one line, what cannot be saved and why; commands
whose only point is saving refuse with one line. Real processes (no model needed) and the real window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_fixtures import make_app, settings_path  # noqa: F401
from robust_helpers import assert_model_not_loaded, assert_one_line_error, read_only_folder, run_cli, text_of

from fasttts_desktop.engine.storage import paths, unsaved
from fasttts_desktop.ui.app import _say_what_cannot_be_saved

DIRS = ("FASTTTS_CACHE_DIR", "FASTTTS_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")


@pytest.fixture
def home_env(tmp_path):
    """HOME on a read-only tmpfs (root may mount here), with every settings and cache folder under it."""
    env = {k: v for k, v in os.environ.items() if k not in DIRS}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    with read_only_folder(tmp_path / "home") as home:
        env["HOME"] = str(home)
        yield env, home


def warnings_of(result) -> list[str]:
    return [line for line in text_of(result.stderr).splitlines() if "warning:" in line]


def test_a_command_that_reads_settings_runs_and_says_once_why_nothing_is_saved(home_env, tmp_path):
    env, home = home_env
    r = run_cli(["phonemes", "Hello there."], env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, text_of(r.stderr)
    assert "həlˈO" in text_of(r.stdout)
    (line,) = warnings_of(r)
    assert f"Cannot save settings, the lexicon and saved blends in {home}/.config/fasttts-desktop (" in line
    assert f"the converted model in {home}/.cache/fasttts-desktop (read-only file system)" in line
    assert "Errno" not in text_of(r.stderr)
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    "args", [["lexicon", "add", "tomato", "tomahto"], ["blend", "save", "mix", "jm_kumo:1,jf_alpha:1"]]
)
def test_a_command_that_only_saves_refuses_in_one_line(home_env, tmp_path, args):
    env, home = home_env
    r = run_cli(args, env, cwd=tmp_path, timeout=300)
    line = assert_one_line_error(r, f"cannot save settings, the lexicon and saved blends in {home}/.config")
    assert line.endswith("(read-only file system); nothing was changed"), line
    assert warnings_of(r) == []  # the error says it; no second line
    assert_model_not_loaded(r)


def test_a_settings_path_under_a_file_is_not_a_directory(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = {**os.environ, "FASTTTS_CONFIG_DIR": str(blocker / "cfg")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    r = run_cli(["lexicon", "list"], env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, text_of(r.stderr)
    (line,) = warnings_of(r)
    assert f"in {blocker}/cfg (not a directory): this run keeps them only until it ends." in line


def test_the_window_says_it_once_in_its_banner(make_app, tmp_path, monkeypatch):  # noqa: F811
    app = make_app()
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("FASTTTS_CONFIG_DIR", str(blocker / "cfg"))
    monkeypatch.setattr(unsaved, "_missing", {})
    monkeypatch.setattr(unsaved, "_told", [])
    monkeypatch.setattr(unsaved, "_temp", [])
    _say_what_cannot_be_saved(app.window)
    banner = app.window.banner.text()
    assert f"Cannot save settings, the lexicon and saved blends in {blocker}/cfg (not a directory)" in banner
    assert app.window.banner.isVisible()
    assert unsaved.is_stand_in(paths.config_dir())  # the run goes on from the temporary folder
    _say_what_cannot_be_saved(app.window)  # asked again: said once
    assert app.window.banner.text().count("Cannot save") == 1
