"""What kokoro says about each of its voices (gender, quality grades), and each language's default voice.

The facts come from `kokoro.js/src/voices.js` in kokoro's own sdist (the same archive the voices come from),
read by `parse_voices_js` when the voices are installed and kept beside them as `catalog.json`. That file is
JavaScript, not JSON, and its non-English entries are commented out, so it is read field by field with a
pattern rather than evaluated; anything unexpected in it is skipped, never run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# kokoro's grading scale, best first (its VOICES.md); anything else ranks below all of them.
GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F+", "F", "F-")

APP_DEFAULT = "af_heart"  # kokoro's best-graded voice, and every peer's default
# Without the full set only the five Japanese voices are there; of them jm_kumo is the one a speech
# recogniser understands best on English text (PocketSphinx WER 0.32 vs ~0.8 for jf_alpha, ENVIRONMENT.md).
JAPANESE_ONLY_DEFAULT = "jm_kumo"

_ENTRY = re.compile(r"^[ \t]*(?://[ \t]*)?([a-z]{2}_[a-z0-9]+):[ \t]*\{(.*?)\}", re.MULTILINE | re.DOTALL)
_FIELD = re.compile(r'(?://[ \t]*)?(\w+):[ \t]*"([^"\n]{0,40})"')
_GENDERS = {"female": "female", "male": "male"}


@dataclass(frozen=True)
class VoiceFacts:
    gender: str | None  # "female" / "male"
    grade: str | None  # kokoro's overall grade, "A" to "F"
    target_quality: str | None  # the grade of its training data


def parse_voices_js(text: str) -> dict[str, VoiceFacts]:
    """kokoro.js's VOICES table (commented-out entries included), in its order; unknown fields ignored."""
    start = text.find("VOICES")
    end = text.find("});", start)
    if start < 0 or end < 0:
        return {}
    facts: dict[str, VoiceFacts] = {}
    for m in _ENTRY.finditer(text, start, end):
        fields = dict(_FIELD.findall(m.group(2)))
        facts[m.group(1)] = VoiceFacts(
            gender=_GENDERS.get(fields.get("gender", "").lower()),
            grade=fields.get("overallGrade") if fields.get("overallGrade") in GRADES else None,
            target_quality=fields.get("targetQuality") if fields.get("targetQuality") in GRADES else None,
        )
    return facts


def facts_to_json(facts: Mapping[str, VoiceFacts]) -> dict:
    return {
        name: {"gender": f.gender, "grade": f.grade, "target": f.target_quality} for name, f in facts.items()
    }


def facts_from_json(data: object) -> dict[str, VoiceFacts]:
    """The catalog written at install time; entries that are not what was written are left out."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, VoiceFacts] = {}
    for name, entry in data.items():
        if not (isinstance(name, str) and isinstance(entry, dict)):
            continue
        gender, grade, target = entry.get("gender"), entry.get("grade"), entry.get("target")
        out[name] = VoiceFacts(
            gender=gender if gender in _GENDERS.values() else None,
            grade=grade if grade in GRADES else None,
            target_quality=target if target in GRADES else None,
        )
    return out


def grade_rank(grade: str | None) -> int:
    """Lower is better; ungraded voices come last."""
    return GRADES.index(grade) if grade in GRADES else len(GRADES)


def language_defaults(names: Iterable[str], facts: Mapping[str, VoiceFacts]) -> dict[str, str]:
    """Each language's best-graded voice (ties: the better training data, then the catalog's order, then the
    name). af_heart for American English, bf_emma British, ff_siwis French, jf_alpha Japanese..."""
    order = {name: i for i, name in enumerate(facts)}
    best: dict[str, tuple] = {}
    for name in names:
        if name[2:3] != "_":
            continue
        f = facts.get(name, VoiceFacts(None, None, None))
        key = (grade_rank(f.grade), grade_rank(f.target_quality), order.get(name, len(order)), name)
        lang = name[:1]
        if lang not in best or key < best[lang]:
            best[lang] = key
    return {lang: key[-1] for lang, key in best.items()}


def app_default(names: Iterable[str]) -> str | None:
    """af_heart when it is there, else the Japanese voice that reads English best, else None."""
    names = set(names)
    for choice in (APP_DEFAULT, JAPANESE_ONLY_DEFAULT):
        if choice in names:
            return choice
    return None
