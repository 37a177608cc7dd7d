"""Language identification with langdetect, made deterministic and honest about uncertainty.

langdetect samples n-grams at random: without a fixed seed the same review can come out `de` in one run
and `nl` in the next, which would make re-runs of a window publish different partitions. The detector
therefore owns a `DetectorFactory` with a fixed seed and builds a fresh `Detector` per text, as langdetect
requires (a detector holds the text it was given). Short texts and low-confidence guesses are `unknown`
rather than a coin flip: a wrong language silently routes a review to the wrong PII rules and prompts.

langdetect's sampling loop multiplies 55 Python floats per sampled n-gram, which made it most of the
cleaning chain's cost. `_ArrayDetector` runs the same loop on a numpy matrix of the same profiles: the
same seeded draws, update rule and convergence test, so the same answers, several times faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import regex
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import ErrorCode, LangDetectException

UNKNOWN = "unknown"

# What carries no language: links, e-mail addresses, digits and emoji.
_NOT_LANGUAGE = regex.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|[\p{N}\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F\u200D]+"
)
_SPACES = regex.compile(r"\s+")


class _Profiles(NamedTuple):
    langlist: list[str]
    rows: dict[str, int]  # n-gram -> its row in `matrix`
    matrix: np.ndarray  # (n-grams, languages): langdetect's P(n-gram | language)


@lru_cache(maxsize=1)
def _profiles() -> _Profiles:
    """langdetect's 55 language profiles as one matrix (a second to load): one copy per process.

    As langdetect keeps them, one Python list of floats per n-gram, they take several times the memory.
    """
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    words = list(factory.word_lang_prob_map)
    matrix = np.array([factory.word_lang_prob_map[w] for w in words], dtype=np.float64)
    return _Profiles(list(factory.langlist), {w: i for i, w in enumerate(words)}, matrix)


class _ArrayDetector(Detector):
    """langdetect's `Detector` with `_detect_block` on numpy arrays.

    The stock loop, per trial: draw an n-gram, multiply each language's probability by
    `alpha / BASE_FREQ + P(n-gram | language)`, and every fifth draw (and after the first) normalise and
    stop once one language exceeds CONV_THRESHOLD. Here the draws between two checks are applied as one
    product over their matrix rows; the random draws are made in the same order with the same seeded
    generator, so the trials sample the same n-grams.
    """

    CHECK_EVERY = 5

    def __init__(self, factory: DetectorFactory, matrix: np.ndarray) -> None:
        super().__init__(factory)  # word_lang_prob_map is the n-gram -> row index map here
        self._matrix = matrix

    def _detect_block(self) -> None:
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        rows = [self.word_lang_prob_map[w] for w in ngrams]
        languages = len(self.langlist)
        langprob = np.zeros(languages)
        self.random.seed(self.seed)
        # `random.choice(rows)` inlined: CPython draws bit_length(n) random bits until they are below n.
        getrandbits, n = self.random.getrandbits, len(rows)
        bits = n.bit_length()

        def draw() -> int:
            r = getrandbits(bits)
            while r >= n:
                r = getrandbits(bits)
            return rows[r]

        for _ in range(self.n_trial):
            prob = np.full(languages, 1.0 / languages)
            alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
            weight = alpha / self.BASE_FREQ
            done, block = 0, 1  # the stock loop checks after draw 0, then after every fifth draw
            while True:
                picks = [draw() for _ in range(block)]
                prob *= (weight + self._matrix[picks]).prod(axis=0)
                done += block
                prob /= prob.sum()
                if prob.max() > self.CONV_THRESHOLD or done - 1 >= self.ITERATION_LIMIT:
                    break
                block = self.CHECK_EVERY
            langprob += prob / self.n_trial
        self.langprob = langprob.tolist()


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
        self._factory.word_lang_prob_map = profiles.rows
        self._factory.langlist = profiles.langlist
        self._factory.set_seed(seed)
        self._matrix = profiles.matrix

    def detect_with_confidence(self, text: str) -> Detection:
        """The language with langdetect's probability for it, and its best guess when that is `unknown`
        (none when the text is too short to try)."""
        content = _SPACES.sub(" ", _NOT_LANGUAGE.sub(" ", text)).strip()
        if len(content) < self.min_chars:
            return Detection(UNKNOWN, None, 0.0)
        detector = _ArrayDetector(self._factory, self._matrix)
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
