"""What the CLI says when it is given something wrong, as a user runs it (real processes, no model load):
one line, naming a command that can be typed, and the reason, never a value the user did not type."""

from __future__ import annotations

import json
import os
import re

import pytest
from robust_helpers import REPO, assert_model_not_loaded, assert_one_line_error, run_cli, text_of


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    return {**os.environ, "PYTHONPATH": str(REPO), "FASTTTS_CONFIG_DIR": str(config)}


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["say"], id="say-without-output"),
        pytest.param(["say", "Hi.", "-o", "a.wav", "--speed"], id="say-option-without-value"),
        pytest.param(["lexicon"], id="lexicon-without-subcommand"),
        pytest.param(["lexicon", "add", "word"], id="lexicon-add-missing-replacement"),
        pytest.param(["blend", "save", "duo"], id="blend-save-missing-spec"),
        pytest.param(["--no-such-option"], id="unknown-option"),
    ],
)
def test_argument_errors_are_one_line_naming_a_command_that_exists(env, argv):
    result = run_cli(argv, env, timeout=120)
    line = assert_one_line_error(result, "")
    assert len(text_of(result.stderr).strip().splitlines()) == 1, result.stderr
    hint = re.search(r"\(see (fasttts-desktop(?: [a-z]+)*) --help\)$", line)
    assert hint is not None, line
    # the command it names answers --help
    words = hint.group(1).split()[1:]
    helped = run_cli([*words, "--help"], env, timeout=120)
    assert helped.returncode == 0 and "usage: fasttts-desktop" in text_of(helped.stdout), helped.stderr


def test_a_blend_weight_of_400_nines_is_refused_before_the_model_loads(env, tmp_path):
    nines = "9" * 400
    result = run_cli(
        ["say", "Hi.", "-o", str(tmp_path / "a.wav"), "--voice", f"jm_kumo:{nines},jf_alpha:1"], env
    )
    line = assert_one_line_error(result, "is too large")
    assert "nan" not in line and nines not in line and len(line) < 200, line
    assert_model_not_loaded(result)
    assert not list(tmp_path.glob("*.wav"))


SAVED = {
    "zero": [["jm_kumo", 0]],
    "negative": [["jm_kumo", -1], ["jf_alpha", 1]],
    "not-a-number": [["jm_kumo", float("nan")]],
    "infinite": [["jm_kumo", float("inf")], ["jf_alpha", 1]],
    "huge": [["jm_kumo", 1e308], ["jf_alpha", 1e308]],  # finite: a half-and-half mix
}
REASONS = {
    "zero": "add up to nothing",
    "negative": "is negative (-1)",
    "not-a-number": "is not a number (NaN)",
    "infinite": "is infinite",
}


def test_saved_blends_with_bad_weights_are_reported_with_the_reason(env, tmp_path):
    blends = tmp_path / "config" / "blends.json"
    blends.write_text(json.dumps(SAVED), encoding="utf-8")  # json writes NaN and Infinity, as Python reads
    listed = run_cli(["blend", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert text_of(listed.stdout).splitlines() == ["huge\tjm_kumo:50,jf_alpha:50"]
    warnings = [line for line in text_of(listed.stderr).splitlines() if "warning:" in line]
    assert len(warnings) == len(REASONS), listed.stderr
    for name, reason in REASONS.items():
        assert any(f"'{name}'" in w and reason in w for w in warnings), (name, listed.stderr)

    for name, reason in [("not-a-number", REASONS["not-a-number"]), ("zero", REASONS["zero"])]:
        result = run_cli(["say", "Hi.", "-o", str(tmp_path / "a.wav"), "--voice", name], env)
        line = assert_one_line_error(result, reason)
        assert "Unknown voice" not in line and str(blends) in line, line
        assert_model_not_loaded(result)


def test_a_10000_character_lexicon_word_is_named_not_echoed(env, tmp_path):
    word = "w" * 10_000
    lexicon = tmp_path / "config" / "lexicon.json"
    lexicon.write_text(
        json.dumps(
            {
                "version": 1,
                "entries": [{"text": word, "replacement": "x"}, {"text": "ok", "replacement": "fine"}],
            }
        ),
        encoding="utf-8",
    )
    listed = run_cli(["lexicon", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert text_of(listed.stdout).splitlines() == ["ok\tfine\trespelling"]
    warnings = [line for line in text_of(listed.stderr).splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "10,000 characters" in warnings[0] and "limited to 100" in warnings[0]
    assert len(warnings[0]) < 300, len(warnings[0])

    added = run_cli(["lexicon", "add", word, "x"], env)
    line = assert_one_line_error(added, "limited to 100 characters")
    assert len(line) < 200


def test_a_folder_given_as_weights_is_called_a_folder(env, tmp_path):
    result = run_cli(
        ["say", "Hi.", "-o", str(tmp_path / "a.wav"), "--weights", str(tmp_path), "--device", "cpu"], env
    )
    line = assert_one_line_error(result, "is a folder")
    assert "not found" not in line, line
