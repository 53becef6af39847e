"""Reading a read-along EPUB back as a reading system would: the package (container, OPF manifest and
spine, media-overlay properties and durations) parsed with lxml, every SMIL clip checked against its
page's ids and its audio's decoded length (libsndfile)."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from lxml import etree

OPF = "{http://www.idpf.org/2007/opf}"
SMIL = "{http://www.w3.org/ns/SMIL}"
_CLOCK = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def seconds(clock: str) -> float:
    m = _CLOCK.match(clock)
    assert m, clock
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


@dataclass
class Overlay:
    page: str
    audio: dict[str, float] = field(default_factory=dict)  # audio file -> decoded seconds
    clips: list[tuple[str, float, float]] = field(default_factory=list)  # (text fragment, begin, end)
    duration: float = 0.0  # the OPF's media:duration for it


@dataclass
class Book:
    title: str
    language: str
    creators: list[str]
    narrator: str | None
    total: float
    overlays: list[Overlay]
    pages: dict[str, etree._Element]
    cover: bytes | None


def read_readalong(path) -> Book:
    import soundfile

    z = zipfile.ZipFile(path)
    first = z.infolist()[0]
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
    assert z.read("mimetype") == b"application/epub+zip"
    container = etree.fromstring(z.read("META-INF/container.xml"))
    opf_path = container.find(".//{*}rootfile").get("full-path")
    base = posixpath.dirname(opf_path)
    opf = etree.fromstring(z.read(opf_path))
    assert opf.get("version") == "3.0"
    names = set(z.namelist())

    def member(href: str, relative_to: str = base) -> str:
        name = posixpath.normpath(posixpath.join(relative_to, href))
        assert name in names, f"{href} is not in the book"
        return name

    items = {}
    for item in opf.iter(f"{OPF}item"):
        items[item.get("id")] = item
        member(item.get("href"))
    assert any("nav" in (i.get("properties") or "").split() for i in items.values())
    spine = [ref.get("idref") for ref in opf.iter(f"{OPF}itemref")]
    assert spine
    assert all(ref in items for ref in spine)
    metas = {}
    durations = {}
    for meta in opf.iter(f"{OPF}meta"):
        prop = meta.get("property")
        if prop == "media:duration":
            durations[meta.get("refines")] = seconds(meta.text)
        elif prop:
            metas[prop] = meta.text
    pages = {}
    overlays = []
    for ref in spine:
        item = items[ref]
        page = member(item.get("href"))
        pages[page] = etree.fromstring(z.read(page))  # well-formed XHTML, or this raises
        mo = item.get("media-overlay")
        if mo is None:
            continue
        smil_item = items[mo]
        assert smil_item.get("media-type") == "application/smil+xml"
        smil_path = member(smil_item.get("href"))
        smil = etree.fromstring(z.read(smil_path))
        overlay = Overlay(page, duration=durations[f"#{mo}"])
        last = 0.0
        for par in smil.iter(f"{SMIL}par"):
            text, audio = par.find(f"{SMIL}text"), par.find(f"{SMIL}audio")
            target, _, fragment = text.get("src").partition("#")
            assert member(target, posixpath.dirname(smil_path)) == page
            assert pages[page].xpath("//*[@id=$f]", f=fragment), f"#{fragment} is not in {page}"
            sound = member(audio.get("src"), posixpath.dirname(smil_path))
            if sound not in overlay.audio:
                assert (
                    items[next(k for k, v in items.items() if member(v.get("href")) == sound)].get(
                        "media-type"
                    )
                    == "audio/mpeg"
                )
                with soundfile.SoundFile(io.BytesIO(z.read(sound))) as f:
                    overlay.audio[sound] = f.frames / f.samplerate
            begin, end = seconds(audio.get("clipBegin")), seconds(audio.get("clipEnd"))
            assert last - 1e-3 <= begin < end <= overlay.audio[sound] + 1e-3, (fragment, begin, end)
            last = end
            overlay.clips.append((fragment, begin, end))
        assert overlay.clips
        overlays.append(overlay)
    cover = next((i for i in items.values() if "cover-image" in (i.get("properties") or "")), None)
    return Book(
        title=opf.find(".//{*}title").text,
        language=opf.find(".//{*}language").text,
        creators=[c.text for c in opf.iter("{http://purl.org/dc/elements/1.1/}creator")],
        narrator=metas.get("media:narrator"),
        total=durations[None],
        overlays=overlays,
        pages=pages,
        cover=z.read(member(cover.get("href"))) if cover is not None else None,
    )
