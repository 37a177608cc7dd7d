"""The Arrow schemas derived from the record types are exactly the ones the lake's files were written in."""

from __future__ import annotations

from typing import Annotated, TypedDict

import pyarrow as pa
import pytest

from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW, RAW_REVIEW, arrow_schema

TIMESTAMP = pa.timestamp("us", tz="UTC")

# The schemas as they were declared by hand before the record types existed: every published file has
# these, so a derived schema must not differ in a name, a type, the order or the nullability.
EXPECTED_RAW_REVIEW = pa.schema(
    [
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("star_rating", pa.string()),
        ("review_text", pa.string()),
        ("text_type", pa.string()),
        ("created_at", TIMESTAMP),
        ("helpful_votes", pa.int64()),
        ("verified_purchase", pa.bool_()),
        ("created_at_text", pa.string()),
    ]
)
EXPECTED_CLEAN_REVIEW = pa.schema(
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
        ("pii_entities", pa.list_(pa.string())),
    ]
)
EXPECTED_QUARANTINE_REVIEW = pa.schema(
    [
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("star_rating", pa.string()),
        ("redacted_text", pa.string()),
        ("raw_text_hmac", pa.string()),
        ("raw_text_chars", pa.int64()),
        ("text_type", pa.string()),
        ("language", pa.string()),
        ("pii_entities", pa.list_(pa.string())),
        ("created_at", TIMESTAMP),
        ("helpful_votes", pa.int64()),
        ("verified_purchase", pa.bool_()),
    ]
)


@pytest.mark.parametrize(
    ("derived", "expected"),
    [
        (RAW_REVIEW, EXPECTED_RAW_REVIEW),
        (CLEAN_REVIEW, EXPECTED_CLEAN_REVIEW),
        (QUARANTINE_REVIEW, EXPECTED_QUARANTINE_REVIEW),
    ],
    ids=["raw", "clean", "quarantine"],
)
def test_derived_schemas_are_the_published_ones(derived: pa.Schema, expected: pa.Schema) -> None:
    assert derived.names == expected.names
    assert derived.equals(expected, check_metadata=True)
    assert all(field.nullable for field in derived)
    # What `publish.schema_version` fingerprints.
    assert derived.to_string(show_field_metadata=False, show_schema_metadata=False) == expected.to_string(
        show_field_metadata=False, show_schema_metadata=False
    )


class Typed(TypedDict):
    review_id: Annotated[str, pa.string()]
    score: Annotated[float | None, pa.float32()]


class Untyped(TypedDict):
    review_id: Annotated[str, pa.string()]
    score: float | None


class Documented(TypedDict):
    review_id: Annotated[str, pa.string()]
    score: Annotated[float, "a score, but no Arrow type"]


class Ambiguous(TypedDict):
    score: Annotated[float, pa.float32(), pa.float64()]


def test_a_field_takes_its_arrow_type_from_its_annotation() -> None:
    assert arrow_schema(Typed) == pa.schema([("review_id", pa.string()), ("score", pa.float32())])


@pytest.mark.parametrize(
    ("record", "found"),
    [(Untyped, "no Arrow type"), (Documented, "no Arrow type"), (Ambiguous, "2 Arrow types")],
)
def test_a_field_without_exactly_one_arrow_type_is_refused(record: type, found: str) -> None:
    with pytest.raises(TypeError, match=rf"{record.__name__}\.score has {found}: annotate it as Annotated"):
        arrow_schema(record)
