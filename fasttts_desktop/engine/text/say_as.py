"""SSML <say-as>: characters spelled out, whole numbers and dates in words (num2words). No Qt, no model."""

from __future__ import annotations

import re

from fasttts_desktop.engine.types import EngineError

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def interpret(kind: str, content: str, fmt: str | None) -> str:
    """What <say-as interpret-as=`kind` format=`fmt`>`content`</say-as> says; EngineError if it cannot."""
    if kind in ("characters", "spell-out", "verbatim"):
        return " ".join(ch for ch in content if not ch.isspace())
    if kind in ("cardinal", "number"):
        return _cardinal(content)
    if kind == "date":
        return _date(content, (fmt or "ymd").lower())
    raise EngineError(f"interpret-as {kind!r} is not supported (characters, date, cardinal)")


def _cardinal(content: str) -> str:
    from num2words import num2words

    digits = content.replace(",", "").replace("\u202f", "").replace(" ", "")
    try:
        return str(num2words(int(digits)))
    except ValueError:
        raise EngineError(f"{content!r} is not a whole number") from None


def _date(content: str, fmt: str) -> str:
    from num2words import num2words

    parts = [p for p in re.split(r"[-/.\s]+", content) if p]
    if len(parts) != len(fmt) or not all(p.isdigit() for p in parts) or set(fmt) - set("ymd"):
        raise EngineError(f"{content!r} is not a date in the format {fmt!r}")
    values = dict(zip(fmt, (int(p) for p in parts), strict=True))
    month, day, year = values.get("m"), values.get("d"), values.get("y")
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        raise EngineError(f"{content!r} is not a date in the format {fmt!r}")
    words = []
    if month is not None:
        words.append(_MONTHS[month - 1])
    if day is not None:
        words.append(str(num2words(day, to="ordinal")))
    if year is not None:
        words.append(str(num2words(year, to="year")))
    return " ".join(words)
