"""Token-aware chunking of clean reviews for the embedding model.

An embedding model reads at most so many word pieces (all-MiniLM-L6-v2: 256, two of them its special
tokens) and silently drops the rest, so a long review embedded whole loses its ending, often where the
verdict is. The budget therefore comes from the model's own limit and is counted with a tokenizer:

- a review that fits is one chunk, its whole text;
- a longer one is split on sentence boundaries (pysbd, per language) and packed greedily into chunks of
  at most the budget, each new chunk starting with the last sentences of the previous one, up to
  `overlap_tokens`, so a thought that straddles the cut is whole in one of them;
- a single sentence over the budget is cut at word-piece boundaries.

Chunk IDs are a hash of the review ID, the chunk's index, its text and the embedding model's version:
the same review embedded by the same model always gets the same IDs (re-runs overwrite), and a new
model version never collides with the old one. The embedding step and the training step's index of a
pinned clean version both chunk with this module, so both hold the same chunks for the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pysbd
from tokenizers import Tokenizer

from common.ids import stable_hash

# pysbd's languages among the project's; others are segmented with the English rules.
_SEGMENTER_LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "nl"})


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    review_id: str
    chunk_index: int
    text: str
    token_count: int


def chunk_id(review_id: str, chunk_index: int, text: str, model_version: str) -> str:
    return stable_hash(review_id, chunk_index, text, model_version)


@lru_cache(maxsize=8)
def segmenter(language: str) -> pysbd.Segmenter:
    """The sentence splitter the chunker uses for `language`: one per language, kept, since building one
    compiles its rules; languages pysbd lacks get the English rules."""
    lang = language if language in _SEGMENTER_LANGUAGES else "en"
    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


class Chunker:
    """Splits texts into chunks that fit `max_tokens` word pieces of `tokenizer` (special tokens excluded)."""

    def __init__(
        self, tokenizer: Tokenizer, max_tokens: int, overlap_tokens: int, model_version: str
    ) -> None:
        if max_tokens < 8:
            raise ValueError(f"max_tokens={max_tokens} leaves no room for text")
        if not 0 <= overlap_tokens < max_tokens // 2:
            raise ValueError(f"overlap_tokens={overlap_tokens} must be >= 0 and < half of {max_tokens}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.model_version = model_version

    @classmethod
    def for_model(
        cls, tokenizer_file: str | Path, model_max_tokens: int, overlap_tokens: int, model_version: str
    ) -> Chunker:
        """The budget is the model's input limit less the special tokens the tokenizer adds ([CLS], [SEP])."""
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        special = len(tokenizer.encode("", add_special_tokens=True).ids)
        return cls(tokenizer, model_max_tokens - special, overlap_tokens, model_version)

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def chunk(self, review_id: str, text: str, language: str) -> list[Chunk]:
        return self.chunk_many([(review_id, text, language)])[0]

    def chunk_many(self, reviews: list[tuple[str, str, str]]) -> list[list[Chunk]]:
        """Chunks of each (review_id, text, language), in order. Token counts are batched: the common
        case, a review that fits, costs one tokenizer pass and no sentence splitting."""
        counts = self.count([text for _, text, _ in reviews])
        result = []
        for (review_id, text, language), tokens in zip(reviews, counts, strict=True):
            pieces = [(text, tokens)] if tokens <= self.max_tokens else self._split(text, language)
            result.append(
                [
                    Chunk(chunk_id(review_id, i, piece, self.model_version), review_id, i, piece, n)
                    for i, (piece, n) in enumerate(pieces)
                ]
            )
        return result

    # --- long texts ---------------------------------------------------------------------------------

    def _sentences(self, text: str, language: str) -> list[tuple[int, int]]:
        """Character spans of the sentences, long ones cut at word-piece boundaries to fit the budget."""
        spans = [(s.start, s.end) for s in segmenter(language).segment(text) if s.sent.strip()]
        if not spans:
            spans = [(0, len(text))]
        counts = self.count([text[a:b] for a, b in spans])
        fitted: list[tuple[int, int]] = []
        for (start, end), tokens in zip(spans, counts, strict=True):
            if tokens <= self.max_tokens:
                fitted.append((start, end))
                continue
            offsets = self.tokenizer.encode(text[start:end], add_special_tokens=False).offsets
            for first in range(0, len(offsets), self.max_tokens):
                window = offsets[first : first + self.max_tokens]
                fitted.append((start + window[0][0], start + window[-1][1]))
        return fitted

    def _split(self, text: str, language: str) -> list[tuple[str, int]]:
        spans = self._sentences(text, language)
        counts = self.count([text[a:b] for a, b in spans])
        chunks: list[tuple[str, int]] = []
        current: list[int] = []  # indices into spans
        used = 0
        for i, tokens in enumerate(counts):
            if current and used + tokens > self.max_tokens:
                chunks.append(self._text(text, spans, current))
                # Carry the tail of the finished chunk over, within the overlap budget and never so much
                # that sentence i no longer fits after it.
                carried: list[int] = []
                carried_tokens = 0
                for j in reversed(current):
                    if carried_tokens + counts[j] > min(self.overlap_tokens, self.max_tokens - tokens):
                        break
                    carried.insert(0, j)
                    carried_tokens += counts[j]
                current, used = carried, carried_tokens
            current.append(i)
            used += tokens
        if current:
            chunks.append(self._text(text, spans, current))
        # The joined text can count a few pieces more or less than its sentences did; report the truth.
        real = self.count([c for c, _ in chunks])
        return [(c, n) for (c, _), n in zip(chunks, real, strict=True)]

    @staticmethod
    def _text(text: str, spans: list[tuple[int, int]], members: list[int]) -> tuple[str, int]:
        return text[spans[members[0]][0] : spans[members[-1]][1]].strip(), 0
