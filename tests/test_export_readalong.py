"""Read-along EPUB 3 books (export/readalong.py): written from the fake engine's chunks (fast) and by
`say` with the real model (slow), then read back package and clips alike (tests/epub_checks.py), and by
EPUBCheck where it is installed (scripts/setup --test installs Debian's)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from book_extras import png, write_epub_with_cover
from book_files import CHAPTERS
from epub_checks import read_readalong
from fake_engine import FakeEngine

from fasttts_desktop.engine.text.documents import chapter_marks, load_document
from fasttts_desktop.export import ExportError
from fasttts_desktop.export.readalong import ReadAlongWriter
from fasttts_desktop.export.tags import BookInfo, cover_from_bytes


def _book(tmp_path, loudness=None, cover=None):
    document = load_document(write_epub_with_cover(tmp_path / "book.epub"))
    marks = chapter_marks(document.headings)
    info = BookInfo(document.title, "Ada Lovelace", "af_test", cover)
    with ReadAlongWriter(
        tmp_path / "out.epub", document.text, chapters=marks, info=info, lang_code="a", loudness=loudness
    ) as writer:
        for chunk in FakeEngine(chunk_s=0.5, synth_s=0).stream(document.text):
            writer.add_chunk(chunk)
    return document, writer


def test_package_overlays_and_clips(tmp_path):
    picture = png(6, 6)
    _, writer = _book(tmp_path, cover=cover_from_bytes(picture))
    book = read_readalong(tmp_path / "out.epub")
    assert (book.title, book.language, book.creators, book.narrator) == (
        "Harvard Lines", "en-US", ["Ada Lovelace"], "af_test"
    )  # fmt: skip
    assert book.cover == picture
    assert len(book.overlays) == len(CHAPTERS)
    for overlay, (heading, paragraphs) in zip(book.overlays, CHAPTERS, strict=True):
        (audio_s,) = overlay.audio.values()
        # the clips tile the chapter's audio, and its stated duration is that audio's
        assert overlay.clips[0][1] == 0
        assert overlay.clips[-1][2] == pytest.approx(audio_s, abs=0.002)
        assert overlay.duration == pytest.approx(audio_s, abs=0.002)
        page = book.pages[overlay.page]
        spoken = " ".join("".join(page.xpath("//*[@id=$f]//text()", f=f)) for f, _, _ in overlay.clips)
        assert heading in spoken
        for paragraph in paragraphs:
            assert " ".join(paragraph.split()) in " ".join(spoken.split())
    assert book.total == pytest.approx(sum(o.duration for o in book.overlays), abs=0.003)
    assert book.total == pytest.approx(writer.seconds, abs=0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.epub", "out.epub"]


def test_every_word_has_an_id_inside_its_sentence(tmp_path):
    _book(tmp_path)
    book = read_readalong(tmp_path / "out.epub")
    page = next(iter(book.pages.values()))
    words = page.xpath("//*[starts-with(@id, 's')]/*[starts-with(@id, 'w')]")
    assert [w.text for w in words[:4]] == ["Chapter", "One", "The", "birch"]


def test_clips_follow_the_speech(tmp_path):
    # The fake engine makes 0.5 s per chunk, shared evenly by its words; its first chunk of a chapter holds
    # the heading and the first sentence ("Chapter Two" + 7 words: the sentence starts 2/9 of the way in).
    _book(tmp_path)
    book = read_readalong(tmp_path / "out.epub")
    begins = [b for _, b, _ in book.overlays[1].clips]
    assert begins == pytest.approx([0, 0.5 * 2 / 9, 0.5, 1.0, 1.5], abs=0.002)


def test_nothing_spoken_is_nothing_written(tmp_path):
    with pytest.raises(ExportError, match="no audio"), ReadAlongWriter(tmp_path / "x.epub", "Hello.") as w:
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_an_error_midway_leaves_nothing(tmp_path):
    text = "One. Two. Three."
    with pytest.raises(RuntimeError), ReadAlongWriter(tmp_path / "x.epub", text) as writer:
        for i, chunk in enumerate(FakeEngine(synth_s=0).stream(text)):
            writer.add_chunk(chunk)
            if i == 1:
                raise RuntimeError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_say_makes_a_read_along_book(tmp_path, cli_env):
    source = write_epub_with_cover(tmp_path / "book.epub")
    out = tmp_path / "book-readalong.epub"
    done = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "say", "-f", str(source), "-o", str(out),
         "--device", "cpu"],
        env=cli_env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = read_readalong(out)
    assert len(book.overlays) == len(CHAPTERS)
    assert book.creators == ["Ada Lovelace"]
    assert book.narrator == "jm_kumo"
    assert book.cover is not None
    clips = [c for o in book.overlays for c in o.clips]
    assert len(clips) >= sum(1 + len(" ".join(p).split(". ")) for _, p in CHAPTERS) - 2
    for overlay in book.overlays:
        assert overlay.duration == pytest.approx(next(iter(overlay.audio.values())), abs=0.01)
    # Debian's epubcheck is a jar run through binfmt_misc, which containers often lack: run it with java
    epubcheck = shutil.which("epubcheck")
    if epubcheck and shutil.which("java"):
        check = subprocess.run(
            ["java", "-jar", epubcheck, str(out)], capture_output=True, text=True, timeout=300, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
