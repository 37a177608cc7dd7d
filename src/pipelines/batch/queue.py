"""Which products the hourly batch owes a summary, and the watermark that says what it has already seen.

The reference design selected reviews by `now() - 1 hour`: a late, failed or skipped run lost its
products for good. Here the lake decides, not the wall clock, and nothing selected is forgotten:

- **Watermark**: for every committed clean partition (`<lake>/clean/reviews/dt=...`), the `published_at`
  of its manifest when the batch last read it. A partition that is new, or was published again (a
  backfill, a re-run of ingestion), is read once more; every (product, language) in it is owed a summary.
- **Queue**: every owed (product, language), with its attempts, its next try and why the last one failed.
  A product enters the queue in the same state write that moves the watermark past its partition, and
  leaves it only summarized or failed for the last time (`batch.max_attempts`, then alerted). So the
  watermark moves past work only once that work is durably owed, and a run that dies anywhere loses nothing:
  the next run finds the same queue.
- Requests from outside the lake (a product list from the trigger form, summaries that forgetting a review
  invalidated) join the queue the same way, with their source recorded.

A run takes the due entries (oldest first, at most `batch.max_products_per_run`); the rest wait. The state
is one JSON document (`<lake>/batch/state/queue.json`), replaced whole and atomically by the run's
`select` and `settle` tasks; the DAG allows one active run, so there is one writer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from common import storage

log = logging.getLogger(__name__)

STATE_VERSION = 1
Source = Literal["new_reviews", "manual", "invalidated"]
Settled = Literal["summarized", "failed", "pending"]


def key_of(product_id: str, language: str) -> str:
    return f"{product_id}|{language}"


@dataclass(frozen=True)
class QueueEntry:
    """A (product, language) owed a summary."""

    product_id: str
    language: str
    source: Source
    enqueued_at: str  # ISO UTC: when it was first owed (oldest first)
    attempts: int = 0  # tries that ended in a failure
    next_try_at: str | None = None  # ISO UTC; None: due now
    last_reason: str | None = None

    @property
    def key(self) -> str:
        return key_of(self.product_id, self.language)

    def due(self, now: datetime) -> bool:
        return self.next_try_at is None or datetime.fromisoformat(self.next_try_at) <= now


@dataclass
class BatchState:
    """The watermark (partition -> manifest `published_at` last read) and the queue."""

    partitions: dict[str, str] = field(default_factory=dict)
    queue: dict[str, QueueEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, uri: str) -> BatchState:
        if not storage.exists(uri):
            return cls()
        data = storage.read_json(uri)
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"{uri} is batch state version {data.get('version')!r}, not {STATE_VERSION}")
        return cls(
            partitions=dict(data["partitions"]),
            queue={key: QueueEntry(**entry) for key, entry in data["queue"].items()},
        )

    def save(self, uri: str) -> None:
        storage.replace_json(
            uri,
            {
                "version": STATE_VERSION,
                "partitions": dict(sorted(self.partitions.items())),
                "queue": {key: asdict(self.queue[key]) for key in sorted(self.queue)},
            },
        )

    def enqueue(self, keys: Iterable[tuple[str, str]], source: Source, now: datetime) -> int:
        """Owe a summary to each (product, language); one already queued keeps its place and attempts,
        but is due now (new reviews are a reason to try again). Returns how many were new."""
        added = 0
        for product_id, language in keys:
            key = key_of(product_id, language)
            current = self.queue.get(key)
            if current is None:
                self.queue[key] = QueueEntry(product_id, language, source, now.isoformat())
                added += 1
            elif source != "invalidated":
                self.queue[key] = replace(current, next_try_at=None)
        return added

    def due(self, now: datetime, limit: int, first: Iterable[str] = ()) -> list[QueueEntry]:
        """The entries due at `now`, those keyed in `first` (a product list asked for by hand) before
        the rest, then oldest first; at most `limit`."""
        wanted = set(first)
        ready = [entry for entry in self.queue.values() if entry.due(now)]
        return sorted(ready, key=lambda e: (e.key not in wanted, e.enqueued_at, e.product_id, e.language))[
            :limit
        ]


@dataclass(frozen=True)
class Outcome:
    """What became of one selected entry in a run (`pipelines.batch.summarize` writes these)."""

    product_id: str
    language: str
    status: Settled  # pending: not tried (the endpoint never came up), keeps its attempts
    reason: str | None = None


@dataclass(frozen=True)
class Settlement:
    summarized: int
    retrying: list[QueueEntry]
    terminal: list[QueueEntry]  # failed for the last time: out of the queue, to be alerted
    pending: int


def backoff(attempts: int, initial_s: float, max_s: float) -> timedelta:
    """The wait before try `attempts + 1`: `initial_s`, doubling per failed try, capped at `max_s`."""
    return timedelta(seconds=min(max_s, initial_s * 2 ** max(0, attempts - 1)))


def settle(
    state: BatchState,
    outcomes: Sequence[Outcome],
    now: datetime,
    *,
    max_attempts: int,
    backoff_initial_s: float,
    backoff_max_s: float,
) -> Settlement:
    """Apply a run's outcomes to the queue: summarized entries leave it, failed ones wait their backoff
    or, at `max_attempts`, leave it as terminal failures; pending ones stay as they were."""
    summarized = pending = 0
    retrying: list[QueueEntry] = []
    terminal: list[QueueEntry] = []
    for outcome in outcomes:
        key = key_of(outcome.product_id, outcome.language)
        entry = state.queue.get(key)
        if entry is None:
            raise ValueError(f"outcome for {key}, which the queue does not hold: was the state replaced?")
        if outcome.status == "summarized":
            del state.queue[key]
            summarized += 1
        elif outcome.status == "pending":
            pending += 1
        else:
            failed = replace(entry, attempts=entry.attempts + 1, last_reason=outcome.reason or "unknown")
            if failed.attempts >= max_attempts:
                del state.queue[key]
                terminal.append(failed)
            else:
                wait = backoff(failed.attempts, backoff_initial_s, backoff_max_s)
                failed = replace(failed, next_try_at=(now + wait).isoformat())
                state.queue[key] = failed
                retrying.append(failed)
    return Settlement(summarized, retrying, terminal, pending)


# ---- the lake ----------------------------------------------------------------------------------------


def clean_root(lake_uri: str) -> str:
    return storage.join(lake_uri, "clean", "reviews")


def changed_partitions(lake_uri: str, seen: Mapping[str, str]) -> dict[str, str]:
    """Committed clean partitions whose manifest's `published_at` differs from the one last read:
    partition name (`dt=...`) -> its `published_at` now."""
    changed = {}
    for uri in storage.committed_partitions(clean_root(lake_uri)):
        manifest = storage.read_json(storage.join(uri, storage.MANIFEST))
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        published = str(manifest.get("published_at") or manifest.get("run_id") or "")
        if seen.get(name) != published:
            changed[name] = published
    return changed


def products_in(
    lake_uri: str, partitions: Iterable[str], product_ids: Iterable[str] | None = None
) -> set[tuple[str, str]]:
    """The (product, language) pairs with reviews in `partitions`, reading only those two columns;
    limited to `product_ids` when given."""
    import pyarrow.parquet as pq

    wanted = None if product_ids is None else set(product_ids)
    found: set[tuple[str, str]] = set()
    for name in partitions:
        for file_uri in storage.partition_files(storage.join(clean_root(lake_uri), name)):
            with storage.open_uri(file_uri) as handle:
                table = pq.read_table(handle, columns=["product_id", "language"])
            for product_id, language in zip(
                table.column("product_id").to_pylist(), table.column("language").to_pylist(), strict=True
            ):
                if wanted is None or product_id in wanted:
                    found.add((product_id, language))
    return found


def all_partitions(lake_uri: str) -> list[str]:
    return [uri.rstrip("/").rsplit("/", 1)[-1] for uri in storage.committed_partitions(clean_root(lake_uri))]


@dataclass(frozen=True)
class Selection:
    """What one run takes: the entries, and how the queue came to hold them (for the run's log)."""

    entries: list[QueueEntry]
    new_partitions: list[str]
    enqueued: dict[str, int]
    queued: int  # entries in the queue after selection, due or not

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": [asdict(e) for e in self.entries],
            "new_partitions": self.new_partitions,
            "enqueued": self.enqueued,
            "queued": self.queued,
        }


def select(
    state: BatchState,
    lake_uri: str,
    now: datetime,
    limit: int,
    *,
    product_ids: Sequence[str] = (),
    invalidated: Iterable[tuple[str, str]] = (),
) -> Selection:
    """Move the watermark over changed partitions, owing their products a summary; add a manual product
    list (every language the lake has reviews of it in) and invalidated summaries; take what is due."""
    changed = changed_partitions(lake_uri, state.partitions)
    enqueued = {
        "new_reviews": state.enqueue(sorted(products_in(lake_uri, changed)), "new_reviews", now),
        "invalidated": state.enqueue(sorted(invalidated), "invalidated", now),
    }
    pairs: set[tuple[str, str]] = set()
    if product_ids:
        pairs = products_in(lake_uri, all_partitions(lake_uri), product_ids)
        unknown = sorted(set(product_ids) - {p for p, _ in pairs})
        if unknown:
            raise ValueError(
                f"no clean reviews of {len(unknown)} requested products: {', '.join(unknown[:10])}"
            )
        enqueued["manual"] = state.enqueue(sorted(pairs), "manual", now)
    state.partitions.update(changed)
    entries = state.due(now, limit, first=[key_of(*pair) for pair in pairs])
    log.info(
        "batch selection: %d partitions changed, enqueued %s, %d due of %d queued, %d taken",
        len(changed),
        enqueued,
        sum(e.due(now) for e in state.queue.values()),
        len(state.queue),
        len(entries),
    )
    return Selection(entries, sorted(changed), enqueued, len(state.queue))
