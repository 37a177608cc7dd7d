"""The record layouts that cross pipelines: raw extracts, clean reviews and quarantine records.

Raw fields are kept as the source gave them (the rating as text, the text's original type), so that a
client bug shows up as a quarantine reason instead of disappearing in a cast.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

RAW_REVIEW = pa.schema(
    [
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("star_rating", pa.string()),  # raw, as text: "5", "five", "7", null
        ("review_text", pa.string()),  # null when the source value was not a string
        ("text_type", pa.string()),  # Python type name of the source value: str, int, bytes, NoneType
        ("created_at", TIMESTAMP),
        ("helpful_votes", pa.int64()),
        ("verified_purchase", pa.bool_()),
        # The source's creation time as text when it could not be read as a time (created_at is then
        # null): kept so that the quarantine record can say what it was. Older raw files lack it.
        ("created_at_text", pa.string()),
    ]
)

CLEAN_REVIEW = pa.schema(
    [
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("star_rating", pa.int8()),
        ("cleaned_text", pa.string()),
        ("language", pa.string()),
        ("toxicity_score", pa.float32()),
        ("created_at", TIMESTAMP),
        ("helpful_votes", pa.int64()),
        ("verified_purchase", pa.bool_()),
        ("content_hash", pa.string()),
        ("pii_entities", pa.list_(pa.string())),  # entity types redacted from this review
    ]
)

QUARANTINE_REVIEW = pa.schema(
    [
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("reason", pa.string()),  # one code from QUARANTINE_REASONS
        ("detail", pa.string()),  # human-readable specifics (matched pattern, score, ...)
        ("star_rating", pa.string()),
        # Never the raw text: the text cleaned and PII-redacted (at most `ingestion.max_clean_chars`), null
        # when it could not be cleaned into readable text (not a string, invalid encoding, garbled, empty).
        ("redacted_text", pa.string()),
        # HMAC-SHA256 (hex) of the raw text's UTF-8 under the quarantine key (`ingestion.quarantine`): it
        # matches a source row's text without revealing it. Null when the source value was not a string.
        ("raw_text_hmac", pa.string()),
        ("raw_text_chars", pa.int64()),  # length of the raw text: a longer one is previewed in part
        ("text_type", pa.string()),
        ("language", pa.string()),  # detected language, when the chain got that far
        ("pii_entities", pa.list_(pa.string())),  # entity types redacted from redacted_text
        ("created_at", TIMESTAMP),
        ("helpful_votes", pa.int64()),
        ("verified_purchase", pa.bool_()),
    ]
)

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
