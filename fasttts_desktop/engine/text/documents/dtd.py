"""A document's own DTD (`<!DOCTYPE html [ <!ENTITY author "Alice Walker"> ]>`): never expanded, never read.

Entities are not expanded: a few nested declarations are how "billion laughs" bombs make gigabytes out of
a kilobyte. So a reference to an entity the document declares itself reads as nothing, and the importer
says which ones were left out. The HTML parser knows no internal subset: it would read the declarations'
closing "]>" as text and a reference such as "&author;" letter by letter. So before HTML parsing the
subset is cut out and the references to what it declared are taken out of the text.

The subset is scanned declaration by declaration (quoted values may hold "]>"), in one pass.
"""

from __future__ import annotations

import re

# What may stand before the DOCTYPE: white space, comments, processing instructions (the XML declaration).
_PROLOG = re.compile(r"(?:\s|<!--.*?-->|<\?.*?\?>)*", re.DOTALL)
# "<!DOCTYPE html", an optional external id, then the "[" that opens an internal subset.
_DOCTYPE_OPEN = re.compile(
    r"""<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:PUBLIC|SYSTEM)(?:\s*(?:"[^"]*"|'[^']*')){1,2})?\s*\[""", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PI = re.compile(r"<\?.*?\?>", re.DOTALL)
_PE_REFERENCE = re.compile(r"%[^\s;%<>]+;")
# One markup declaration; the alternatives start with different characters, so the scan never backtracks.
_DECLARATION = re.compile(r"""<!(?:[^>"']|"[^"]*"|'[^']*')*>""")
_ENTITY_NAME = re.compile(r"<!ENTITY\s+([^\s%\"'>]+)")
_SUBSET_END = re.compile(r"\]\s*>")
_REFERENCE = re.compile(r"&([^\s&;<>#]+);")


def cut_internal_subset(text: str) -> tuple[str, frozenset[str]]:
    """`text` with its DOCTYPE's internal subset removed (the DOCTYPE itself kept) and the names of the
    general entities that subset declared. Unchanged text and no names when there is no subset."""
    start = _PROLOG.match(text).end()  # type: ignore[union-attr]  # the pattern matches the empty string
    opened = _DOCTYPE_OPEN.match(text, start)
    if opened is None:
        return text, frozenset()
    names: set[str] = set()
    pos = opened.end()
    while pos < len(text):
        for pattern in (_SPACE, _COMMENT, _PI, _PE_REFERENCE):
            m = pattern.match(text, pos)
            if m is not None:
                break
        else:
            m = _DECLARATION.match(text, pos)
            if m is not None:
                entity = _ENTITY_NAME.match(m.group())
                if entity is not None:
                    names.add(entity.group(1))
        if m is None:
            break
        pos = m.end()
    end = _SUBSET_END.match(text, pos)
    if end is None:  # a damaged subset: it ends at its first "]>", and what it seems to declare counts
        end = _SUBSET_END.search(text, opened.end())
        if end is None:
            return text, frozenset()
        names = {m.group(1) for m in _ENTITY_NAME.finditer(text, opened.end(), end.start())}
    return text[: opened.end() - 1].rstrip() + ">" + text[end.end() :], frozenset(names)


def drop_references(text: str, names: frozenset[str], dropped: list[str]) -> str:
    """`text` without the references to `names` ("&author;" -> ""); each one taken out goes to `dropped`."""
    if not names:
        return text

    def drop(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            return m.group()
        dropped.append(m.group(1))
        return ""

    return _REFERENCE.sub(drop, text)


def unread_notice(label: str, names: list[str]) -> str:
    """One line saying which self-declared entities were read as nothing."""
    distinct = list(dict.fromkeys(names))
    shown = ", ".join(f"&{n[:40]};" for n in distinct[:3]) + (", ..." if len(distinct) > 3 else "")
    count = len(names)
    return (
        f"{label}: {count} reference{'s' * (count != 1)} to entities the document declares itself ({shown}) "
        f"{'were' if count != 1 else 'was'} left out (such entities are never expanded)."
    )
