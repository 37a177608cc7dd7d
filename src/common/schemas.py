"""The record layouts that cross pipelines: raw extracts, clean reviews and quarantine records.

Each layout is declared once, as a `TypedDict` whose fields carry both their Python type and their Arrow
type (`Annotated[int | None, pa.int8()]`): the code that builds or reads rows as dicts is type-checked
against the record, and the Arrow schema the files are written in is derived from it (`arrow_schema`),
so the two cannot drift apart. At run time a row is still a plain dict: typing it costs nothing.

Raw fields are kept as the source gave them (the rating as text, the text's original type), so that a
client bug shows up as a quarantine reason instead of disappearing in a cast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypedDict, get_origin, get_type_hints

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


def arrow_schema(record: type) -> pa.Schema:
    """The Arrow schema of a `TypedDict` record: its fields in declaration order, each of the one Arrow
    type in its `Annotated[...]` annotation.

    Every field is nullable, whatever its Python type: that is what `pa.schema` makes of a field and what
    the files written so far declare, and the lake's schema checks (`validate`) and fingerprints
    (`publish.schema_version`) compare schemas exactly.
    """
    fields = []
    for name, hint in get_type_hints(record, include_extras=True).items():
        arrow_types = (
            [extra for extra in hint.__metadata__ if isinstance(extra, pa.DataType)]
            if get_origin(hint) is Annotated
            else []
        )
        if len(arrow_types) != 1:
            found = "no Arrow type" if not arrow_types else f"{len(arrow_types)} Arrow types"
            raise TypeError(
                f"{record.__name__}.{name} has {found}: annotate it as Annotated[<Python type>, <one"
                f" pyarrow DataType>], for example Annotated[int | None, pa.int64()] (got {hint!r})"
            )
        fields.append(pa.field(name, arrow_types[0]))
    return pa.schema(fields)


class RawReview(TypedDict):
    """A review as extracted from the source (`RAW_REVIEW`)."""

    review_id: Annotated[str | None, pa.string()]
    product_id: Annotated[str | None, pa.string()]
    star_rating: Annotated[str | None, pa.string()]  # raw, as text: "5", "five", "7", null
    review_text: Annotated[str | None, pa.string()]  # null when the source value was not a string
    # Python type name of the source value: str, int, bytes, NoneType
    text_type: Annotated[str | None, pa.string()]
    created_at: Annotated[datetime | None, TIMESTAMP]
    helpful_votes: Annotated[int | None, pa.int64()]
    verified_purchase: Annotated[bool | None, pa.bool_()]
    # The source's creation time as text when it could not be read as a time (created_at is then
    # null): kept so that the quarantine record can say what it was. Older raw files lack it.
    created_at_text: Annotated[str | None, pa.string()]


class CleanReview(TypedDict):
    """A review that passed the cleaning chain (`CLEAN_REVIEW`): what the lake publishes and the
    embedding and training steps read."""

    review_id: Annotated[str, pa.string()]
    product_id: Annotated[str, pa.string()]
    star_rating: Annotated[int, pa.int8()]
    cleaned_text: Annotated[str, pa.string()]
    language: Annotated[str, pa.string()]
    toxicity_score: Annotated[float, pa.float32()]
    created_at: Annotated[datetime, TIMESTAMP]
    helpful_votes: Annotated[int | None, pa.int64()]
    verified_purchase: Annotated[bool | None, pa.bool_()]
    content_hash: Annotated[str, pa.string()]
    pii_entities: Annotated[list[str], pa.list_(pa.string())]  # entity types redacted from this review


class QuarantineRecord(TypedDict):
    """A review the chain did not publish, with the one reason why (`QUARANTINE_REVIEW`)."""

    review_id: Annotated[str | None, pa.string()]
    product_id: Annotated[str | None, pa.string()]
    reason: Annotated[str, pa.string()]  # one code from QUARANTINE_REASONS
    detail: Annotated[str, pa.string()]  # human-readable specifics (matched pattern, score, ...)
    star_rating: Annotated[str | None, pa.string()]
    # Never the raw text: the text cleaned and PII-redacted (at most `ingestion.max_clean_chars`), null
    # when it could not be cleaned into readable text (not a string, invalid encoding, garbled, empty).
    redacted_text: Annotated[str | None, pa.string()]
    # HMAC-SHA256 (hex) of the raw text's UTF-8 under the quarantine key (`ingestion.quarantine`): it
    # matches a source row's text without revealing it. Null when the source value was not a string.
    raw_text_hmac: Annotated[str | None, pa.string()]
    # length of the raw text: a longer one is previewed in part
    raw_text_chars: Annotated[int | None, pa.int64()]
    text_type: Annotated[str | None, pa.string()]
    language: Annotated[str | None, pa.string()]  # detected language, when the chain got that far
    pii_entities: Annotated[list[str], pa.list_(pa.string())]  # entity types redacted from redacted_text
    created_at: Annotated[datetime | None, TIMESTAMP]
    helpful_votes: Annotated[int | None, pa.int64()]
    verified_purchase: Annotated[bool | None, pa.bool_()]


RAW_REVIEW = arrow_schema(RawReview)
CLEAN_REVIEW = arrow_schema(CleanReview)
QUARANTINE_REVIEW = arrow_schema(QuarantineRecord)

# Every quarantine reason code, in the order the chain checks them. One record gets exactly one.
QUARANTINE_REASONS: dict[str, str] = {
    "invalid_encoding": "a string field is not valid UTF-8 (undecodable bytes or unpaired surrogates)",
    "missing_review_id": "review_id is null or empty",
    "invalid_review_id": "review_id holds control, format or whitespace characters, or is too long",
    "invalid_created_at": "created_at is null, unreadable, too early, in the future or outside the window",
    "duplicate_review_id": "review_id seen earlier in the window with the same content, or already"
    " published for an earlier day",
    "conflicting_review_id": "review_id seen earlier in the window with different content",
    "missing_product_id": "product_id is null or empty",
    "invalid_product_id": "product_id holds control, format or whitespace characters, or is too long",
    "invalid_star_rating": "star_rating is null, non-numeric or outside 1..5",
    "invalid_text_type": "the review text was not a string in the source",
    "empty_text": "the text is empty or whitespace only",
    "text_too_long": "the raw or cleaned text is over the configured length bound",
    "empty_after_cleaning": "nothing readable is left after removing markup and control characters",
    "prompt_injection": "text that tries to instruct the summarization model",
    "garbled_text": "encoding damage that could not be repaired (replacement characters, mojibake, symbols)",
    "no_words": "no letters: only emoji, digits or symbols",
    "too_short": "fewer words than the configured minimum",
    "spam": "matches a configured spam pattern",
    "duplicate_text": "the same cleaned text as an earlier review in the window or a published one of the"
    " days before it (`ingestion.dedup.window_days`)",
    "near_duplicate": "nearly the same text (MinHash) as an earlier review in the window or a published"
    " one of the days before it",
    "unknown_language": "the language could not be detected with enough confidence",
    "unsupported_language": "a language outside the configured set (text mostly in a script none of them is"
    " written in is found right after cleaning, before word counts)",
    "toxic": "toxicity score at or above the configured threshold",
}
