"""Extract: the reviews created in a time window, from the source database to raw Parquet.

Runs on the Airflow worker (SQLAlchemy and pyarrow only). The query is parameterised SQLAlchemy Core,
never a formatted string, and rows stream from a server-side cursor in bounded batches into one Parquet
file, so memory does not depend on how many reviews the window holds. Source values are kept as they
came (see `common.schemas.RAW_REVIEW`): deciding what is valid is the cleaning chain's job, where a bad
value becomes a quarantine record with a reason rather than a crash or a silent cast. So no single value
can stop the extract:

- a string that is not valid Unicode (undecodable bytes in a SQLite TEXT value, a lone surrogate) is
  written as its exact bytes (`validity.utf8_bytes`): invalid UTF-8, which the transform reads per value
  and quarantines as `invalid_encoding`; the result counts them (`invalid_encoding_values`);
- a creation time that is not a readable time, or out of range, leaves `created_at` null and keeps the
  source value in `created_at_text`, for the `invalid_created_at` quarantine record.

The file's schema metadata names the window (`window_start`, `window_end`, ISO-8601): the transform
checks every creation time against it and files records without a usable one under the window's first
day, so no row ever lands in a partition that the window does not own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from common import storage
from common.schemas import RAW_REVIEW
from common.settings import Settings
from pipelines.ingestion.validity import utf8_bytes

log = logging.getLogger(__name__)

RAW_FILE = "part-00000.parquet"
# Schema metadata keys of the raw file: the window it holds, [start, end), ISO-8601 UTC.
WINDOW_START_KEY, WINDOW_END_KEY = b"window_start", b"window_end"
_STRING_COLUMNS = ("review_id", "product_id", "star_rating", "review_text")


def _lenient_sqlite_text(data: bytes) -> str:
    """SQLite TEXT may hold any bytes; sqlite3 fails the whole fetch on one undecodable value. Decoded
    with surrogateescape, the bytes survive to `utf8_bytes`, which writes them back unchanged."""
    return data.decode("utf-8", "surrogateescape")


def source_engine(settings: Settings) -> sa.Engine:
    """The source database: the seeded SQLite file locally, PostgreSQL through an Airflow connection."""
    source = settings.source
    if source.kind == "sqlite":
        if not source.sqlite_path:
            raise ValueError("source.sqlite_path is not set")
        engine = sa.create_engine(f"sqlite:///{source.sqlite_path}")

        @sa.event.listens_for(engine, "connect")
        def _text_as_bytes_allowed(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.text_factory = _lenient_sqlite_text

        return engine
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=source.conn_id).get_sqlalchemy_engine()


def reviews_table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("review_id"),
        sa.column("product_id"),
        sa.column("star_rating"),
        sa.column("review_text"),
        sa.column("created_at"),
        sa.column("helpful_votes"),
        sa.column("verified_purchase"),
    )


def window_query(table: str, start: datetime, end: datetime, dialect: str) -> sa.Select:
    """Reviews with start <= created_at < end, in a stable order (downstream dedup keeps the first)."""
    reviews = reviews_table(table)
    # SQLite stores ISO-8601 text, which compares correctly as text in one fixed format.
    lo, hi = (start.isoformat(), end.isoformat()) if dialect == "sqlite" else (start, end)
    return (
        sa.select(reviews)
        .where(reviews.c.created_at >= sa.bindparam("lo", lo), reviews.c.created_at < sa.bindparam("hi", hi))
        .order_by(reviews.c.created_at, reviews.c.review_id)
    )


def _as_utc(value: Any) -> tuple[datetime | None, str | None]:
    """(the time in UTC, None), or (None, the source value as text) when it is not a readable time."""
    if value is None:
        return None, None
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError:
            return None, _as_text(value)
    try:
        return (stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)), None
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None, str(value)


def _as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes", "y")
    return bool(value)


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _string_array(values: list[str | None]) -> tuple[pa.Array, int]:
    """A string column, and how many of its values were not valid Unicode (kept as their bytes)."""
    try:
        return pa.array(values, pa.string()), 0
    except UnicodeEncodeError:
        pass
    encoded: list[bytes | None] = []
    invalid = 0
    for value in values:
        if value is None:
            encoded.append(None)
            continue
        data, valid = utf8_bytes(value)
        encoded.append(data)
        invalid += not valid
    # A view, not a cast: a cast would validate the UTF-8 and fail on exactly these values.
    return pa.array(encoded, pa.binary()).view(pa.string()), invalid


def to_raw_batch(rows: Sequence[Any]) -> pa.RecordBatch:
    """Source rows to the raw schema, recording the text's original type instead of coercing it."""
    return counted_raw_batch(rows)[0]


def counted_raw_batch(rows: Sequence[Any]) -> tuple[pa.RecordBatch, int]:
    """`to_raw_batch`, and how many of the batch's string values were not valid Unicode."""
    texts = [r.review_text for r in rows]
    strings = {
        "review_id": [_as_text(r.review_id) for r in rows],
        "product_id": [_as_text(r.product_id) for r in rows],
        "star_rating": [_as_text(r.star_rating) for r in rows],
        "review_text": [t if isinstance(t, str) else None for t in texts],
    }
    times = [_as_utc(r.created_at) for r in rows]
    arrays: dict[str, pa.Array] = {}
    invalid = 0
    for name in _STRING_COLUMNS:
        arrays[name], bad = _string_array(strings[name])
        invalid += bad
    arrays["text_type"] = pa.array([type(t).__name__ for t in texts], pa.string())
    arrays["created_at"] = pa.array([stamp for stamp, _ in times], RAW_REVIEW.field("created_at").type)
    arrays["helpful_votes"] = pa.array([_as_int(r.helpful_votes) for r in rows], pa.int64())
    arrays["verified_purchase"] = pa.array([_as_bool(r.verified_purchase) for r in rows], pa.bool_())
    arrays["created_at_text"], bad = _string_array([text for _, text in times])
    invalid += bad
    batch = pa.RecordBatch.from_arrays([arrays[name] for name in RAW_REVIEW.names], schema=RAW_REVIEW)
    return batch, invalid


def raw_schema(start: datetime, end: datetime) -> pa.Schema:
    """The raw schema with the window it holds in its metadata."""
    return RAW_REVIEW.with_metadata(
        {WINDOW_START_KEY: start.astimezone(UTC).isoformat(), WINDOW_END_KEY: end.astimezone(UTC).isoformat()}
    )


def iter_source_batches(
    engine: sa.Engine, table: str, start: datetime, end: datetime, batch_rows: int
) -> Iterator[tuple[pa.RecordBatch, int]]:
    query = window_query(table, start, end, engine.dialect.name)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
        for rows in result.partitions(batch_rows):
            yield counted_raw_batch(rows)


def extract_window(settings: Settings, start: datetime, end: datetime, raw_uri: str) -> dict[str, Any]:
    """Write the window's reviews to `<raw_uri>/part-00000.parquet`; return the count and URI.

    The file is written even when the window is empty, so every run leaves the same shape behind.
    """
    if end <= start:
        raise ValueError(f"empty or inverted window: {start.isoformat()} .. {end.isoformat()}")
    engine = source_engine(settings)
    target = storage.join(raw_uri, RAW_FILE)
    schema = raw_schema(start, end)
    count = invalid = 0
    try:
        with storage.open_uri(target, "wb") as handle, pq.ParquetWriter(handle, schema) as writer:
            for batch, bad in iter_source_batches(
                engine, settings.source.table, start, end, settings.ingestion.extract_batch_rows
            ):
                writer.write_batch(batch)
                count += batch.num_rows
                invalid += bad
    finally:
        engine.dispose()
    log.info("extracted %d reviews created in [%s, %s) to %s", count, start, end, target)
    if invalid:
        log.warning(
            "%d source values are not valid Unicode: kept as their bytes, the transform quarantines them",
            invalid,
        )
    return {"raw_uri": raw_uri, "extracted_count": count, "invalid_encoding_values": invalid}
