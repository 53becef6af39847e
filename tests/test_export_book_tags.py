"""M4B cover art and book tags (export/tags.py, export/m4b_tags.py), read back with FFmpeg (PyAV), and an
EPUB's own author, language and cover found (engine/text/documents/epub_meta.py)."""

from __future__ import annotations

import numpy as np
import pytest
from book_extras import png, write_epub_with_cover
from book_files import write_epub

from fasttts_desktop.engine.text.documents.epub_meta import read_epub_meta
from fasttts_desktop.export import ExportError
from fasttts_desktop.export.audio import open_audio_writer
from fasttts_desktop.export.tags import BookInfo, cover_from_bytes, load_cover


def _tone(seconds=1.0):
    t = np.arange(int(24_000 * seconds)) / 24_000
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_m4b_carries_title_author_narrator_and_cover(tmp_path):
    import av

    picture = png(16, 16, (10, 120, 200))
    info = BookInfo("Harvard Lines", "Ada Lovelace", "jm_kumo", cover_from_bytes(picture))
    with open_audio_writer(tmp_path / "book.m4b", title=info.title, info=info) as writer:
        writer.write(_tone())
        writer.mark_chapter("One")
        writer.write(_tone())
        writer.mark_chapter("Two")
        writer.write(_tone())
        writer.close()
    with av.open(str(tmp_path / "book.m4b")) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
        assert tags["title"] == "Harvard Lines"
        assert tags["artist"] == "Ada Lovelace"
        assert tags["composer"] == "jm_kumo"
        assert tags["genre"] == "Audiobook"
        pictures = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
        assert len(pictures) == 1
        packet = next(p for p in c.demux(pictures[0]) if p.size)
        assert bytes(packet) == picture
        assert [ch["metadata"]["title"] for ch in c.chapters()] == ["Harvard Lines", "One", "Two"]
        assert list(c.decode(audio=0))  # the audio is still there after tagging


def test_mutagen_sees_the_narrator_tag(tmp_path):
    from mutagen.mp4 import MP4

    with open_audio_writer(tmp_path / "b.m4a", info=BookInfo(narrator="af_heart")) as writer:
        writer.write(_tone())
    assert bytes(MP4(str(tmp_path / "b.m4a")).tags["----:com.apple.iTunes:NARRATOR"][0]) == b"af_heart"


def test_flac_takes_the_author(tmp_path):
    import soundfile

    with open_audio_writer(tmp_path / "b.flac", title="T", info=BookInfo("T", "Ada")) as writer:
        writer.write(_tone())
    with soundfile.SoundFile(str(tmp_path / "b.flac")) as f:
        assert (f.title, f.artist) == ("T", "Ada")


def test_epub_meta_finds_author_language_and_cover(tmp_path):
    picture = png(4, 4)
    meta = read_epub_meta(write_epub_with_cover(tmp_path / "b.epub", author="Ada Lovelace", cover=picture))
    assert (meta.author, meta.language, meta.cover, meta.cover_type) == (
        "Ada Lovelace",
        "en",
        picture,
        "image/png",
    )


def test_epub_meta_of_a_plain_book_and_of_junk(tmp_path):
    meta = read_epub_meta(write_epub(tmp_path / "b.epub"))
    assert (meta.author, meta.cover) == (None, None)
    (tmp_path / "junk.epub").write_bytes(b"PK\x03\x04 not a zip")
    assert read_epub_meta(tmp_path / "junk.epub").cover is None


def test_a_cover_that_is_not_a_picture_is_one_line(tmp_path):
    (tmp_path / "c.png").write_text("not a picture")
    with pytest.raises(ExportError, match="not a JPEG or PNG"):
        load_cover(tmp_path / "c.png")
    with pytest.raises(ExportError, match="not a file"):
        load_cover(tmp_path / "missing.jpg")
