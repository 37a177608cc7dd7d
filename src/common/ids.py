"""Deterministic identifiers and content hashes.

Re-running a pipeline for the same input must produce the same IDs (so writes are upserts, never
duplicates), and Python's built-in `hash()` is salted per process, so every ID here is a SHA-256 of a
canonical string.
"""

from __future__ import annotations

import hashlib
import unicodedata


def stable_hash(*parts: object, length: int = 32) -> str:
    """Hex SHA-256 of the parts joined with a separator that cannot occur inside them."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:length]


def normalized_for_hash(text: str) -> str:
    """The form of a text two copies must share to count as the same: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def content_hash(text: str) -> str:
    """Hash of a review's cleaned text, insensitive to case and whitespace differences."""
    return stable_hash(normalized_for_hash(text), length=64)
