"""What the fasttts module makes of the SSML speech-dispatcher passes on: text, marks, breaks and the tags
it interprets, read by the app's one SSML reader (markup.py), safely from malformed or hostile documents."""

from __future__ import annotations

import pytest

from fasttts_desktop.speechd.ssml import MAX_BREAK_S, Break, Mark, Text, parse


def test_speech_dispatchers_own_markup():
    # what speech-dispatcher sends for plain text: escaped, wrapped, a mark after each sentence
    got = parse('<speak>Fish &amp; chips &lt;3. <mark name="__spd_0"/>Next one.</speak>')
    assert got == [Text("Fish & chips <3. "), Mark("__spd_0"), Text("Next one.")]


@pytest.mark.parametrize(
    ("ssml", "expected"),
    [
        pytest.param('<speak>a<break time="250ms"/>b</speak>', [Text("a"), Break(0.25), Text("b")], id="ms"),
        pytest.param('<speak>a<break time="1.5s"/>b</speak>', [Text("a"), Break(1.5), Text("b")], id="s"),
        pytest.param(
            '<speak>a<break strength="strong"/>b</speak>', [Text("a"), Break(0.8), Text("b")], id="x"
        ),
        pytest.param(  # over markup.py's longest pause: not a pause at all, the text goes on
            '<speak>a<break time="3600s"/>b</speak>', [Text("ab")], id="too-long"
        ),
        pytest.param(  # each break may be the longest, but together they are held to MAX_BREAK_S
            '<speak>a<break time="8s"/><break time="9s"/>b</speak>',
            [Text("a"), Break(MAX_BREAK_S), Text("b")],
            id="cap",
        ),
    ],
)
def test_breaks(ssml, expected):
    assert parse(ssml) == expected


def test_interpreted_tags():
    got = parse(
        '<speak xmlns="http://www.w3.org/2001/10/synthesis"><prosody rate="slow">slowly</prosody> '
        '<sub alias="World Wide Web">WWW</sub> <say-as interpret-as="characters">abc</say-as>'
        "<desc>not said</desc><s>One</s><s>Two</s></speak>"
    )
    assert got[0] == Text("slowly", 0.8)
    rest = got[1].text
    assert "World Wide Web" in rest
    assert "WWW" not in rest
    assert "a b c" in rest
    assert "not said" not in rest
    assert "One\nTwo" in rest


@pytest.mark.parametrize(
    ("rate", "factor"),
    [("150%", 1.5), ("+20%", 1.2), ("-50%", 0.5), ("x-fast", 1.5), ("2", 2.0), ("zz", 1.0), ("9", 1.0)],
)
def test_prosody_rates(rate, factor):
    assert parse(f'<speak><prosody rate="{rate}">x</prosody></speak>') == [Text("x", factor)]


def test_entities_are_not_expanded():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><speak>start &c; end</speak>'
    )
    got = parse(laughs)
    assert len(got) == 1
    assert "ha" not in got[0].text
    assert got[0].text.split() == ["start", "end"]


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY x SYSTEM "file://{secret}">]><speak>a &x; b</speak>'
    )
    assert "TOPSECRET" not in "".join(p.text for p in parse(xxe) if isinstance(p, Text))


@pytest.mark.parametrize(
    ("ssml", "words"),
    [
        pytest.param("<speak>unclosed <b>bold & more", ["unclosed", "bold", "more"], id="malformed"),
        pytest.param("plain text, no tags", ["plain", "text,", "no", "tags"], id="no-speak"),
        pytest.param("<speak><mark/>x</speak>", ["x"], id="nameless-mark"),
    ],
)
def test_malformed_input_is_still_spoken(ssml, words):
    got = parse(ssml)
    assert " ".join(p.text for p in got if isinstance(p, Text)).split() == words


def test_empty_input():
    assert parse("") == []
    assert parse("<speak>  </speak>") == []


def test_marks_keep_their_place_among_text_and_breaks():
    got = parse(
        '<speak><mark name="start"/>One. <mark name="a"/><break time="1s"/>Two <mark name="b"/>three.'
        '<break time="500ms"/><mark name="c"/>Four.<mark name="end"/></speak>'
    )
    assert got == [
        Mark("start"),
        Text("One. "),
        Mark("a"),
        Break(1.0),
        Text("Two "),
        Mark("b"),
        Text("three."),
        Break(0.5),
        Mark("c"),
        Text("Four."),
        Mark("end"),
    ]
    assert parse('<speak><mark name="only"/></speak>') == [Mark("only")]


def test_voice_and_rate_changes_are_pieces_of_their_own():
    got = parse('<speak>Hi <voice name="bf_emma">there <prosody rate="2">fast</prosody></voice> end</speak>')
    assert got == [Text("Hi "), Text("there ", 1.0, "bf_emma"), Text("fast", 2.0, "bf_emma"), Text(" end")]


@pytest.mark.parametrize("name", ["bad", "scoped", "take", "walked", "children", "element"])
def test_any_element_name_is_read_through(name):
    # element names are never looked up as the reader's own methods
    assert parse(f"<speak>a <{name}>b</{name}> c</speak>") == [Text("a b c")]


def test_entities_in_attribute_values_are_not_expanded():
    # libxml2 expands declared entities inside attribute values even with resolve_entities off
    got = parse('<!DOCTYPE speak [<!ENTITY a "LAUGH">]><speak><mark name="x&a;"/>said &a; here</speak>')
    assert "LAUGH" not in repr(got)
    assert " ".join(p.text for p in got if isinstance(p, Text)).split() == ["said", "here"]


def test_deep_nesting_is_read_as_its_words():
    deep = "<speak>" + "<prosody>" * 250 + "deep words" + "</prosody>" * 250 + "</speak>"
    assert parse(deep) == [Text("deep words")]


def test_a_message_over_the_size_bound_is_said_without_its_tags(monkeypatch):
    from fasttts_desktop.engine.text import markup

    monkeypatch.setattr(markup, "MAX_SSML_CHARS", 100)
    long = "<speak>" + "word <mark name='m'/>" * 20 + "</speak>"
    got = parse(long)
    assert len(got) == 1
    assert got[0].text.split() == ["word"] * 20
