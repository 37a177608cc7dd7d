"""Exact and near duplicates of texts (MinHash over word 3-shingles, LSH banding), with its state on disk.

The ingestion chain checks every review against the earlier ones; the training step's decontamination
indexes the golden set's snippets and drops SFT snippets that copy one (`find_copy`).

"Earlier" spans days: besides the reviews of the run itself, the index holds the clean reviews already
published for the days before the window (`add_published`, fed by the ingestion transform from the lake
for `dedup.window_days` days), so a copy of yesterday's review is caught although every run, on
SageMaker in a fresh container, starts with an empty scratch folder. The lake is the persistent state:
nothing else has to survive between runs, a re-run of a window sees exactly what its first run saw (the
window's own days are never read back, since the re-run replaces them), and the bound on work and disk
is the number of days.

Duplicate state (review ids, text hashes, MinHash signatures and LSH band keys) lives in a SQLite file
in the step's scratch folder, not in Python dictionaries: a backfill of millions of reviews would
otherwise grow the process until the node runs out of memory, and the memory benchmark holds peak RSS
flat from 100k to 1M reviews. SQLite is in the standard library, keeps B-tree indexes on disk with a
bounded page cache (`dedup.state_cache_mib`), answers a point lookup in microseconds, and needs no server
on a SageMaker Processing node. datasketch's own LSH index only stores in memory, Redis or Cassandra, so
the banding is done here on top of its MinHash signatures.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import regex
from datasketch import LeanMinHash, MinHash

from common.ids import content_hash, normalized_for_hash
from common.settings import DedupSettings

_SHINGLE_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_MINHASH_SEED = 1
_SCHEME = "affine32"


def shingles(text: str, size: int = 3) -> set[bytes]:
    """Word `size`-shingles of the case-folded text; a text shorter than that is one shingle."""
    tokens = _SHINGLE_WORD.findall(normalized_for_hash(text))
    if len(tokens) < size:
        return {" ".join(tokens).encode("utf-8")}
    return {" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)}


# `published`: the day (dt) a review was published for when it came from the lake, NULL for the run's
# own reviews; a published id has no raw hash (only the clean review is kept).
_SCHEMA = """
CREATE TABLE review_ids (review_id TEXT PRIMARY KEY, raw_hash TEXT, published TEXT) WITHOUT ROWID;
CREATE TABLE texts (content_hash TEXT PRIMARY KEY, review_id TEXT NOT NULL, published TEXT) WITHOUT ROWID;
CREATE TABLE signatures (
    doc INTEGER PRIMARY KEY, review_id TEXT NOT NULL, minhash BLOB NOT NULL, published TEXT
);
CREATE TABLE bands (band_key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (band_key, doc))
    WITHOUT ROWID;
"""
# Earlier reviews sharing at least one LSH band with a new one, most shared bands first. The band keys
# arrive as one JSON array parameter, so the statement is a constant and never formatted.
_CANDIDATES = """
SELECT s.review_id, s.minhash, s.published
FROM (
    SELECT doc, COUNT(*) AS hits FROM bands
    WHERE band_key IN (SELECT value FROM json_each(?))
    GROUP BY doc ORDER BY hits DESC, doc LIMIT ?
) AS c
JOIN signatures AS s ON s.doc = c.doc
ORDER BY c.hits DESC, c.doc
"""


def _earlier(review_id: str, published: str | None) -> str:
    return f"review {review_id}" if published is None else f"review {review_id} (published for {published})"


class DuplicateIndex:
    """Everything the chain must remember about earlier reviews, on disk: the run's, and the published
    ones of the days before it (`add_published`).

    - review ids with a hash of their raw content (duplicate vs conflicting delivery of one id);
    - content hashes of cleaned texts (exact duplicates, insensitive to case and spacing);
    - MinHash signatures of word 3-shingles, indexed by LSH band keys (near duplicates): texts that
      agree on every row of at least one band become candidates, and a candidate counts when the
      Jaccard similarity estimated from the full signatures reaches the threshold.

    Changes are committed once per processing batch (`commit`), not per review.
    """

    def __init__(self, path: str | Path, settings: DedupSettings) -> None:
        if settings.num_perm % settings.bands:
            raise ValueError(f"dedup.num_perm ({settings.num_perm}) must be a multiple of dedup.bands")
        self.threshold = settings.near_duplicate_jaccard
        self.num_perm = settings.num_perm
        self.max_candidates = settings.max_candidates
        rows = settings.num_perm // settings.bands
        self._band_slices = [slice(b * rows, (b + 1) * rows) for b in range(settings.bands)]
        self._permutations = MinHash(num_perm=settings.num_perm, seed=_MINHASH_SEED).permutations
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        # Scratch state for one run: no journal, no fsync, a bounded page cache.
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            "temp_store = FILE",
            f"cache_size = -{settings.state_cache_mib * 1024}",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(_SCHEMA)

    # review ids ---------------------------------------------------------------------------------

    def check_review_id(self, review_id: str, raw_hash: str) -> tuple[str, str] | None:
        """`(reason, detail)` when the id was seen before in the run or published for an earlier day;
        otherwise remember it. `review_id` is the id's key (`pipelines.ingestion.validity.id_key`): case
        variants are one id."""
        row = self._db.execute(
            "SELECT raw_hash, published FROM review_ids WHERE review_id = ?", (review_id,)
        ).fetchone()
        if row is None:
            self._db.execute("INSERT INTO review_ids VALUES (?, ?, NULL)", (review_id, raw_hash))
            return None
        if row[1] is not None:
            return "duplicate_review_id", f"review_id already published for {row[1]}"
        if row[0] == raw_hash:
            return "duplicate_review_id", "same id and same content as an earlier record of this run"
        # No hash prefixes in the detail: an unkeyed hash of a short text can be reversed by guessing.
        return "conflicting_review_id", "content differs from the earlier record with this id in this run"

    # texts --------------------------------------------------------------------------------------

    def signature(self, text: str) -> MinHash:
        minhash = MinHash(
            num_perm=self.num_perm, seed=_MINHASH_SEED, permutations=self._permutations, scheme=_SCHEME
        )
        minhash.update_batch(shingles(text))
        return minhash

    def _band_keys(self, minhash: MinHash) -> list[int]:
        keys = []
        for band, rows in enumerate(self._band_slices):
            digest = hashlib.blake2b(
                minhash.hashvalues[rows].tobytes(), digest_size=8, salt=band.to_bytes(2, "little")
            ).digest()
            keys.append(int.from_bytes(digest, "little", signed=True))
        return keys

    def check_text(self, review_id: str, text: str) -> tuple[str, str] | None:
        """`(reason, detail)` when the text copies an earlier review of the run; otherwise index it."""
        digest = content_hash(text)
        earlier = self._exact_copy_of(digest)
        if earlier is not None:
            return "duplicate_text", f"same text as {_earlier(*earlier)}"
        self._db.execute("INSERT INTO texts VALUES (?, ?, NULL)", (digest, review_id))
        minhash = self.signature(text)
        keys = self._band_keys(minhash)
        near = self._nearest(minhash, keys)
        if near is not None:
            return "near_duplicate", f"estimated Jaccard {near[0]:.2f} with {_earlier(*near[1:])}"
        self._add_signature(review_id, minhash, keys)
        return None

    def find_copy(self, text: str) -> tuple[str, str, str] | None:
        """`(reason, review_id, detail)` when the text is an exact or near copy of an indexed text, else
        None. Read-only: the text is not indexed (what decontamination against a fixed set needs)."""
        earlier = self._exact_copy_of(content_hash(text))
        if earlier is not None:
            return "duplicate_text", earlier[0], f"same text as {_earlier(*earlier)}"
        minhash = self.signature(text)
        near = self._nearest(minhash, self._band_keys(minhash))
        if near is not None:
            return "near_duplicate", near[1], f"estimated Jaccard {near[0]:.2f} with {_earlier(*near[1:])}"
        return None

    def add_text(self, review_id: str, text: str, published: str | None = None) -> None:
        """Index a text without checking it (the fixed set that others are checked against); the first
        text indexed under a hash keeps it, so the earliest review is the one a copy is reported against."""
        self._db.execute(
            "INSERT OR IGNORE INTO texts VALUES (?, ?, ?)", (content_hash(text), review_id, published)
        )
        minhash = self.signature(text)
        self._add_signature(review_id, minhash, self._band_keys(minhash), published)

    def add_published(self, key: str, review_id: str, text: str, published: str) -> None:
        """Index a clean review published for the day `published` (YYYY-MM-DD) before the run: its id
        (`key`, see `check_review_id`) and its text. Call in publishing order, oldest day first."""
        self._db.execute("INSERT OR IGNORE INTO review_ids VALUES (?, NULL, ?)", (key, published))
        self.add_text(review_id, text, published)

    def _exact_copy_of(self, digest: str) -> tuple[str, str | None] | None:
        row = self._db.execute(
            "SELECT review_id, published FROM texts WHERE content_hash = ?", (digest,)
        ).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def _nearest(self, minhash: MinHash, keys: list[int]) -> tuple[float, str, str | None] | None:
        """The most similar indexed text at or above the threshold, as (Jaccard estimate, review id, the
        day it was published for or None)."""
        best: tuple[float, str, str | None] | None = None
        for earlier_id, blob, published in self._db.execute(
            _CANDIDATES, (json.dumps(keys), self.max_candidates)
        ):
            similarity = minhash.jaccard(LeanMinHash.deserialize(blob))
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, earlier_id, published)
        return best

    def _add_signature(
        self, review_id: str, minhash: MinHash, keys: list[int], published: str | None = None
    ) -> None:
        lean = LeanMinHash(minhash)
        blob = bytearray(lean.bytesize())
        lean.serialize(blob)
        doc = self._db.execute(
            "INSERT INTO signatures (review_id, minhash, published) VALUES (?, ?, ?)",
            (review_id, bytes(blob), published),
        ).lastrowid
        self._db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", [(key, doc) for key in keys])

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.close()
