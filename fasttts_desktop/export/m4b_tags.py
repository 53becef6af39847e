"""Book tags in an M4B/M4A, written with mutagen into the finished temporary file before it is renamed.

FFmpeg's muxer takes a title but no cover picture; mutagen writes iTunes' atoms: ©nam/©alb (title),
©ART/aART (author), covr (cover), ©gen "Audiobook", and the narrator both as ©wrt (composer, which Apple
Books and most audiobook players show as the narrator) and as the freeform com.apple.iTunes NARRATOR tag
that audiobook managers (Audiobookshelf, m4b-tool) read.
"""

from __future__ import annotations

from pathlib import Path

from fasttts_desktop.export.tags import BookInfo


def write_tags(path: Path, info: BookInfo) -> None:
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    mp4 = MP4(str(path))
    if mp4.tags is None:
        mp4.add_tags()
    tags = mp4.tags
    if tags is None:  # add_tags() made them; mutagen's types cannot say so
        return
    tags["\xa9gen"] = ["Audiobook"]
    if info.title:
        tags["\xa9nam"] = [info.title]
        tags["\xa9alb"] = [info.title]
    if info.author:
        tags["\xa9ART"] = [info.author]
        tags["aART"] = [info.author]
    if info.narrator:
        tags["\xa9wrt"] = [info.narrator]
        tags["----:com.apple.iTunes:NARRATOR"] = [MP4FreeForm(info.narrator.encode("utf-8"))]
    if info.cover is not None:
        kind = MP4Cover.FORMAT_PNG if info.cover.mime == "image/png" else MP4Cover.FORMAT_JPEG
        tags["covr"] = [MP4Cover(info.cover.data, imageformat=kind)]
    mp4.save()
