"""Record validity that comes before any text processing: encoding, identifiers and the creation time.

Each rule here judges one record on its own, so a bad value costs that record a quarantine row with a
reason, never the window: a row of undecodable bytes, a hostile id or a timestamp in year 1 used to
crash the step, break validation or land in a partition that no window owns.

- Encoding: Arrow and Parquet strings are UTF-8 only. Extract keeps a source value that is not valid
  Unicode as its exact bytes (`utf8_bytes`), transform reads such values with the bad bytes escaped
  (`decode_utf8`) and marks the record (`ENCODING_ERRORS`), and the chain quarantines it as
  `invalid_encoding`. The raw bytes reach the quarantine row as `\\xNN` escapes, so it can still be
  stored and read.
- Identifiers: NFC, trimmed; no control, format, unassigned or separator characters inside (ids are
  keys, not prose: `R1 23` and `R1\\u00a023` would otherwise be different reviews that look the same);
  at most `ingestion.max_review_id_chars` / `max_product_id_chars`. Two ids that differ only in case,
  compatibility form or surrounding whitespace are the same review (`id_key`), and the published id is
  the normalised one.
- Creation time: a review has to have one (it picks the daily partition), not before
  `ingestion.earliest_created_at`, not later than the processing time plus
  `ingestion.future_tolerance_hours`, and inside the extracted window when the raw file names one.

Only the standard library: extract imports this on the Airflow worker.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

# Key a reader sets on a record whose string fields were not valid UTF-8: {field: what was wrong}.
ENCODING_ERRORS: Final = "encoding_errors"
# The raw record's string fields (common.schemas.RAW_REVIEW).
STRING_FIELDS = ("review_id", "product_id", "star_rating", "review_text", "text_type", "created_at_text")


# --- encoding ----------------------------------------------------------------------------------------


def utf8_bytes(value: str) -> tuple[bytes, bool]:
    """The bytes to store for a source string, and whether it was valid Unicode.

    A string with unpaired surrogates (how Python hands over undecodable source bytes with
    `surrogateescape`, or what a buggy client sent) cannot be UTF-8. Instead of failing, its bytes are
    kept exactly (surrogateescape gives back the original bytes), or as the surrogates' own code units
    (surrogatepass) when they did not come from undecodable bytes: either way invalid UTF-8, which the
    transform reads as such and quarantines.
    """
    try:
        return value.encode("utf-8"), True
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape"), False
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass"), False


def decode_utf8(data: bytes) -> tuple[str, str | None]:
    """The text of stored bytes, and what is wrong with them when they are not UTF-8 (the text then holds
    every undecodable byte as a `\\xNN` escape, which any writer can store)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        bad = data[error.start : error.end].hex(" ")
        problem = f"invalid UTF-8 (bytes {bad} at offset {error.start})"
        return data.decode("utf-8", "backslashreplace"), problem


def encoding_problem(record: Mapping[str, Any]) -> str | None:
    """Why the record's strings are not valid Unicode: what a reader marked, or an unpaired surrogate in
    a string handed over directly; None when they are fine."""
    marked = record.get(ENCODING_ERRORS)
    if marked:
        return "; ".join(f"{field}: {problem}" for field, problem in sorted(marked.items()))
    for field in STRING_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                return f"{field}: unpaired surrogate U+{ord(value[error.start]):04X} at index {error.start}"
    return None


# --- identifiers ---------------------------------------------------------------------------------------


def normalize_id(value: Any) -> str:
    """The published form of an id: NFC, surrounding whitespace removed."""
    return unicodedata.normalize("NFC", str(value)).strip()


def id_key(normalized: str) -> str:
    """What two ids must share to be the same: case- and compatibility-folded (`R1` = `r1` = `Ｒ１`)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", normalized).casefold())


def id_problem(field: str, normalized: str, max_chars: int) -> str | None:
    """Why a normalised, non-empty id cannot be used as a key; None when it can."""
    if len(normalized) > max_chars:
        return f"{field} of {len(normalized)} characters > {max_chars}"
    # isprintable() is False exactly for the categories C* (control, format, surrogate, private use,
    # unassigned) and Z* (separators) except the ASCII space, which is tested for on its own.
    if normalized.isprintable() and " " not in normalized:
        return None
    for index, char in enumerate(normalized):
        if not char.isprintable() or char == " ":
            kind = "whitespace" if char.isspace() else unicodedata.category(char)
            return f"{field} holds U+{ord(char):04X} ({kind}) at index {index}"
    return None  # pragma: no cover - one of the characters above is not printable


# --- creation time --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedAtRule:
    """The creation times a run accepts: [earliest, latest], and inside the window when one is known."""

    earliest: datetime
    latest: datetime  # processing time + tolerance
    window: tuple[datetime, datetime] | None = None  # [start, end) of the extract

    @classmethod
    def build(
        cls,
        earliest: date,
        future_tolerance_hours: float,
        now: datetime,
        window: tuple[datetime, datetime] | None = None,
    ) -> CreatedAtRule:
        return cls(
            earliest=datetime.combine(earliest, time.min, tzinfo=UTC),
            latest=as_utc(now) + timedelta(hours=future_tolerance_hours),
            window=window,
        )

    def accepts(self, created_at: datetime) -> bool:
        return self.problem(created_at) is None

    def problem(self, created_at: Any, source_text: str | None = None) -> str | None:
        """Why a record's creation time is unusable, or None. `source_text` is the source value when the
        extract could not read it as a time."""
        if created_at is None:
            if source_text is not None:
                return f"created_at {source_text[:64]!r} is not a readable date and time"
            return "created_at is null"
        if not isinstance(created_at, datetime):
            return f"created_at {str(created_at)[:64]!r} is not a timestamp"
        try:
            stamp = as_utc(created_at)
        except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
            return f"created_at {created_at.isoformat()} is out of range"
        if stamp < self.earliest:
            return f"created_at {stamp.isoformat()} is before the earliest accepted {self.earliest.date()}"
        if stamp > self.latest:
            return (
                f"created_at {stamp.isoformat()} is in the future: later than processing time + tolerance"
                f" ({self.latest.isoformat()})"
            )
        if self.window is not None and not self.window[0] <= stamp < self.window[1]:
            return (
                f"created_at {stamp.isoformat()} is outside the extracted window"
                f" [{self.window[0].isoformat()}, {self.window[1].isoformat()})"
            )
        return None


def as_utc(stamp: datetime) -> datetime:
    """A time in UTC; a naive one is taken to be UTC already."""
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
