"""Language identification with langdetect, made deterministic and honest about uncertainty.

langdetect samples n-grams at random: without a fixed seed the same review can come out `de` in one run
and `nl` in the next, which would make re-runs of a window publish different partitions. The detector
therefore owns a `DetectorFactory` with a fixed seed and builds a fresh `Detector` per text, as langdetect
requires (a detector holds the text it was given). Short texts and low-confidence guesses are `unknown`
rather than a coin flip: a wrong language silently routes a review to the wrong PII rules and prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import regex
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

UNKNOWN = "unknown"

# What carries no language: links, e-mail addresses, digits and emoji.
_NOT_LANGUAGE = regex.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|[\p{N}\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F\u200D]+"
)
_SPACES = regex.compile(r"\s+")


@lru_cache(maxsize=1)
def _profiles() -> DetectorFactory:
    """langdetect's 55 language profiles (a second to load, tens of MB): one copy per process."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


class Detection(NamedTuple):
    language: str  # the detected code, or `unknown`
    candidate: str | None  # langdetect's best guess, also when it was not confident enough
    probability: float


class LanguageDetector:
    """Detects a review's language as an ISO 639-1 code (as langdetect names it), or `unknown`."""

    def __init__(self, languages: Sequence[str], min_chars: int, min_confidence: float, seed: int) -> None:
        self.languages = frozenset(languages)
        self.min_chars = min_chars
        self.min_confidence = min_confidence
        # A private, seeded factory (the library's module-level one is seedless) over the language
        # profiles, which are loaded once per process and only read afterwards.
        profiles = _profiles()
        self._factory = DetectorFactory()
        self._factory.word_lang_prob_map = profiles.word_lang_prob_map
        self._factory.langlist = profiles.langlist
        self._factory.set_seed(seed)

    def detect_with_confidence(self, text: str) -> Detection:
        """The language with langdetect's probability for it, and its best guess when that is `unknown`
        (none when the text is too short to try)."""
        content = _SPACES.sub(" ", _NOT_LANGUAGE.sub(" ", text)).strip()
        if len(content) < self.min_chars:
            return Detection(UNKNOWN, None, 0.0)
        detector = self._factory.create()
        detector.append(content)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # no usable features (only symbols)
            return Detection(UNKNOWN, None, 0.0)
        if not ranked:
            return Detection(UNKNOWN, None, 0.0)
        best = ranked[0]
        language = best.lang if best.prob >= self.min_confidence else UNKNOWN
        return Detection(language, best.lang, best.prob)

    def detect(self, text: str) -> str:
        return self.detect_with_confidence(text).language

    def is_supported(self, language: str) -> bool:
        return language in self.languages
