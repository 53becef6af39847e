"""The robustness suite: every bad or unusual input in robust_inputs.py through `say` and through the window.

`say` runs in this process (its `main`, with the session's real CPU engine in place of a fresh ~7 s load;
everything else is the real code path: argument parsing, decoding, the streaming writer, the report), so
some fifty inputs cost seconds each rather than a model load each. What only a real process shows (argv
bytes, signals, stdout on /dev/full) is in test_cli_faults.py.
Each input must end with the expected exit status and at most one error line, no traceback, the WAV whole
or absent; in the window, the text must still be there afterwards and any error must be one line.
"""

from __future__ import annotations

import io
import logging
import sys

import pytest
from robust_helpers import assert_whole_wav_or_absent, error_lines
from robust_inputs import CASES, OUTPUT_CASES, Case, params

from fasttts_desktop import cli

pytestmark = pytest.mark.slow


def test_the_suite_is_as_wide_as_promised():
    tags = {c.id.split("-")[0] for c in CASES}
    assert len(CASES) + len(OUTPUT_CASES) >= 40 and len(tags) > 20


@pytest.fixture
def say(engine, monkeypatch, capsys, tmp_path):
    """The runner run(case or argv, stdin=None) -> (exit status, stdout, stderr), with the session
    engine."""
    monkeypatch.setattr(cli, "_load_engine", lambda args: engine)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers = list(root.handlers)

    def run(argv: list[str], stdin: bytes | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        try:
            code = cli.main(argv)  # an exception here would have been a traceback for the user
        except SystemExit as exit_:  # argparse's way out, as in a real process
            code = exit_.code
        finally:
            root.handlers[:] = handlers
        out, err = capsys.readouterr()
        return code, out, err

    return run


def argv_for(case: Case, tmp_path, out) -> list[str]:
    argv = ["say", "-o", str(out), "--device", "cpu", *case.args]
    if case.text is not None:
        argv.insert(1, case.text)
    if case.file is not None:
        path = tmp_path / case.file_name
        path.write_bytes(case.file)
        argv += ["-f", str(path)]
    return argv


@pytest.mark.parametrize("case", params())
def test_say(say, tmp_path, case):
    out = tmp_path / "out.wav"
    code, stdout, stderr = say(argv_for(case, tmp_path, out), case.stdin)
    assert code == case.code, stderr
    assert "Traceback" not in stderr
    errors = error_lines(stderr)
    if case.code:
        assert len(errors) == 1 and case.error in errors[0], stderr
    else:
        assert errors == [] and stdout.startswith(f"wrote {out}"), stderr
    if case.warn:
        assert any(case.warn in line for line in stderr.splitlines() if "warning:" in line), stderr
    assert_whole_wav_or_absent(out, expect=case.code == 0)


@pytest.mark.parametrize(("name", "code", "error"), OUTPUT_CASES)
def test_say_output_names(say, tmp_path, name, code, error):
    out = tmp_path / name
    if name == "existing.wav":
        out.write_bytes(b"not a wav yet")
    code_got, _, stderr = say(["say", "Hi there.", "-o", name, "--device", "cpu"])
    assert code_got == code, stderr
    errors = error_lines(stderr)
    assert (len(errors) == 1 and error in errors[0]) if code else errors == [], stderr
    if code == 0:
        assert_whole_wav_or_absent(out, expect=True)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part") or p.name == "x.wav"]


# --- the window -------------------------------------------------------------------------------------------


@pytest.fixture
def window_app(qtbot, make_app, engine):
    app = make_app(engine, pace=0.02)  # the fake sound card plays fifty times faster than real time
    qtbot.waitUntil(lambda: app.service.is_ready, timeout=120_000)
    return app


pytest_plugins = ["app_fixtures"]


def test_window_keeps_the_text_and_answers_every_input_in_one_line(qtbot, window_app):
    app = window_app
    w, service = app.window, app.service
    crashes: list[str] = []
    service.crashed.connect(crashes.append)
    problems = []
    chunks: list = []
    service.chunk_played.connect(lambda request, chunk: chunks.append(chunk))
    for case in [c for c in CASES if c.window]:
        text = case.as_text
        w.text_edit.setPlainText(text)
        before = w.text_edit.toPlainText()
        if "--voice" in case.args:
            index = w.voice_box.findData(case.args[case.args.index("--voice") + 1])
            if index >= 0:
                w.voice_box.setCurrentIndex(index)
        chunks.clear()
        w.speak()
        # an answer is what matters here, not the whole reading: stop once the first chunk is out
        qtbot.waitUntil(lambda: bool(chunks) or not service.busy, timeout=180_000)
        if service.busy:
            w.stop()
        after = w.text_edit.toPlainText()
        error = w.error_label.text() if w.error_label.isVisible() else ""
        if after != before:
            problems.append(f"{case.id}: the text changed")
        if "\n" in error or "Traceback" in error:
            problems.append(f"{case.id}: error not one line: {error!r}")
        if case.code == 0 and error:
            problems.append(f"{case.id}: unexpected error {error!r}")
        if case.code and not case.args and case.error not in error:  # the text itself is the problem
            problems.append(f"{case.id}: expected an error with {case.error!r}, got {error!r}")
        if case.warn and case.code and not case.args and "cannot read" not in w.banner.text():
            problems.append(f"{case.id}: no script warning in the window")
    assert not crashes, crashes
    assert not problems, "\n".join(problems)
