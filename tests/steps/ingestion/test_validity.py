"""Per-record validity rules: encoding, identifiers and creation times, as hostile sources send them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from pipelines.ingestion.validity import (
    ENCODING_ERRORS,
    CreatedAtRule,
    decode_utf8,
    encoding_problem,
    id_key,
    id_problem,
    normalize_id,
    utf8_bytes,
)

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
WINDOW = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))


# --- encoding -----------------------------------------------------------------------------------------


def test_undecodable_source_bytes_are_stored_exactly_and_read_back_escaped():
    source = b"Gut \xff\xfe Produkt"
    as_python = source.decode("utf-8", "surrogateescape")  # how a lenient reader hands them over
    stored, valid = utf8_bytes(as_python)
    assert stored == source and not valid
    text, problem = decode_utf8(stored)
    assert text == "Gut \\xff\\xfe Produkt"
    assert problem == "invalid UTF-8 (bytes ff at offset 4)"


def test_a_lone_surrogate_is_stored_as_invalid_utf8_instead_of_failing():
    stored, valid = utf8_bytes("abc\ud800def")
    assert not valid and stored == b"abc\xed\xa0\x80def"
    text, problem = decode_utf8(stored)
    assert problem is not None and "\\xed" in text
    assert utf8_bytes("Größe 😀") == ("Größe 😀".encode(), True)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"review_text": "Schöner Kessel"}, None),
        ({"review_id": "R1\udcff"}, "review_id: unpaired surrogate U+DCFF at index 2"),
        ({"product_id": "ok", "star_rating": "\ud83d"}, "star_rating: unpaired surrogate U+D83D at index 0"),
        (
            {ENCODING_ERRORS: {"review_text": "invalid UTF-8 (bytes c3 at offset 3)"}},
            "review_text: invalid UTF-8 (bytes c3 at offset 3)",
        ),
    ],
)
def test_encoding_problems_name_the_field(record, expected):
    assert encoding_problem(record) == expected


# --- identifiers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["R1ABC", "  R1ABC ", "R1ABC\t", "\u00a0R1ABC\u3000", "R1ABC\n"],
)
def test_ids_are_trimmed_and_pass(raw):
    assert normalize_id(raw) == "R1ABC"
    assert id_problem("review_id", normalize_id(raw), 128) is None


def test_ids_are_nfc_and_their_key_ignores_case_and_width():
    decomposed = "Cafe\u0301-42"
    assert normalize_id(decomposed) == "Café-42"
    keys = {id_key(normalize_id(v)) for v in ("R1abc", "r1ABC ", "R1ABC", "Ｒ１ＡＢＣ", " r1abc\n")}
    assert keys == {"r1abc"}
    assert id_key("STRASSE") == id_key("straße")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("R1\x00ABC", "review_id holds U+0000 (Cc) at index 2"),
        ("R1\nABC", "review_id holds U+000A (whitespace) at index 2"),
        ("R1 ABC", "review_id holds U+0020 (whitespace) at index 2"),
        ("R1\u00a0ABC", "review_id holds U+00A0 (whitespace) at index 2"),
        ("R1\u200bABC", "review_id holds U+200B (Cf) at index 2"),
        ("R1\u202eCBA", "review_id holds U+202E (Cf) at index 2"),  # right-to-left override
        ("\ufeffR1ABC", "review_id holds U+FEFF (Cf) at index 0"),
        ("R1\ue000", "review_id holds U+E000 (Co) at index 2"),
        ("R" * 5000, "review_id of 5000 characters > 128"),
    ],
)
def test_hostile_ids_are_refused_with_the_reason(raw, expected):
    assert id_problem("review_id", normalize_id(raw), 128) == expected


def test_ids_in_every_script_are_fine():
    for value in ("Ü-Bewertung-7", "avis_n°12", "レビュー123", "отзыв-5", "R1:abc/2"):
        assert id_problem("review_id", value, 128) is None, value


# --- creation time ----------------------------------------------------------------------------------------


@pytest.fixture
def rule() -> CreatedAtRule:
    return CreatedAtRule.build(date(1995, 1, 1), 24, NOW)


@pytest.mark.parametrize(
    ("value", "source_text", "expected"),
    [
        (None, None, "created_at is null"),
        (None, "yesterday", "created_at 'yesterday' is not a readable date and time"),
        ("2026-11-18", None, "created_at '2026-11-18' is not a timestamp"),
        (datetime(1, 1, 1, tzinfo=UTC), None, "before the earliest accepted 1995-01-01"),
        (datetime(1900, 1, 1, tzinfo=UTC), None, "before the earliest accepted 1995-01-01"),
        (datetime(1994, 12, 31, 23, 59, tzinfo=UTC), None, "before the earliest accepted"),
        (datetime(9999, 12, 31, tzinfo=UTC), None, "is in the future"),
        (NOW + timedelta(hours=25), None, "is in the future"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), None, "is out of range"),
    ],
)
def test_unusable_creation_times_say_why(rule, value, source_text, expected):
    problem = rule.problem(value, source_text)
    assert problem is not None and expected in problem


@pytest.mark.parametrize(
    "value",
    [
        datetime(1995, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 18, 12, tzinfo=UTC),
        datetime(2026, 11, 18, 12),  # naive: UTC
        NOW + timedelta(hours=23),  # clock skew within the tolerance
    ],
)
def test_usable_creation_times_pass(rule, value):
    assert rule.problem(value) is None and rule.accepts(value)


def test_with_a_window_only_its_times_pass():
    rule = CreatedAtRule.build(date(1995, 1, 1), 24, NOW, WINDOW)
    assert rule.accepts(WINDOW[0]) and rule.accepts(WINDOW[1] - timedelta(microseconds=1))
    for outside in (WINDOW[0] - timedelta(microseconds=1), WINDOW[1]):
        assert "outside the extracted window [2026-11-18T00:00:00+00:00" in rule.problem(outside)
    # A local time with an offset is judged in UTC: 01:00+05:00 on the 18th is the 17th in UTC.
    assert rule.problem(datetime(2026, 11, 18, 1, tzinfo=timezone(timedelta(hours=5)))) is not None
