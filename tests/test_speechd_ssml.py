"""What the fasttts module makes of the SSML speech-dispatcher passes on: text, marks, breaks and the tags
it interprets, read safely from malformed or hostile documents."""

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
            '<speak>a<break strength="strong"/>b</speak>', [Text("a"), Break(0.7), Text("b")], id="x"
        ),
        pytest.param(
            '<speak>a<break time="3600s"/>b</speak>', [Text("a"), Break(MAX_BREAK_S), Text("b")], id="cap"
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
    assert got[0] == Text("slowly", 0.75)
    rest = got[1].text
    assert "World Wide Web" in rest
    assert "WWW" not in rest
    assert "a b c" in rest
    assert "not said" not in rest
    assert "One\nTwo" in rest


@pytest.mark.parametrize(
    ("rate", "factor"),
    [("150%", 1.5), ("+20%", 1.2), ("-50%", 0.5), ("x-fast", 1.6), ("2", 2.0), ("zz", 1.0)],
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
