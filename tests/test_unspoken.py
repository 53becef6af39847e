"""Every character is either spoken or reported: control characters, NFC, unspeakable symbols and scripts,
and a chunk the model fails on (issue 9's text failures, issue 8 deliverable 6, engine side)."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from fasttts_desktop.engine.types import EngineError

# New modules are imported inside the tests, so that on a tree without them the behaviour tests still run
# (and fail for what they check, not for an import).


@pytest.fixture(scope="module")
def fe():
    from fasttts_desktop.engine.text.frontend import FrontEnd

    return FrontEnd("a")


def spoken_words(fe, text: str) -> list[str]:
    return [t.text for pc in fe.chunks(text) for t in pc.tokens if any(c.isalnum() for c in t.phonemes)]


def unspoken(fe, text: str) -> list[tuple[int, str]]:
    return [u for pc in fe.chunks(text) for u in pc.unspoken]


# --- prepare(): what G2P sees ----------------------------------------------------------------------------


def test_plain_text_is_passed_as_is():
    from fasttts_desktop.engine.text.prepare import prepare

    p = prepare("Hello, world. Café au lait.")
    assert p.text == "Hello, world. Café au lait." and p.offsets is None and p.blanked == ()


def test_decomposed_text_is_composed_and_offsets_point_into_the_input():
    from fasttts_desktop.engine.text.prepare import prepare

    nfd = "cafe\u0301 re\u0301sume\u0301"
    p = prepare(nfd)
    assert p.text == unicodedata.normalize("NFC", nfd) == "café résumé"
    assert [p.source(j) for j in range(len(p.text) + 1)][:6] == [0, 1, 2, 3, 5, 6]
    assert p.source(len(p.text)) == len(nfd)


def test_controls_are_blanked_and_invisible_format_characters_dropped():
    from fasttts_desktop.engine.text.prepare import prepare

    p = prepare("a\x00b\u00adc\u200bd\ufeffe\x1bf")
    assert p.text == "a bcde f"
    assert p.blanked == (1, 9)
    assert [p.source(j) for j in range(len(p.text))] == [0, 1, 2, 4, 6, 8, 9, 10]


def test_what_is_worth_reporting():
    from fasttts_desktop.engine.text.prepare import reportable

    assert all(reportable(c) for c in "a1★\x00\ue000ᏣU")
    assert not any(reportable(c) for c in " \t\n.,!?;:()«»\u00ad\u200b")


def test_the_report_names_invisible_characters_and_stays_one_line():
    from fasttts_desktop.engine.text.prepare import describe_unspoken

    line = describe_unspoken([(3, "★☆"), (10, "\x00"), (20, "ᏣᎳᎩ")])
    assert line == "6 characters were not spoken: ★☆ U+0000 ᏣᎳᎩ (at 3, 10, 20)"
    many = describe_unspoken([(i * 2, "★") for i in range(100)], limit=5)
    assert many.startswith("100 characters were not spoken: ★ ★ ★ ★ ★ …") and "\n" not in many
    assert describe_unspoken([]) == ""


# --- the front end ----------------------------------------------------------------------------------------


def test_a_control_character_between_words_loses_neither_word(fe):
    # issue 9: "hello<NUL>world" used to lose "world" (espeak is C: NUL ends its string)
    for control in ("\x00", "\x07", "\x1b", "\x7f", "\x9b"):
        text = f"Say hello{control}world and more."
        assert spoken_words(fe, text) == ["Say", "hello", "world", "and", "more"], repr(control)
        assert unspoken(fe, text) == [(9, control)]


def test_decomposed_text_sounds_like_composed_text(fe):
    # issue 9: NFD text was pronounced differently from the same text in NFC
    nfc = "Crème brûlée, café and résumé in Zürich."
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    (a,), (b,) = list(fe.chunks(nfc)), list(fe.chunks(nfd))
    assert a.chunk.phonemes == b.chunk.phonemes
    # offsets and word texts are the caller's own (the window highlights its own text)
    assert b.chunk.text == nfd and (b.chunk.start, b.chunk.end) == (0, len(nfd))
    for t in b.tokens:
        assert t.text in nfd
    assert unspoken(fe, nfd) == []


def test_lone_surrogates_are_reported_not_crashed_on(fe, caplog):
    # what Python makes of undecodable bytes in argv or stdin; spaCy refuses them outright
    text = "Hello \udcff\udcfe world."
    assert spoken_words(fe, text) == ["Hello", "world"]
    assert unspoken(fe, text) == [(6, "\udcff\udcfe")]
    assert "G2P failed" not in caplog.text


@pytest.mark.parametrize(
    ("text", "silent"),
    [
        pytest.param("A box ┌─┐ here.", ["┌─┐"], id="box-drawing"),
        pytest.param("The word ᏣᎳᎩ is Cherokee.", ["ᏣᎳᎩ"], id="no-reading"),
        pytest.param("Private \ue000 use.", ["\ue000"], id="private-use"),
        pytest.param("Stars ★ and ♞ here.", ["★", "♞"], id="unnamed-symbols"),
        pytest.param("Bad \ufffd bytes.", ["\ufffd"], id="replacement-char"),
    ],
)
def test_characters_nothing_says_are_reported_with_their_offsets(fe, text, silent):
    got = unspoken(fe, text)
    assert [chars for _, chars in got] == silent
    for offset, chars in got:
        assert text[offset : offset + len(chars)] == chars


def test_every_character_is_spoken_or_reported(fe):
    from fasttts_desktop.engine.text.prepare import reportable

    text = "Mixed: ★ 東京 \x01 naïve ┌┐ 3½ km, Ꭰ & ok!\n\nNext ᏣᎳᎩ line ☃."
    chunks = list(fe.chunks(text))
    heard = np.zeros(len(text), bool)
    for pc in chunks:
        for t in pc.tokens:
            start = text.find(t.text, pc.chunk.start)
            if start >= 0 and any(c not in " .,!?" for c in t.phonemes):
                heard[start : start + len(t.text)] = True
    reported = np.zeros(len(text), bool)
    for pc in chunks:
        for offset, chars in pc.unspoken:
            assert pc.chunk.start <= offset < pc.chunk.end  # reported with the chunk that holds it
            reported[offset : offset + len(chars)] = True
    for i, ch in enumerate(text):
        if reportable(ch):
            assert heard[i] or reported[i], f"{ch!r} at {i} neither spoken nor reported"


def test_zero_width_characters_do_not_split_words(fe):
    assert spoken_words(fe, "hel\u00adlo wo\u200brld") == ["hel\u00adlo", "wo\u200brld"]
    assert [pc.chunk.phonemes for pc in fe.chunks("hel\u00adlo wo\u200brld")] == [
        pc.chunk.phonemes for pc in fe.chunks("hello world")
    ]


# --- the engine -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_engine_chunks_carry_what_was_not_spoken(engine):
    text = "Hello\x00there ★ friend."
    (chunk,) = list(engine.stream(text))
    assert chunk.unspoken == ((5, "\x00"), (12, "★")) and chunk.failed == ""
    assert [w.text for w in chunk.words] == ["Hello", "there", "friend"]


@pytest.mark.slow
def test_nothing_speakable_says_which_characters(engine):
    with pytest.raises(EngineError, match=r"nothing speakable.*3 characters were not spoken: ᏣᎳᎩ"):
        list(engine.stream("ᏣᎳᎩ"))


@pytest.mark.slow
def test_a_failing_chunk_is_reported_and_reading_goes_on(engine, monkeypatch):
    text = "First part is fine.\n\nSecond part breaks.\n\nThird part is fine."
    real = engine.backend.infer
    calls = []

    def infer(request, cancel=None):
        calls.append(request)
        if len(calls) == 2:  # a fault in the model call for the second chunk only
            raise RuntimeError("CUDA error: an illegal memory access was encountered\nmore detail")
        return real(request, cancel=cancel)

    monkeypatch.setattr(engine.backend, "infer", infer)
    got = list(engine.stream(text))
    assert [c.chunk.text for c in got] == [
        "First part is fine.",
        "Second part breaks.",
        "Third part is fine.",
    ]
    bad = got[1]
    assert bad.failed == "RuntimeError: CUDA error: an illegal memory access was encountered"
    assert len(bad.audio) == 0 and bad.words == []
    assert all(len(c.audio) > 0 and not c.failed for c in (got[0], got[2]))


@pytest.mark.slow
def test_a_model_that_fails_every_chunk_stops_with_one_error(engine, monkeypatch):
    def broken(request, cancel=None):
        raise RuntimeError("device lost")

    monkeypatch.setattr(engine.backend, "infer", broken)
    text = "\n\n".join(f"Paragraph number {n} is here." for n in range(6))
    with pytest.raises(EngineError, match="failed on 3 chunks in a row: RuntimeError: device lost"):
        list(engine.stream(text))


# --- scripts the front end cannot read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expect"),
    [
        # read by the Japanese and Mandarin front ends whatever the voice
        pytest.param("こんにちは、世界。今日はいい天気ですね。", "a", None, id="japanese-with-english-voice"),
        pytest.param("こんにちは、世界。今日はいい天気ですね。", "j", None, id="japanese-with-j-voice"),
        pytest.param("你好世界，今天天气很好。", "a", None, id="chinese"),
        pytest.param("Καλημέρα κόσμε, τι κάνεις;", "a", "Greek", id="greek"),
        pytest.param("Привет, как дела?", "b", "Cyrillic", id="russian"),
        pytest.param("The word 東京 means eastern capital.", "j", None, id="mostly-english"),
        pytest.param("안녕하세요 세계", "a", None, id="korean-espeak-reads"),
        pytest.param("12345 !!! ...", "a", None, id="no-letters"),
        pytest.param("Ｆｕｌｌｗｉｄｔｈ 𝐁𝐨𝐥𝐝 text", "a", None, id="latin-forms"),
    ],
)
def test_script_warning(text, lang, expect):
    from fasttts_desktop.engine.text.writing_systems import script_warning

    warning = script_warning(text, lang)
    if expect is None:
        assert warning is None
    else:
        assert warning is not None and expect in warning and "\n" not in warning
        assert "English text front end cannot read" in warning
