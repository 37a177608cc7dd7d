"""Noise: reviews too short to say anything, and spam.

Exact and near copies of earlier reviews, the other kind of noise, are found by
`common.text_dedup.DuplicateIndex`, which the training step's decontamination uses too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import regex
import yaml

from common.injection import fold_for_matching

# A word holds at least one letter; digits may lead ("4k") and apostrophes or hyphens may join parts
# ("l'homme", "e-mail", "don't"). Emoji, numbers and punctuation are not words. Works for every
# space-separated script, which covers the six supported languages.
_WORD = regex.compile(r"\p{N}*\p{L}[\p{L}\p{M}\p{N}]*(?:['’\-][\p{L}\p{M}\p{N}]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


# --- spam ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShoutingRule:
    """ALL-CAPS text that also carries a link: the shape of a shouted advertisement."""

    name: str
    min_letters: int
    min_upper_share: float
    link: re.Pattern[str]

    def matches(self, text: str) -> bool:
        if self.link.search(text) is None:
            return False
        letters = [ch for ch in self.link.sub(" ", text) if ch.isalpha()]
        if len(letters) < self.min_letters:
            return False
        return sum(ch.isupper() for ch in letters) / len(letters) >= self.min_upper_share


class SpamFilter:
    """Named spam patterns from `config/spam_patterns.yaml`, matched on an accent-free copy of the text.

    Patterns are compiled one by one (not as one alternation) because some use backreferences to
    their own groups ("aaaaaaaaaa").
    """

    def __init__(self, patterns: dict[str, str], shouting: ShoutingRule | None = None) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for name, pattern in patterns.items():
            try:
                self.patterns.append((name, re.compile(pattern, re.IGNORECASE)))
            except re.error as error:
                raise ValueError(f"spam pattern {name!r} does not compile: {error}") from error
        self.shouting = shouting

    @classmethod
    def from_file(cls, path: str | Path) -> SpamFilter:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        patterns: dict[str, str] = {}
        for entry in data.get("patterns") or []:
            if entry["name"] in patterns:
                raise ValueError(f"duplicate spam pattern name {entry['name']!r} in {path}")
            patterns[entry["name"]] = entry["regex"]
        rule = data.get("shouting_with_link")
        shouting = None
        if rule:
            shouting = ShoutingRule(
                name=rule["name"],
                min_letters=int(rule["min_letters"]),
                min_upper_share=float(rule["min_upper_share"]),
                link=re.compile(rule["link_regex"], re.IGNORECASE),
            )
        return cls(patterns, shouting)

    def match(self, text: str) -> str | None:
        """The name of the first spam pattern the text matches, or None."""
        folded = fold_for_matching(text)
        for name, pattern in self.patterns:
            if pattern.search(folded):
                return name
        if self.shouting is not None and self.shouting.matches(text):
            return self.shouting.name
        return None
