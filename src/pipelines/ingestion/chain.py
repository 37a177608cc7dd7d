"""The review cleaning chain: every raw review ends as exactly one clean row or one quarantine row.

Checks run cheapest first, and a record stops at the first one it fails, with that check's reason code
(`common.schemas.QUARANTINE_REASONS`, in the order below):

1. structure: encoding, id (NFC, trimmed, no control or whitespace characters, bounded length), creation
   time, duplicate or conflicting id (case-insensitive, and against ids published for earlier days),
   product, rating, text type, empty text, raw length (before any parsing, so a megabyte of junk costs
   a `len`); `pipelines.ingestion.validity` has the rules;
2. cleaning: markup, mojibake, invisible characters, whitespace; then empty or too long;
3. prompt injection (before anything reads the content: a disguised attack also looks garbled or
   foreign, and its reason must say attack);
4. content: garbled, without any letter (`no_words`), or mostly in a script no configured language is
   written in (`unsupported_language` at once: Japanese or Thai have no spaces for the word count);
   too few words, spam, exact and near duplicates of earlier reviews of the run, or of reviews
   published for the days before it once the caller has added those (`DuplicateIndex.add_published`);
5. language: unknown or outside the configured set (langdetect only runs on what survived so far);
6. PII redaction (nothing is quarantined for PII: it is replaced by typed placeholders);
7. toxicity, scored by the model for a whole processing batch at once.

The model dominates the cost. `run` therefore overlaps the two halves of the work: while a worker
thread scores batch n (torch releases the GIL inside its kernels), the calling thread runs steps 1-6 on
batch n+1. At most two batches are in flight, so memory stays bounded whatever the input size, and the
state that must span the run (ids, text hashes, MinHash bands) is on disk
(`common.text_dedup.DuplicateIndex`).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from common.ids import content_hash, stable_hash
from common.injection import InjectionScreen
from common.pii import PiiRedactor
from common.schemas import CleanReview, QuarantineRecord, RawReview
from common.settings import Settings
from common.text_dedup import DuplicateIndex
from common.toxicity import ToxicityScorer
from pipelines.ingestion.cleaning import clean_text, garbled_detail, looks_like_markup, no_words_detail
from pipelines.ingestion.language import UNKNOWN, LanguageDetector
from pipelines.ingestion.noise import SpamFilter, count_words
from pipelines.ingestion.quarantine import QuarantineRedactor, QuarantineText
from pipelines.ingestion.validity import CreatedAtRule, encoding_problem, id_key, id_problem, normalize_id

# "5" and "5.0" are ratings; "4.5", "five", "N/A", "0" and "6" are not.
_STAR_RATING = re.compile(r"^\s*([1-5])(?:\.0*)?\s*$")
STATE_FILE = "duplicate-state.sqlite"


class RawRecord(RawReview, total=False):
    """A raw review as the transform reads it: a reader that could not decode some of its strings marks
    them here (`validity.ENCODING_ERRORS`: {field: what was wrong}), not in the raw schema."""

    encoding_errors: dict[str, str]


class Rejected(Exception):
    """A record failed a check: the reason code and its specifics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class _Survivor:
    """A record that passed steps 1-6 and waits for its toxicity score."""

    position: int
    record: RawRecord
    text: str  # cleaned and PII-redacted
    language: str
    star_rating: int
    pii_entities: list[str]


@dataclass
class _Progress:
    """How far a record got through steps 1-6: what its quarantine row can show of it."""

    text: str | None = None  # cleaned, not yet redacted
    language: str | None = None


@dataclass
class _Screened:
    """One processing batch after steps 1-6."""

    survivors: list[_Survivor] = field(default_factory=list)
    quarantined: list[tuple[int, QuarantineRecord]] = field(default_factory=list)


def parse_star_rating(value: Any) -> int | None:
    if value is None:
        return None
    match = _STAR_RATING.match(str(value))
    return int(match.group(1)) if match else None


def raw_content_hash(record: RawReview) -> str:
    """What makes two deliveries of one review id "the same review": product, rating and text as the
    source gave them. Vote counts are left out: they change while the review stays the same."""
    return stable_hash(
        record.get("product_id"),
        record.get("star_rating"),
        record.get("text_type"),
        record.get("review_text"),
    )


def quarantine_row(record: RawReview, reason: str, detail: str, text: QuarantineText) -> QuarantineRecord:
    """A quarantine record keeps the source's ids and fields, so that a data engineer can find the source
    row and reprocess it, but never its raw text: `text` is its redacted preview and keyed hash
    (`pipelines.ingestion.quarantine`)."""
    return {
        "review_id": record.get("review_id"),
        "product_id": record.get("product_id"),
        "reason": reason,
        "detail": detail,
        "star_rating": record.get("star_rating"),
        "redacted_text": text.redacted_text,
        "raw_text_hmac": text.raw_text_hmac,
        "raw_text_chars": text.raw_text_chars,
        "language": text.language,
        "pii_entities": list(text.pii_entities),
        "text_type": record.get("text_type"),
        "created_at": record.get("created_at"),
        "helpful_votes": record.get("helpful_votes"),
        "verified_purchase": record.get("verified_purchase"),
    }


class ReviewChain:
    """Turns raw review records (`RawRecord`) into clean and quarantine rows.

    One chain is one run: duplicates are detected against everything it has seen since it was built,
    and the published reviews its caller adds to `duplicates` first. `window` ([start, end) of the
    extract) and `now` (the processing time) bound the creation times it accepts. `redactor` and
    `scorer` may be passed in to share loaded models between chains (tests, benchmarks); by default they
    are built from the settings.
    """

    def __init__(
        self,
        settings: Settings,
        work_dir: str | Path,
        *,
        redactor: PiiRedactor | None = None,
        scorer: ToxicityScorer | None = None,
        window: tuple[datetime, datetime] | None = None,
        now: datetime | None = None,
    ) -> None:
        ingestion = settings.ingestion
        self.ingestion = ingestion
        self.created_at = CreatedAtRule.build(
            ingestion.earliest_created_at, ingestion.future_tolerance_hours, now or datetime.now(UTC), window
        )
        self.toxicity_threshold = settings.thresholds.ingestion.toxicity_quarantine
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        state = self.work_dir / STATE_FILE
        state.unlink(missing_ok=True)  # state belongs to one run
        self.duplicates = DuplicateIndex(state, ingestion.dedup)
        self.spam = SpamFilter.from_file(settings.resolve_path(ingestion.spam.patterns_file))
        self.injection = InjectionScreen.from_file(settings.resolve_path(ingestion.injection.patterns_file))
        self.language = LanguageDetector.from_settings(ingestion)
        self.pii = redactor or PiiRedactor.from_settings(ingestion)
        self.quarantine = QuarantineRedactor.from_settings(ingestion, self.pii)
        self.toxicity = scorer or ToxicityScorer.from_settings(ingestion)
        # torch, transformers, presidio and langdetect's profiles are hundreds of thousands of objects
        # that live as long as the process, while the chain allocates millions of short-lived ones
        # (langdetect alone, per n-gram): every full collection would walk the long-lived ones again.
        # Frozen, they are out of the collector's sight; this cuts the Python steps' cost by about a third.
        gc.collect()
        gc.freeze()

    # --- steps 1-6, one record at a time -----------------------------------------------------------

    def _screen(self, record: RawRecord, progress: _Progress) -> tuple[str, str, int, list[str]]:
        """Steps 1-6 for one record: (redacted text, language, star rating, PII types), or `Rejected`;
        `progress` records the cleaned text and language as soon as they are known."""
        ingestion = self.ingestion
        problem = encoding_problem(record)
        if problem is not None:
            raise Rejected("invalid_encoding", problem)
        review_id = record.get("review_id")
        review_id = "" if review_id is None else normalize_id(review_id)
        if not review_id:
            raise Rejected("missing_review_id", "review_id is null or blank")
        problem = id_problem("review_id", review_id, ingestion.max_review_id_chars)
        if problem is not None:
            raise Rejected("invalid_review_id", problem)
        problem = self.created_at.problem(record.get("created_at"), record.get("created_at_text"))
        if problem is not None:
            raise Rejected("invalid_created_at", problem)
        verdict = self.duplicates.check_review_id(id_key(review_id), raw_content_hash(record))
        if verdict is not None:
            raise Rejected(*verdict)
        product_id = record.get("product_id")
        product_id = "" if product_id is None else normalize_id(product_id)
        if not product_id:
            raise Rejected("missing_product_id", "product_id is null or blank")
        problem = id_problem("product_id", product_id, ingestion.max_product_id_chars)
        if problem is not None:
            raise Rejected("invalid_product_id", problem)
        star_rating = parse_star_rating(record.get("star_rating"))
        if star_rating is None:
            raise Rejected("invalid_star_rating", f"star_rating {record.get('star_rating')!r} is not 1..5")
        raw = record.get("review_text")
        text_type = record.get("text_type")
        if text_type != "str":
            raise Rejected("invalid_text_type", f"the source value was of type {text_type}")
        if not raw or raw.isspace():
            raise Rejected("empty_text", "the text is empty or whitespace only")
        if len(raw) > ingestion.max_raw_chars:
            raise Rejected("text_too_long", f"raw text of {len(raw)} characters > {ingestion.max_raw_chars}")

        text = clean_text(raw)
        progress.text = text
        if not text:
            raise Rejected("empty_after_cleaning", "nothing readable is left after cleaning")
        if len(text) > ingestion.max_clean_chars:
            raise Rejected(
                "text_too_long", f"cleaned text of {len(text)} characters > {ingestion.max_clean_chars}"
            )
        # The screen runs before the checks that read the text's content: a disguised attack (hex, dotted
        # letters, look-alike letters) also reads as garbled or foreign, and its reason must name the attack.
        # Markup is stripped before the screen, so tags such as `</review>` are looked for in the raw text.
        # The finding also names the normalisation that revealed it ("... (after leetspeak folding)").
        finding = self.injection.find(text)
        if finding is None and looks_like_markup(raw):
            finding = self.injection.find(raw)
        if finding is not None:
            raise Rejected("prompt_injection", f"matches injection pattern {finding}")
        garbled = garbled_detail(text, ingestion.min_letter_share)
        if garbled is not None:
            raise Rejected("garbled_text", garbled)
        no_words = no_words_detail(text)
        if no_words is not None:
            raise Rejected("no_words", no_words)
        # Japanese, Chinese, Thai ... have no spaces for the word count to see: the script decides first.
        script = self.language.foreign_script(text)
        if script is not None:
            raise Rejected("unsupported_language", script)

        words = count_words(text)
        if words < ingestion.min_words:
            raise Rejected("too_short", f"{words} words < {ingestion.min_words}")
        spam = self.spam.match(text)
        if spam is not None:
            raise Rejected("spam", f"matches spam pattern {spam}")
        verdict = self.duplicates.check_text(review_id, text)
        if verdict is not None:
            raise Rejected(*verdict)

        detection = self.language.detect_with_confidence(text)
        progress.language = detection.language
        if detection.language == UNKNOWN:
            if detection.candidate is None:
                raise Rejected("unknown_language", "too little text to identify a language")
            raise Rejected(
                "unknown_language",
                f"best guess {detection.candidate} at {detection.probability:.2f}"
                f" < {ingestion.language.min_confidence:.2f}",
            )
        if not self.language.is_supported(detection.language):
            raise Rejected(
                "unsupported_language", f"detected {detection.language} ({detection.probability:.2f})"
            )

        redacted, entities = self.pii.redact(text, detection.language)
        return redacted, detection.language, star_rating, entities

    def _screen_batch(self, records: list[RawRecord]) -> _Screened:
        screened = _Screened()
        for position, record in enumerate(records):
            progress = _Progress()
            try:
                text, language, star_rating, entities = self._screen(record, progress)
            except Rejected as rejected:
                preview = self.quarantine.describe(
                    record.get("review_text"), cleaned=progress.text, language=progress.language
                )
                screened.quarantined.append(
                    (position, quarantine_row(record, rejected.reason, rejected.detail, preview))
                )
                continue
            screened.survivors.append(_Survivor(position, record, text, language, star_rating, entities))
        self.duplicates.commit()
        return screened

    # --- step 7 and the rows -----------------------------------------------------------------------

    def _score(self, screened: _Screened) -> list[float]:
        if not screened.survivors:
            return []
        return self.toxicity.score(
            [s.text for s in screened.survivors], [s.language for s in screened.survivors]
        )

    def _finish(
        self, screened: _Screened, scores: list[float]
    ) -> tuple[list[CleanReview], list[QuarantineRecord]]:
        if len(scores) != len(screened.survivors):
            raise RuntimeError(f"{len(scores)} toxicity scores for {len(screened.survivors)} reviews")
        clean: list[CleanReview] = []
        quarantined = list(screened.quarantined)
        for survivor, score in zip(screened.survivors, scores, strict=True):
            record = survivor.record
            if score >= self.toxicity_threshold:
                detail = f"toxicity score {score:.3f} >= {self.toxicity_threshold:.2f}"
                preview = self.quarantine.describe(
                    record.get("review_text"),
                    language=survivor.language,
                    redacted=(survivor.text, survivor.pii_entities),
                )
                quarantined.append((survivor.position, quarantine_row(record, "toxic", detail, preview)))
                continue
            clean.append(
                {
                    "review_id": normalize_id(record["review_id"]),  # as checked in `_screen`
                    "product_id": normalize_id(record["product_id"]),
                    "star_rating": survivor.star_rating,
                    "cleaned_text": survivor.text,
                    "language": survivor.language,
                    "toxicity_score": float(score),
                    "created_at": cast(datetime, record.get("created_at")),  # not null: `_screen` checked
                    "helpful_votes": record.get("helpful_votes"),
                    "verified_purchase": record.get("verified_purchase"),
                    "content_hash": content_hash(survivor.text),
                    "pii_entities": survivor.pii_entities,
                }
            )
        quarantined.sort(key=lambda item: item[0])
        return clean, [row for _, row in quarantined]

    # --- public API --------------------------------------------------------------------------------

    def run(
        self, batches: Iterable[list[RawRecord]]
    ) -> Iterator[tuple[list[CleanReview], list[QuarantineRecord]]]:
        """(clean rows, quarantine rows) per input batch, in input order.

        Steps 1-6 of batch n+1 run in this thread while a worker thread scores batch n.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity") as pool:
            pending: tuple[_Screened, Future[list[float]]] | None = None
            for batch in batches:
                screened = self._screen_batch(batch)
                scoring = pool.submit(self._score, screened)
                if pending is not None:
                    yield self._finish(pending[0], pending[1].result())
                pending = (screened, scoring)
            if pending is not None:
                yield self._finish(pending[0], pending[1].result())

    def process(self, records: list[RawRecord]) -> tuple[list[CleanReview], list[QuarantineRecord]]:
        """All records at once, in processing batches of `ingestion.batch_size`."""
        size = self.ingestion.batch_size
        clean: list[CleanReview] = []
        quarantined: list[QuarantineRecord] = []
        for batch_clean, batch_quarantined in self.run(
            records[start : start + size] for start in range(0, len(records), size)
        ):
            clean.extend(batch_clean)
            quarantined.extend(batch_quarantined)
        return clean, quarantined

    def close(self) -> None:
        self.duplicates.close()

    def __enter__(self) -> ReviewChain:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
