"""Where one ingestion run reads and writes: its time window and every URI, decided once, up front.

The window is whole UTC days: the day(s) before the run's data interval ends, or the trigger form's days
for a backfill. All URIs derive from the window and the run id, so a retried task writes to the same
place, and a re-run of the same window publishes over the same partitions (idempotent) while its scratch
files stay apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from common import storage
from common.ids import stable_hash


@dataclass(frozen=True)
class IngestionPlan:
    window_start: str  # ISO-8601, UTC, inclusive
    window_end: str  # ISO-8601, UTC, exclusive
    run_key: str
    raw_uri: str
    staged_uri: str
    transform_result_uri: str
    validation_result_uri: str
    publish_result_uri: str
    data_docs_uri: str
    lake_uri: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _day_start(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)


def _midnight(moment: datetime) -> datetime:
    """The start of the UTC day `moment` falls in."""
    return datetime.combine(moment.astimezone(UTC).date(), time.min, tzinfo=UTC)


def resolve_window(
    interval_start: datetime | None,
    interval_end: datetime | None,
    backfill_start: str | None = None,
    backfill_end: str | None = None,
) -> tuple[datetime, datetime]:
    """The window to extract, always whole UTC days: the trigger form's dates when given, else the days
    the run's data interval ends in front of.

    Partitions are daily and a publish replaces each one whole, so a window must never cover part of a
    day: publishing half a day over a complete partition would drop the other half. A backfill names
    dates (`backfill_end` inclusive). A scheduled run gets the whole UTC days before its interval's end,
    at least the one day before: Airflow 3 runs a cron schedule with a zero-length data interval at the
    trigger time (01:00 UTC), and the hour after midnight leaves late writes time to land.
    """
    if backfill_start or backfill_end:
        if not (backfill_start and backfill_end):
            raise ValueError("a backfill needs both backfill_start and backfill_end (YYYY-MM-DD)")
        start = _day_start(backfill_start)
        end = _day_start(backfill_end) + timedelta(days=1)
        if end <= start:
            raise ValueError(f"backfill_end {backfill_end} is before backfill_start {backfill_start}")
        return start, end
    if interval_start is None or interval_end is None:
        raise ValueError("a manual run without a data interval needs backfill_start and backfill_end")
    if interval_end < interval_start:
        raise ValueError("the data interval ends before it starts; trigger with backfill dates instead")
    end = _midnight(interval_end)
    return min(_midnight(interval_start), end - timedelta(days=1)), end


def plan_run(lake_uri: str, run_id: str, start: datetime, end: datetime) -> IngestionPlan:
    window = f"{start:%Y%m%dT%H%M%S}_{end:%Y%m%dT%H%M%S}"
    run_key = f"{window}-{stable_hash(run_id, length=10)}"
    scratch = storage.join(lake_uri, "staging", "ingestion", run_key)
    return IngestionPlan(
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        run_key=run_key,
        raw_uri=storage.join(lake_uri, "raw", "reviews", f"window={window}", f"run={run_key}"),
        staged_uri=storage.join(scratch, "output"),
        transform_result_uri=storage.join(scratch, "results", "transform.json"),
        validation_result_uri=storage.join(scratch, "results", "validate.json"),
        publish_result_uri=storage.join(scratch, "results", "publish.json"),
        data_docs_uri=storage.join(lake_uri, "reports", "data_docs", "ingestion", run_key),
        lake_uri=lake_uri,
    )
