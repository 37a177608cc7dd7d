"""The words the sample reviews are made of: catalogue, aspects and per-language phrasing.

Review texts are composed from these pieces, so everything a review says in any language maps back to an
aspect key and a polarity: that is what makes the ground truth exact. Aspect noun phrases are singular
and the evaluative frames avoid article contractions and adjective agreement (predicate adjectives in
French, Spanish and Italian are invariable forms), so any noun phrase fits any frame grammatically.

The tables are data, in JSON files beside this module (`catalogue.json`, `aspect_text.json`,
`language_text.json`, `defects.json`, each an object of tables by these names), read with the standard
library. JSON arrays are read as tuples: the vocabulary
is immutable, and the tables are exactly what they were as Python literals. Key order is kept and
matters: the generator draws from the tables in order, so the same seed gives the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _immutable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_immutable(item) for item in value)
    if isinstance(value, dict):
        return {key: _immutable(item) for key, item in value.items()}
    return value


def _tables(filename: str) -> dict[str, Any]:
    """The named tables of one data file; a missing file fails the import, never yields an empty table."""
    data = json.loads(Path(__file__).with_name(filename).read_text(encoding="utf-8"))
    return {name: _immutable(table) for name, table in data.items()}


_CATALOGUE = _tables("catalogue.json")
_DEFECTS = _tables("defects.json")

# The marketplace's language mix; every review is written in one of these.
LANGUAGE_SHARES: dict[str, float] = _CATALOGUE["LANGUAGE_SHARES"]

# Aspect key -> canonical English phrases: (neutral, as a pro, as a con).
ASPECT_PHRASES: dict[str, tuple[str, str, str]] = _CATALOGUE["ASPECT_PHRASES"]

# Category -> its aspects, product types (English, for titles), brands and model-line words.
CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = _CATALOGUE["CATEGORIES"]

EMOJI_POSITIVE: tuple[str, ...] = _CATALOGUE["EMOJI_POSITIVE"]
EMOJI_NEGATIVE: tuple[str, ...] = _CATALOGUE["EMOJI_NEGATIVE"]

# Aspect key -> language -> (noun phrase as it stands inside a sentence, a positive sentence, a negative one).
ASPECT_TEXT: dict[str, dict[str, tuple[str, str, str]]] = _tables("aspect_text.json")["ASPECT_TEXT"]

# Per-language building blocks. Templates use {NP} (noun phrase, capitalised), {np}, {adj}, {intens},
# {title}, {n}, {m}, {k}, {who}, {weekday}. Connectors are (text, lowercase the next sentence's start?).
# German capitalises nouns: only its `lowercase_starts` may be lowercased after "Und"/"Aber".
LANGUAGE_TEXT: dict[str, dict] = _tables("language_text.json")["LANGUAGE_TEXT"]

# ---- Defect material -------------------------------------------------------------------------------

# Sentences that carry one PII value ({v}) in the review's language.
PII_FRAMES: dict[str, dict[str, tuple[str, ...]]] = _DEFECTS["PII_FRAMES"]

# Abusive sentences: {noun}/{adj} singular, {nouns}/{adjs} plural forms from TOXIC_WORDS.
TOXIC_TEMPLATES: dict[str, tuple[str, ...]] = _DEFECTS["TOXIC_TEMPLATES"]

# (singular, plural) insult nouns and adjectives, in the forms the templates need.
TOXIC_WORDS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = _DEFECTS["TOXIC_WORDS"]

# Promotional spam; always carries a link and a call to action or a code.
SPAM_TEMPLATES: dict[str, tuple[str, ...]] = _DEFECTS["SPAM_TEMPLATES"]
SPAM_SITES: tuple[str, ...] = _DEFECTS["SPAM_SITES"]

# Instructions aimed at the summarization model, per language, plus markup-style ones in English.
INJECTIONS: dict[str, tuple[str, ...]] = _DEFECTS["INJECTIONS"]
INJECTIONS_MARKUP: tuple[str, ...] = _DEFECTS["INJECTIONS_MARKUP"]

SHORT_NOISE: tuple[str, ...] = _DEFECTS["SHORT_NOISE"]
