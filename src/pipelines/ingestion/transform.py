"""The `transform` heavy step: raw review Parquet in, clean and quarantine partitions out.

    python -m pipelines.ingestion.transform --raw-uri URI --output-uri URI --result-uri URI

Input is every Parquet file under `--raw-uri` (schema `common.schemas.RAW_REVIEW`, ordered by
`created_at, review_id`). It is streamed in record batches of `ingestion.batch_size` through the
cleaning chain and written, batch by batch, to

    <output-uri>/clean/dt=YYYY-MM-DD/part-00000.parquet        (CLEAN_REVIEW)
    <output-uri>/quarantine/dt=YYYY-MM-DD/part-00000.parquet   (QUARANTINE_REVIEW)

where `dt` is the UTC date of `created_at`. Nothing holds the whole input: memory is a few batches, the
open partition writers and the chain's bounded duplicate-state cache, whether the window has a thousand
reviews or a million. The output is the run's staging area; `publish` commits it to the lake.

No single record can fail the window:

- A value that is not valid UTF-8 makes pyarrow refuse the whole batch; such a batch is read again
  column by column, the bad values decoded one by one with their bytes escaped, and the records marked
  for the chain, which quarantines them as `invalid_encoding` (`validity.decode_utf8`). A timestamp out
  of Python's range is read the same way, as a null with its raw value in `created_at_text`.
- Every row gets a day of the window. The raw file's schema metadata names the window
  (`extract.raw_schema`); the chain quarantines creation times outside it, too early or in the future
  (`invalid_created_at`), and such rows, like rows without a time, are filed under the window's first
  day. A raw file without that metadata (written by hand or by an older extract) falls back to the
  earliest valid day of its rows, found in a first pass over the `created_at` column alone; if it has
  no valid day at all, there is no partition such rows could go to, and the step fails its data gate
  (exit 3) before writing anything.
- Copies of reviews published earlier are caught: before the chain starts, its duplicate index is
  filled with the clean reviews the lake holds for the `dedup.window_days` days before the window's
  first day (`seed_published_reviews`), read one column batch at a time. The window's own days are
  never read, so re-running a window gives the same output as its first run.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import sys
import tempfile
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import storage
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW, RAW_REVIEW, CleanReview, QuarantineRecord
from common.settings import get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from pipelines.ingestion.extract import WINDOW_END_KEY, WINDOW_START_KEY
from pipelines.ingestion.publish import lake_partition_uri
from pipelines.ingestion.validity import (
    ENCODING_ERRORS,
    CreatedAtRule,
    as_utc,
    decode_utf8,
    id_key,
    normalize_id,
)

if TYPE_CHECKING:
    from common.text_dedup import DuplicateIndex
    from pipelines.ingestion.chain import RawRecord

log = logging.getLogger(__name__)

PART_FILE = "part-{:05d}.parquet"
# Raw columns a file may lack (written before they existed): read as nulls.
OPTIONAL_RAW_COLUMNS: tuple[Literal["created_at_text"], ...] = ("created_at_text",)
REQUIRED_RAW_COLUMNS = tuple(name for name in RAW_REVIEW.names if name not in OPTIONAL_RAW_COLUMNS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
# Input is ordered by time, so a partition stops receiving rows once a later one starts; writers of the
# least recently used partitions are closed beyond this many, which bounds open files and buffers.
MAX_OPEN_PARTITIONS = 4
_READ_BUFFER_BYTES = 1 << 20
# glibc's mallopt parameters and the values the step runs with (see `bound_native_heap`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 256 * 1024
_TRIM_THRESHOLD_BYTES = 1024 * 1024
# A row of either output: the writers file both by their creation day.
OutputRow = CleanReview | QuarantineRecord


def bound_native_heap() -> None:
    """Keep the process's native heap from growing with the number of reviews scored.

    The toxicity model allocates activation tensors whose size follows each batch's text lengths.
    glibc raises its mmap threshold every time such a block is freed, so later blocks come from the
    heap instead, where blocks of ever-changing sizes fragment it: peak RSS climbed by about 30 MiB per
    thousand reviews, without end. Fixing the threshold (and trimming freed memory back to the OS) keeps
    it flat. A no-op where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


def partition_of(created_at: datetime | None) -> str:
    """The daily partition of a creation time (a naive one is UTC); there is none for a missing time."""
    if created_at is None:
        raise ValueError("a row without a creation time has no partition")
    return as_utc(created_at).date().isoformat()


def _partition_of_row(row: OutputRow) -> str:
    return partition_of(row.get("created_at"))


class _PartitionFile:
    """One Parquet file of one partition, written through fsspec row group by row group."""

    def __init__(self, uri: str, schema: pa.Schema) -> None:
        self.schema = schema
        self._stack = ExitStack()
        handle = self._stack.enter_context(storage.open_uri(uri, "wb"))
        self._writer = self._stack.enter_context(pq.ParquetWriter(handle, schema))
        self._buffer: list[OutputRow] = []

    def add(self, rows: Sequence[OutputRow], flush_rows: int) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= flush_rows:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
            self._buffer = []

    def close(self) -> None:
        self.flush()
        self._stack.close()


class PartitionedWriter:
    """Rows to `<root>/dt=<date>/part-NNNNN.parquet`, each partition's writer opened on its first row.

    Rows are buffered per partition and written as row groups of at least `flush_rows` rows (the last
    one smaller), so a partition that gets a few quarantined rows per batch does not become a file of
    tiny row groups. A partition whose writer was closed and that receives rows again (input out of
    time order) continues in its next part file; nothing is overwritten.
    """

    def __init__(
        self,
        root_uri: str,
        schema: pa.Schema,
        flush_rows: int,
        day_of: Callable[[OutputRow], str] = _partition_of_row,
    ) -> None:
        self.root_uri = root_uri
        self.schema = schema
        self.flush_rows = flush_rows
        self.day_of = day_of  # a row's partition value (YYYY-MM-DD)
        self.counts: Counter[str] = Counter()
        self._open: OrderedDict[str, _PartitionFile] = OrderedDict()
        self._parts: Counter[str] = Counter()

    def write(self, rows: Sequence[OutputRow]) -> None:
        by_partition: dict[str, list[OutputRow]] = {}
        for row in rows:
            by_partition.setdefault(self.day_of(row), []).append(row)
        for dt, partition_rows in by_partition.items():
            self._file(dt).add(partition_rows, self.flush_rows)
            self.counts[dt] += len(partition_rows)

    def _file(self, dt: str) -> _PartitionFile:
        if dt in self._open:
            self._open.move_to_end(dt)
            return self._open[dt]
        while len(self._open) >= MAX_OPEN_PARTITIONS:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        uri = storage.join(self.root_uri, f"dt={dt}", PART_FILE.format(self._parts[dt]))
        self._parts[dt] += 1
        self._open[dt] = _PartitionFile(uri, self.schema)
        return self._open[dt]

    def close(self) -> None:
        while self._open:
            _, partition = self._open.popitem(last=False)
            partition.close()


# --- reading the raw files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawFile:
    uri: str
    rows: int
    columns: tuple[str, ...]  # the raw columns it has
    window: tuple[datetime, datetime] | None  # from its schema metadata


def _window_of(uri: str, metadata: dict[bytes, bytes] | None) -> tuple[datetime, datetime] | None:
    if not metadata or WINDOW_START_KEY not in metadata or WINDOW_END_KEY not in metadata:
        return None
    try:
        start = as_utc(datetime.fromisoformat(metadata[WINDOW_START_KEY].decode()))
        end = as_utc(datetime.fromisoformat(metadata[WINDOW_END_KEY].decode()))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{uri} names an unreadable window in its metadata: {error}") from error
    if end <= start:
        raise ValueError(f"{uri} names an empty or inverted window {start.isoformat()} .. {end.isoformat()}")
    return start, end


def raw_files(raw_uri: str) -> list[RawFile]:
    """Every Parquet file under `raw_uri` with its row count, raw columns and window, from the footers."""
    uris = [uri for uri in storage.list_files(raw_uri) if uri.endswith(".parquet")]
    if not uris:
        raise FileNotFoundError(f"no Parquet files under {raw_uri}")
    files = []
    for uri in uris:
        with storage.open_uri(uri, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            names = set(parquet.schema_arrow.names)
            missing = sorted(set(REQUIRED_RAW_COLUMNS) - names)
            if missing:
                raise ValueError(f"{uri} lacks the raw review columns {missing}")
            columns = tuple(name for name in RAW_REVIEW.names if name in names)
            window = _window_of(uri, parquet.schema_arrow.metadata)
            files.append(RawFile(uri, parquet.metadata.num_rows, columns, window))
    return files


def raw_window(files: Sequence[RawFile]) -> tuple[datetime, datetime] | None:
    """The window the raw files hold: the one their metadata names (all of them together), or None when
    none names one."""
    windows = [f.window for f in files if f.window is not None]
    if not windows:
        return None
    if len(windows) < len(files) or len(set(windows)) > 1:
        log.warning("the raw files name different windows (or some none): %s", sorted(set(windows)))
    return min(w[0] for w in windows), max(w[1] for w in windows)


def earliest_valid_day(files: Sequence[RawFile], rule: CreatedAtRule) -> date | None:
    """The earliest UTC day of a creation time the rule accepts, read from the `created_at` column alone
    as integers (for raw files that name no window; any stored value compares, none is converted)."""
    lowest: datetime | None = None
    for raw in files:
        with storage.open_uri(raw.uri, "rb") as handle:
            parquet = pq.ParquetFile(handle, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
            for batch in parquet.iter_batches(batch_size=65_536, columns=["created_at"]):
                ticks, per_second = _ticks(batch.column(0))
                low, high = _to_ticks(rule.earliest, per_second), _to_ticks(rule.latest, per_second)
                valid = pc.filter(ticks, pc.and_(pc.greater_equal(ticks, low), pc.less_equal(ticks, high)))
                if len(valid):
                    found = _from_ticks(pc.min(valid).as_py(), per_second)
                    lowest = found if lowest is None else min(lowest, found)
    return None if lowest is None else lowest.date()


def _ticks(column: pa.Array) -> tuple[pa.Array, int]:
    """A timestamp column as its stored int64 values, and how many of them make a second."""
    if not pa.types.is_timestamp(column.type):
        raise ValueError(f"created_at is of type {column.type}, not a timestamp")
    return column.view(pa.int64()), _TICKS_PER_SECOND[column.type.unit]


def _to_ticks(moment: datetime, per_second: int) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * per_second // 1_000_000


def _from_ticks(ticks: int, per_second: int) -> datetime:
    """The UTC time of a stored timestamp value; OverflowError beyond Python's years 1-9999."""
    seconds, rest = divmod(ticks, per_second)
    return _EPOCH + timedelta(seconds=seconds, microseconds=rest * 1_000_000 // per_second)


def _string_values(name: str, column: pa.Array, problems: list[dict[str, str]]) -> list[Any]:
    """A string column's values one by one: an undecodable one escaped, and its problem noted."""
    binary = pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()
    values: list[Any] = []
    for row, data in enumerate(column.view(binary).to_pylist()):
        if data is None:
            values.append(None)
            continue
        text, problem = decode_utf8(data)
        if problem is not None:
            problems[row][name] = problem
        values.append(text)
    return values


def _timestamp_values(column: pa.Array, out_of_range: dict[int, str]) -> list[datetime | None]:
    """A timestamp column's values one by one: one beyond Python's years 1-9999 becomes a null, its raw
    value noted."""
    values: list[datetime | None] = []
    ticks, per_second = _ticks(column)
    for row, tick in enumerate(ticks.to_pylist()):
        if tick is None:
            values.append(None)
            continue
        try:
            values.append(_from_ticks(tick, per_second))
        except OverflowError:
            values.append(None)
            out_of_range[row] = f"{tick} {column.type.unit} after 1970-01-01 (out of range)"
    return values


def batch_records(batch: pa.RecordBatch) -> list[RawRecord]:
    """A raw batch as records. pyarrow refuses a whole batch for one value it cannot convert (bytes that
    are not UTF-8, a year beyond 9999): such a batch is read column by column and value by value, so the
    bad value costs its own record a quarantine row (`ENCODING_ERRORS`, `created_at_text`), not the run."""
    try:
        return batch.to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):  # UnicodeDecodeError is a ValueError
        pass
    problems: list[dict[str, str]] = [{} for _ in range(batch.num_rows)]
    out_of_range: dict[int, str] = {}
    columns: dict[str, list[Any]] = {}
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        try:
            columns[name] = column.to_pylist()
            continue
        except (ValueError, OverflowError, pa.ArrowException):
            pass
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            columns[name] = _string_values(name, column, problems)
        elif pa.types.is_timestamp(column.type):
            columns[name] = _timestamp_values(column, out_of_range)
        else:
            raise ValueError(f"raw column {name} ({column.type}) cannot be read")
    names = list(columns)
    records = cast(
        "list[RawRecord]",
        [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)],
    )
    for row, record in enumerate(records):
        if problems[row]:
            record[ENCODING_ERRORS] = problems[row]
        if row in out_of_range and not record.get("created_at_text"):
            record["created_at_text"] = out_of_range[row]
    bad = sum(1 for p in problems if p) + len(out_of_range)
    log.warning("%d of %d records in a batch hold values pyarrow cannot convert", bad, batch.num_rows)
    return records


def iter_raw_batches(raw: str | Sequence[RawFile], batch_size: int) -> Iterator[list[RawRecord]]:
    """Records of every Parquet file under a URI (or of these files), `batch_size` at a time, never more
    in memory. A column a file lacks (`OPTIONAL_RAW_COLUMNS`) reads as nulls."""
    for raw_file in raw_files(raw) if isinstance(raw, str) else raw:
        absent = [name for name in OPTIONAL_RAW_COLUMNS if name not in raw_file.columns]
        with storage.open_uri(raw_file.uri, "rb") as handle:
            parquet = pq.ParquetFile(handle, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
            for batch in parquet.iter_batches(batch_size=batch_size, columns=list(raw_file.columns)):
                records = batch_records(batch)
                for record in records:
                    for name in absent:
                        record[name] = None
                yield records


# --- the reviews published before the window -----------------------------------------------------------


def seed_published_reviews(
    index: DuplicateIndex, lake_uri: str, first_day: date, window_days: int, batch_rows: int
) -> dict[str, Any]:
    """Add the clean reviews published for the `window_days` days before `first_day` to `index`, oldest
    day first (a copy is reported against the earliest review it copies); return what was read.

    Only committed partitions (with a manifest) count. Ids and cleaned texts are read one column batch
    at a time, and the index is on disk, so memory does not grow with the days. The texts are the
    published ones, PII-redacted: a copy of a review that had PII redacted matches it exactly only after
    the same redaction, so it is usually caught as a near duplicate instead.
    """
    started = time.perf_counter()
    days: list[str] = []
    reviews = 0
    for offset in range(window_days, 0, -1):
        dt = (first_day - timedelta(days=offset)).isoformat()
        partition = lake_partition_uri(lake_uri, "clean", dt)
        if not storage.is_committed(partition):
            continue
        for uri in storage.partition_files(partition):
            if not uri.endswith(".parquet"):
                continue
            with storage.open_uri(uri, "rb") as handle:
                parquet = pq.ParquetFile(handle, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
                for batch in parquet.iter_batches(
                    batch_size=batch_rows, columns=["review_id", "cleaned_text"]
                ):
                    ids, texts = batch.column(0).to_pylist(), batch.column(1).to_pylist()
                    for review_id, text in zip(ids, texts, strict=True):
                        if review_id is None or not text:
                            continue
                        normalized = normalize_id(review_id)
                        index.add_published(id_key(normalized), normalized, text, dt)
                        reviews += 1
                    index.commit()
        days.append(dt)
    seconds = time.perf_counter() - started
    log.info(
        "duplicate index seeded with %d reviews published for %d of the %d days before %s (%.1f s)",
        reviews,
        len(days),
        window_days,
        first_day,
        seconds,
    )
    return {"days": days, "reviews": reviews, "seconds": round(seconds, 1)}


def transform(raw_uri: str, output_uri: str, lake_uri: str | None = None) -> dict[str, Any]:
    """Run the chain over the raw reviews under `raw_uri`; return the step's result. `lake_uri` (default:
    the settings') is where the clean reviews of earlier days are read for the duplicate checks."""
    # Imported here, not at the top: torch, transformers and presidio take seconds to import, and a
    # call with wrong arguments should fail at once.
    from pipelines.ingestion.chain import ReviewChain

    bound_native_heap()
    settings = get_settings()
    ingestion = settings.ingestion
    batch_size = ingestion.batch_size
    lake_uri = lake_uri or settings.lake_uri
    files = raw_files(raw_uri)
    now = datetime.now(UTC)
    window = raw_window(files)
    rule = CreatedAtRule.build(ingestion.earliest_created_at, ingestion.future_tolerance_hours, now, window)
    first_day = window[0].date() if window is not None else earliest_valid_day(files, rule)
    if first_day is None and any(f.rows for f in files):
        raise QualityGateFailed(
            f"the raw files under {raw_uri} name no window (no schema metadata) and none of their rows has"
            " a valid created_at: there is no day to file them under; extract the window again",
            {"input_count": sum(f.rows for f in files)},
        )
    undated_day = first_day.isoformat() if first_day is not None else None

    def day_of(row: OutputRow) -> str:
        """A row's day: its creation day when the run accepts it, else the window's first day."""
        created = row.get("created_at")
        if isinstance(created, datetime) and rule.accepts(created):
            return partition_of(created)
        if undated_day is None:  # pragma: no cover - refused above
            raise ValueError("a row without a usable creation time and no window to file it under")
        return undated_day

    clean_uri = storage.join(output_uri, "clean")
    quarantine_uri = storage.join(output_uri, "quarantine")
    # A retried attempt starts from nothing rather than mixing its files with a failed attempt's.
    storage.remove(clean_uri)
    storage.remove(quarantine_uri)

    input_count = 0
    reasons: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    languages: Counter[str] = Counter()

    def counted(batches: Iterator[list[RawRecord]]) -> Iterator[list[RawRecord]]:
        nonlocal input_count
        for batch in batches:
            input_count += len(batch)
            yield batch

    started = time.perf_counter()
    clean_out = PartitionedWriter(clean_uri, CLEAN_REVIEW, batch_size, day_of)
    quarantine_out = PartitionedWriter(quarantine_uri, QUARANTINE_REVIEW, batch_size, day_of)
    seeded: dict[str, Any] = {"days": [], "reviews": 0, "seconds": 0.0}
    with tempfile.TemporaryDirectory(prefix="transform-") as work_dir, ExitStack() as stack:
        stack.callback(quarantine_out.close)
        stack.callback(clean_out.close)
        chain = stack.enter_context(ReviewChain(settings, work_dir, window=window, now=now))
        if chain.created_at != rule:
            raise RuntimeError(
                f"the chain checks creation times by {chain.created_at}, the writers by {rule}"
            )
        if first_day is not None and ingestion.dedup.window_days > 0:
            seeded = seed_published_reviews(
                chain.duplicates, lake_uri, first_day, ingestion.dedup.window_days, batch_size
            )
        for batches, (clean, quarantined) in enumerate(
            chain.run(counted(iter_raw_batches(files, batch_size))), start=1
        ):
            clean_out.write(clean)
            quarantine_out.write(quarantined)
            reasons.update(row["reason"] for row in quarantined)
            languages.update(row["language"] for row in clean)
            for row in clean:
                pii.update(row["pii_entities"])
            if batches % 20 == 0:
                elapsed = time.perf_counter() - started
                log.info("%d reviews in %.0f s (%.1f/s)", input_count, elapsed, input_count / elapsed)

    clean_count = sum(clean_out.counts.values())
    quarantine_count = sum(quarantine_out.counts.values())
    if input_count != clean_count + quarantine_count:
        raise RuntimeError(
            f"records lost in transform: {input_count} in,"
            f" {clean_count} clean + {quarantine_count} quarantined"
        )
    partitions = {
        dt: {"clean": clean_out.counts[dt], "quarantine": quarantine_out.counts[dt]}
        for dt in sorted(set(clean_out.counts) | set(quarantine_out.counts))
    }
    elapsed = time.perf_counter() - started
    log.info(
        "transformed %d reviews in %.0f s: %d clean, %d quarantined %s",
        input_count,
        elapsed,
        clean_count,
        quarantine_count,
        dict(reasons.most_common()),
    )
    return {
        "input_count": input_count,
        "clean_count": clean_count,
        "quarantine_count": quarantine_count,
        "quarantine_by_reason": dict(sorted(reasons.items())),
        "pii_redactions_by_entity": dict(sorted(pii.items())),
        "languages": dict(sorted(languages.items())),
        "partitions": partitions,
        "window": {
            "start": window[0].isoformat() if window else None,
            "end": window[1].isoformat() if window else None,
            "named_by": "raw file metadata" if window else "earliest valid created_at",
            "undated_rows_day": undated_day,  # where rows without a usable creation time went
        },
        "published_reviews_checked": seeded,
        "clean_uri": clean_uri,
        "quarantine_uri": quarantine_uri,
        "seconds": round(elapsed, 1),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = step_parser("Clean, screen and split raw reviews into clean and quarantine partitions.")
    parser.add_argument("--raw-uri", required=True, help="folder of raw review Parquet files")
    parser.add_argument("--output-uri", required=True, help="where the clean/ and quarantine/ partitions go")
    parser.add_argument(
        "--lake-uri",
        default=None,
        help="the lake whose published clean reviews of earlier days are checked for copies (default:"
        " the settings' lake_uri)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(
        lambda args: transform(args.raw_uri, args.output_uri, args.lake_uri), build_parser(), argv
    )


if __name__ == "__main__":
    sys.exit(main())
