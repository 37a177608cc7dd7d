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
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import sys
import tempfile
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common import storage
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW, RAW_REVIEW
from common.settings import get_settings
from common.step_entrypoint import run_step, step_parser

log = logging.getLogger(__name__)

PART_FILE = "part-{:05d}.parquet"
# Hive's name for the partition of rows whose key is null (a review without a creation time).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Input is ordered by time, so a partition stops receiving rows once a later one starts; writers of the
# least recently used partitions are closed beyond this many, which bounds open files and buffers.
MAX_OPEN_PARTITIONS = 4
_READ_BUFFER_BYTES = 1 << 20
# glibc's mallopt parameters and the values the step runs with (see `bound_native_heap`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 256 * 1024
_TRIM_THRESHOLD_BYTES = 1024 * 1024


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
    if created_at is None:
        return NULL_PARTITION
    return created_at.astimezone(UTC).date().isoformat()


class _PartitionFile:
    """One Parquet file of one partition, written through fsspec row group by row group."""

    def __init__(self, uri: str, schema: pa.Schema) -> None:
        self.schema = schema
        self._stack = ExitStack()
        handle = self._stack.enter_context(storage.open_uri(uri, "wb"))
        self._writer = self._stack.enter_context(pq.ParquetWriter(handle, schema))
        self._buffer: list[dict[str, Any]] = []

    def add(self, rows: list[dict[str, Any]], flush_rows: int) -> None:
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

    def __init__(self, root_uri: str, schema: pa.Schema, flush_rows: int) -> None:
        self.root_uri = root_uri
        self.schema = schema
        self.flush_rows = flush_rows
        self.counts: Counter[str] = Counter()
        self._open: OrderedDict[str, _PartitionFile] = OrderedDict()
        self._parts: Counter[str] = Counter()

    def write(self, rows: list[dict[str, Any]]) -> None:
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_partition.setdefault(partition_of(row.get("created_at")), []).append(row)
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


def iter_raw_batches(raw_uri: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Records of every Parquet file under `raw_uri`, `batch_size` at a time, never more in memory."""
    files = [uri for uri in storage.list_files(raw_uri) if uri.endswith(".parquet")]
    if not files:
        raise FileNotFoundError(f"no Parquet files under {raw_uri}")
    for uri in files:
        with storage.open_uri(uri, "rb") as handle:
            parquet = pq.ParquetFile(handle, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
            missing = sorted(set(RAW_REVIEW.names) - set(parquet.schema_arrow.names))
            if missing:
                raise ValueError(f"{uri} lacks the raw review columns {missing}")
            for batch in parquet.iter_batches(batch_size=batch_size, columns=RAW_REVIEW.names):
                yield batch.to_pylist()


def transform(raw_uri: str, output_uri: str) -> dict[str, Any]:
    """Run the chain over the raw reviews under `raw_uri`; return the step's result."""
    # Imported here, not at the top: torch, transformers and presidio take seconds to import, and a
    # call with wrong arguments should fail at once.
    from pipelines.ingestion.chain import ReviewChain

    bound_native_heap()
    settings = get_settings()
    batch_size = settings.ingestion.batch_size
    clean_uri = storage.join(output_uri, "clean")
    quarantine_uri = storage.join(output_uri, "quarantine")
    # A retried attempt starts from nothing rather than mixing its files with a failed attempt's.
    storage.remove(clean_uri)
    storage.remove(quarantine_uri)

    input_count = 0
    reasons: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    languages: Counter[str] = Counter()

    def counted(batches: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        nonlocal input_count
        for batch in batches:
            input_count += len(batch)
            yield batch

    started = time.perf_counter()
    clean_out = PartitionedWriter(clean_uri, CLEAN_REVIEW, batch_size)
    quarantine_out = PartitionedWriter(quarantine_uri, QUARANTINE_REVIEW, batch_size)
    with tempfile.TemporaryDirectory(prefix="transform-") as work_dir, ExitStack() as stack:
        stack.callback(quarantine_out.close)
        stack.callback(clean_out.close)
        chain = stack.enter_context(ReviewChain(settings, work_dir))
        for batches, (clean, quarantined) in enumerate(
            chain.run(counted(iter_raw_batches(raw_uri, batch_size))), start=1
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
        "clean_uri": clean_uri,
        "quarantine_uri": quarantine_uri,
        "seconds": round(elapsed, 1),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = step_parser("Clean, screen and split raw reviews into clean and quarantine partitions.")
    parser.add_argument("--raw-uri", required=True, help="folder of raw review Parquet files")
    parser.add_argument("--output-uri", required=True, help="where the clean/ and quarantine/ partitions go")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(lambda args: transform(args.raw_uri, args.output_uri), build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
