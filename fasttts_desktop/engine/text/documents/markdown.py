"""Markdown via markdown-it-py (CommonMark plus tables): the text a reader sees, not the markup.

Spoken: headings (also listed as Heading entries), paragraphs, list items (one line each), table rows
(cells separated like HTML's), block quotes, the text of code spans and code blocks, link text, and the
text of raw HTML blocks (through the HTML importer). Not spoken: link targets, images (alt text
included, as for HTML), raw inline tags, a leading YAML front-matter block.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from fasttts_desktop.engine.text.documents.builder import Builder, wrap_separator
from fasttts_desktop.engine.text.documents.encoding import decode_text
from fasttts_desktop.engine.text.documents.html import CELL_SEPARATOR, add_html, parse_html
from fasttts_desktop.engine.text.documents.model import Document

# YAML front matter (Jekyll, Hugo, Pandoc): "---", "key: value" lines, then "---" or "...".
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n[\w-]+[ \t]*:.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_LISTS = frozenset(("bullet_list_open", "bullet_list_close", "ordered_list_open", "ordered_list_close"))
_PARAGRAPH_ENDS = frozenset(
    (
        "paragraph_open",
        "paragraph_close",
        "blockquote_open",
        "blockquote_close",
        "hr",
        "table_open",
        "table_close",
    )
)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def read_markdown(data: bytes, name: str = "") -> Document:
    text, notices = decode_text(data, name)
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n"), count=1)
    builder = Builder(name)
    in_item = 0  # depth inside list items: nested lists stay lines of the item's paragraph
    heading: tuple[int, int] | None = None
    title = None
    for token in _parser().parse(text):
        kind = token.type
        if kind == "inline":
            _inline(builder, token.children or [])
        elif kind == "heading_open":
            builder.paragraph_break()
            heading = (int(token.tag[1:]), builder.position())
        elif kind == "heading_close" and heading is not None:
            builder.paragraph_break()
            level, start = heading
            heading = None
            if builder.length > start:
                builder.add_heading(builder.last_paragraph(), start, level)
                if level == 1 and title is None:
                    title = builder.last_paragraph()
        elif kind in _PARAGRAPH_ENDS:
            if not token.hidden:  # tight lists hide their paragraphs: the item is a line
                builder.paragraph_break()
        elif kind in _LISTS:
            builder.line_break() if in_item else builder.paragraph_break()
        elif kind in ("list_item_open", "list_item_close"):
            builder.line_break()
            in_item += 1 if kind == "list_item_open" else -1
        elif kind in ("tr_open", "tr_close"):
            builder.line_break()
        elif kind in ("th_open", "td_open"):
            builder.separate(CELL_SEPARATOR)
        elif kind in ("code_block", "fence"):
            builder.paragraph(token.content.rstrip("\n"))
        elif kind == "html_block":
            _html_block(builder, token.content)
    body, headings = builder.build()
    return Document(body, headings, title, "md", tuple(notices), name)


def _html_block(builder: Builder, html: str) -> None:
    builder.paragraph_break()
    root = parse_html(html)
    if root is not None:  # None: only a comment
        add_html(builder, root, headings=True)


def _inline(builder: Builder, children: list[Token]) -> None:
    for i, child in enumerate(children):
        kind = child.type
        if kind in ("text", "text_special", "code_inline"):
            builder.text(child.content)
        elif kind == "softbreak":
            before = children[i - 1].content if i else ""
            after = children[i + 1].content if i + 1 < len(children) else ""
            builder.text(wrap_separator(before, after))
        elif kind == "hardbreak":
            builder.line_break()
