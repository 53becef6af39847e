"""`fasttts-desktop speechd install|remove` on a home of the test's own: the module program where
speech-dispatcher looks for it, speechd.conf touched only where it must be, and everything undone."""

from __future__ import annotations

import os
import subprocess

import pytest

from fasttts_desktop.speechd import install

SYSTEM = '# the system\'s speechd.conf\nLogLevel 3\n#AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\n'


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local/share"))
    system = tmp_path / "etc-speechd.conf"
    system.write_text(SYSTEM)
    monkeypatch.setattr(install, "SYSTEM_CONF", system)
    return tmp_path


def _launcher(home):
    return home / ".local/libexec/speech-dispatcher-modules/sd_fasttts"


def _conf(home):
    return home / ".config/speech-dispatcher/speechd.conf"


def test_plain_install_adds_only_the_program(home):
    install.install()
    launcher = _launcher(home)
    assert os.access(launcher, os.X_OK)
    assert not _conf(home).exists()  # modules are found by themselves: the configuration stays the system's
    # the program it runs is this installation's module, which answers speech-dispatcher's INIT
    done = subprocess.run(
        ["sh", str(launcher)], input="QUIT\n", capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 3  # "did not start with INIT": it is the module, refusing a bad start
    install.remove()
    assert not launcher.exists()


def test_default_copies_the_system_file_and_remove_deletes_the_copy(home):
    install.install(default=True)
    text = _conf(home).read_text()
    assert SYSTEM in text
    assert 'DefaultModule "fasttts"' in text
    assert "AddModule" not in text.replace('#AddModule "espeak-ng"', "")
    install.install(default=True)  # twice is once
    assert _conf(home).read_text().count("DefaultModule") == 1
    install.remove()
    assert not _conf(home).exists()


def test_a_configuration_listing_modules_gets_ours_and_keeps_the_rest(home):
    conf = _conf(home)
    conf.parent.mkdir(parents=True)
    mine = 'AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\nDefaultVolume 80\n'
    conf.write_text(mine)
    install.install()
    text = conf.read_text()
    assert text.startswith(mine)
    assert f'AddModule "fasttts" "{_launcher(home)}" "fasttts.conf"' in text
    install.remove()
    assert conf.read_text() == mine
