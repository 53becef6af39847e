"""Markup into segments (no model): SSML via lxml with offsets into the original, inline tags, bad markup
read as text with one line, pauses split where asked, voices per chapter and for dialogue."""

from __future__ import annotations

import pytest

from fasttts_desktop.engine.text.markup import parse
from fasttts_desktop.engine.text.pauses import Pauses, join_kind, parse_seconds
from fasttts_desktop.engine.text.segments import Reading, plan
from fasttts_desktop.engine.types import EngineError


def _source(text, seg):
    return text[seg.starts[0] : seg.ends[-1]]


def test_ssml_subset_becomes_segments_placed_in_the_original():
    text = (
        '<speak>Hello &amp; <break time="1.5s"/>welcome. <prosody rate="150%">Quick <voice name="bf_emma">'
        'now</voice></prosody> <sub alias="World Wide Web">WWW</sub>, <say-as interpret-as="characters">'
        'BBC</say-as> on <say-as interpret-as="date" format="mdy">12/07/2026</say-as>, '
        '<say-as interpret-as="cardinal">1,204</say-as> <phoneme ph="kˈOkəɹO">Kokoro</phoneme>.</speak>'
    )
    parsed = parse(text)
    assert parsed.notices == []
    said = [(s.text, s.voice, s.rate, s.phonemes, s.pause_after) for s in parsed.segments]
    assert said[0] == ("Hello & ", "", 1.0, "", 1.5)
    assert said[1][:3] == ("welcome. ", "", 1.0)
    assert said[2][:3] == ("Quick ", "", 1.5)
    assert said[3][:3] == ("now", "bf_emma", 1.5)
    rest = parsed.segments[4]
    assert rest.text == (
        " World Wide Web, B B C on December seventh twenty twenty-six, one thousand, two hundred and four "
    )
    assert parsed.segments[5].phonemes == "kˈOkəɹO"
    # every character said points into the original: the entity, the alias, the word under <phoneme>
    amp = parsed.segments[0].text.index("&")
    seg0 = parsed.segments[0]
    assert text[seg0.starts[amp] : seg0.ends[amp]] == "&amp;"
    w = rest.text.index("World")
    assert text[rest.starts[w] : rest.ends[w + len("World Wide Web") - 1]] == "WWW"
    assert _source(text, parsed.segments[5]) == "Kokoro"
    assert _source(text, parsed.segments[3]) == "now"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<speak>Hello <b>there</speak>", "could not be read"),
        ('<!DOCTYPE speak [<!ENTITY x "boom">]><speak>&x;</speak>', "DOCTYPE"),
        ("<speak>Hello &nope; there</speak>", "could not be read"),
    ],
)
def test_bad_ssml_is_one_line_and_read_whole_as_text(text, message):
    parsed = parse(text)
    assert len(parsed.notices) == 1
    assert message in parsed.notices[0]
    assert "\n" not in parsed.notices[0]
    assert [s.text for s in parsed.segments] == [text]  # nothing dropped


def test_bad_values_in_good_ssml_keep_their_text():
    text = (
        '<speak>A <break time="soon"/>b <prosody rate="zoom">c</prosody> '
        '<say-as interpret-as="x">d</say-as></speak>'
    )
    parsed = parse(text)
    assert len(parsed.notices) == 3
    assert all(n.startswith("line 1: SSML <") for n in parsed.notices)
    assert "".join(s.text for s in parsed.segments) == "A b c d"


def test_inline_tags_and_their_mistakes():
    text = "One [pause:1.5s] two [voice:bf_emma] three [rate:1.2] four [rate:fast?] five [voice] six [pause]"
    parsed = parse(text)
    got = [(s.text.strip(), s.voice, s.rate, s.pause_after) for s in parsed.segments]
    assert got[0] == ("One", "", 1.0, 1.5)
    assert got[1] == ("two", "", 1.0, None)
    assert got[2] == ("three", "bf_emma", 1.0, None)
    assert got[3] == ("four [rate:fast?] five", "bf_emma", 1.2, None)
    assert got[4] == ("six [pause]", "", 1.2, None)
    assert len(parsed.notices) == 2
    assert "[rate:fast?] is read as text" in parsed.notices[0]
    # offsets are the original's
    seg = parsed.segments[2]
    assert _source(text, seg).strip() == "three"
    # switched off, the tags are text
    assert [s.text for s in parse(text, "off").segments] == [text]


def test_pauses_split_where_set_and_kinds_of_join():
    text = "Yes, I know. Go now.\n\nNext one"
    natural = plan(text, Reading(pauses=Pauses.natural()))
    assert [s.text for s in natural.segments] == [text]
    split = plan(text, Reading(pauses=Pauses(comma=0.2, sentence=0.5)))
    assert [s.text for s in split.segments] == ["Yes, ", "I know. ", "Go now.\n\n", "Next one"]
    assert join_kind("Yes,", text, 4, 5, (), ()) == "comma"
    assert join_kind("I know.", text, 12, 13, (), ()) == "sentence"
    assert join_kind("Go now.", text, 20, 22, (), ()) == "paragraph"
    assert join_kind("Go now.", text, 20, 22, (22,), ()) == "chapter"
    assert join_kind("Go now.", text, 20, 22, (), (22,)) == "heading"
    assert parse_seconds("250ms") == 0.25
    assert parse_seconds(" 1.5s") == 1.5
    with pytest.raises(EngineError):
        parse_seconds("11s")
    with pytest.raises(EngineError, match="Bad duration"):
        Pauses().with_spec("comma=-1")
    assert Pauses().with_spec("comma=0.3, chapter=off") == Pauses(comma=0.3, chapter=None)


def test_chapter_voices_and_dialogue():
    text = 'Intro here.\nOne: she said "Hi there." and left.\nTwo: "Bye."'
    one, two = text.index("One"), text.index("Two")
    reading = Reading(voices=((one, two, "bf_emma"),), dialogue_voice="am_adam")
    segments = plan(text, reading).segments
    got = [(s.text, s.chapter_voice, s.dialogue) for s in segments]
    assert got == [
        ("Intro here.\n", "", False),
        ("One: she said ", "bf_emma", False),
        ('"Hi there."', "bf_emma", True),
        (" and left.\n", "bf_emma", False),
        ("Two: ", "", False),
        ('"Bye."', "", True),
    ]


def test_ssml_marks_are_placed_in_the_segments():
    parsed = parse(
        '<speak>One. <mark name="a"/>Two.<break time="1s"/><mark name="b"/>Three.<mark name="z"/></speak>'
    )
    assert [s.text for s in parsed.segments] == ["One. Two.", "Three."]
    assert [(m.segment, m.at, m.name) for m in parsed.marks] == [(0, 5, "a"), (1, 0, "b"), (1, 6, "z")]


@pytest.mark.parametrize("name", ["bad", "scoped", "say", "element"])
def test_unknown_elements_named_like_the_readers_parts_are_read_with_a_notice(name):
    parsed = parse(f"<speak>a <{name}>b</{name}> c</speak>")
    assert "".join(s.text for s in parsed.segments) == "a b c"
    assert parsed.notices == [f"SSML <{name}> is not supported; its text is read as it stands."]


def test_descriptions_in_ssml_are_not_said():
    text = '<speak>Bell: <audio src="bell.ogg">ding<desc>a bell rings</desc></audio> done.</speak>'
    parsed = parse(text)
    assert "".join(s.text for s in parsed.segments) == "Bell: ding done."
    assert parsed.notices == []


def test_too_deep_or_too_long_ssml_is_read_as_written(monkeypatch):
    from fasttts_desktop.engine.text import markup

    deep = "<speak>" + "<prosody>" * 150 + "x" + "</prosody>" * 150 + "</speak>"
    parsed = parse(deep)
    assert [s.text for s in parsed.segments] == [deep]
    assert "nested more than" in parsed.notices[0]
    monkeypatch.setattr(markup, "MAX_SSML_CHARS", 10)
    parsed = parse("<speak>Hello there.</speak>")
    assert [s.text for s in parsed.segments] == ["<speak>Hello there.</speak>"]
    assert "longer than 10 characters" in parsed.notices[0]
