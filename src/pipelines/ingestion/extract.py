"""Extract: the reviews created in a time window, from the source database to raw Parquet.

Runs on the Airflow worker (SQLAlchemy and pyarrow only). The query is parameterised SQLAlchemy Core,
never a formatted string, and rows stream from a server-side cursor in bounded batches into one Parquet
file, so memory does not depend on how many reviews the window holds. Source values are kept as they
came (see `common.schemas.RAW_REVIEW`): deciding what is valid is the cleaning chain's job, where a bad
value becomes a quarantine record with a reason rather than a crash or a silent cast.
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

log = logging.getLogger(__name__)

RAW_FILE = "part-00000.parquet"


def source_engine(settings: Settings) -> sa.Engine:
    """The source database: the seeded SQLite file locally, PostgreSQL through an Airflow connection."""
    source = settings.source
    if source.kind == "sqlite":
        if not source.sqlite_path:
            raise ValueError("source.sqlite_path is not set")
        return sa.create_engine(f"sqlite:///{source.sqlite_path}")
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


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


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


def to_raw_batch(rows: Sequence[Any]) -> pa.RecordBatch:
    """Source rows to the raw schema, recording the text's original type instead of coercing it."""
    texts = [r.review_text for r in rows]
    columns = {
        "review_id": [_as_text(r.review_id) for r in rows],
        "product_id": [_as_text(r.product_id) for r in rows],
        "star_rating": [_as_text(r.star_rating) for r in rows],
        "review_text": [t if isinstance(t, str) else None for t in texts],
        "text_type": [type(t).__name__ for t in texts],
        "created_at": [_as_utc(r.created_at) for r in rows],
        "helpful_votes": [_as_int(r.helpful_votes) for r in rows],
        "verified_purchase": [_as_bool(r.verified_purchase) for r in rows],
    }
    return pa.RecordBatch.from_pydict(columns, schema=RAW_REVIEW)


def iter_source_batches(
    engine: sa.Engine, table: str, start: datetime, end: datetime, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    query = window_query(table, start, end, engine.dialect.name)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
        for rows in result.partitions(batch_rows):
            yield to_raw_batch(rows)


def extract_window(settings: Settings, start: datetime, end: datetime, raw_uri: str) -> dict[str, Any]:
    """Write the window's reviews to `<raw_uri>/part-00000.parquet`; return the count and URI.

    The file is written even when the window is empty, so every run leaves the same shape behind.
    """
    if end <= start:
        raise ValueError(f"empty or inverted window: {start.isoformat()} .. {end.isoformat()}")
    engine = source_engine(settings)
    target = storage.join(raw_uri, RAW_FILE)
    count = 0
    try:
        with storage.open_uri(target, "wb") as handle, pq.ParquetWriter(handle, RAW_REVIEW) as writer:
            for batch in iter_source_batches(
                engine, settings.source.table, start, end, settings.ingestion.extract_batch_rows
            ):
                writer.write_batch(batch)
                count += batch.num_rows
    finally:
        engine.dispose()
    log.info("extracted %d reviews created in [%s, %s) to %s", count, start, end, target)
    return {"raw_uri": raw_uri, "extracted_count": count}
