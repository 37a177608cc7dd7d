"""The summary cache: where the storefront reads the hourly batch's summaries, one per product and
review language.

Two backends keep one contract (tests/steps/common/test_summary_cache.py): SQLite, embedded in a file,
for the local profile, and DynamoDB (terraform/modules/dynamodb) for aws. What they share, and why:

- A write is a conditional upsert ordered by `generated_at`, the batch run's data time, not by the
  clock of the write: runs overlap and are backfilled, and an older run that finishes late must not
  replace what a newer one wrote. The same run written again (a retried task) replaces its own items
  with the same content, so a retry is harmless.
- Readers check expiry themselves. DynamoDB's TTL deletes an expired item some time after its expiry
  (typically within days) and returns it until then; trusting the store would serve stale summaries.
- Every summary lists the reviews its claims cite, so forgetting a review finds and deletes every
  summary built from it, expired ones included: those may still be stored, and stored is what counts.

Times are kept as fixed-width ISO strings in UTC with microseconds, so that comparing the strings (SQL,
DynamoDB condition expressions) orders them as times. boto3 is imported only by the DynamoDB backend,
so the local profile and code that only names these types never load it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from common.settings import Settings

log = logging.getLogger(__name__)

Key = tuple[str, str]
_T = TypeVar("_T")

# The DynamoDB table's key schema; terraform/modules/dynamodb/main.tf declares the same (tested).
HASH_KEY = "product_id"
RANGE_KEY = "language"


@dataclass(frozen=True)
class CachedSummary:
    """One product's summary in one review language, as the storefront shows it.

    Checked when built, so an invalid summary never reaches a backend: both would store it differently
    (or not at all), and the contract is that they behave alike. Aware times are kept in UTC.
    """

    product_id: str
    language: str
    generated_at: datetime  # the batch run's data time: the ordering key of writes
    expires_at: datetime
    review_ids: frozenset[str]  # every review a claim cites: forgetting one of them invalidates this
    lineage_key: str  # the lineage record behind this summary
    body: Mapping[str, Any] = field(hash=False)  # JSON-able: what the storefront shows

    def __post_init__(self) -> None:
        where = f"summary ({self.product_id!r}, {self.language!r})"
        _check_key(self.product_id, self.language)
        object.__setattr__(self, "generated_at", _utc(self.generated_at, f"{where}: generated_at"))
        object.__setattr__(self, "expires_at", _utc(self.expires_at, f"{where}: expires_at"))
        if self.expires_at <= self.generated_at:
            raise ValueError(
                f"{where}: expires_at ({self.expires_at.isoformat()}) must be after generated_at "
                f"({self.generated_at.isoformat()})"
            )
        if isinstance(self.review_ids, str):
            raise ValueError(f"{where}: review_ids must be a set of IDs, not one string")
        review_ids = frozenset(self.review_ids)
        if any(not isinstance(r, str) or not r for r in review_ids):
            raise ValueError(f"{where}: every review ID must be a non-empty string")
        object.__setattr__(self, "review_ids", review_ids)
        if not isinstance(self.lineage_key, str) or not self.lineage_key:
            raise ValueError(f"{where}: lineage_key must be a non-empty string")
        if not isinstance(self.body, Mapping):
            raise ValueError(f"{where}: body must be a mapping, not {type(self.body).__name__}")

    @property
    def key(self) -> Key:
        return (self.product_id, self.language)


@dataclass(frozen=True)
class WriteResult:
    written: list[Key] = field(default_factory=list)  # (product_id, language) stored
    kept_newer: list[Key] = field(default_factory=list)  # not stored: the cache held a newer summary


@runtime_checkable
class SummaryCache(Protocol):
    def put(self, summaries: Sequence[CachedSummary]) -> WriteResult:
        """Store each summary unless the cache holds a newer one for its key; items are independent."""
        ...

    def get(self, product_id: str, language: str, now: datetime | None = None) -> CachedSummary | None:
        """The summary, or None when there is none or it has expired at `now` (default: now)."""
        ...

    def get_product(self, product_id: str, now: datetime | None = None) -> list[CachedSummary]:
        """Every unexpired language of a product, sorted by language."""
        ...

    def invalidate_reviews(self, review_ids: Iterable[str]) -> list[Key]:
        """Delete every summary citing any of the reviews; the keys deleted, sorted."""
        ...

    def close(self) -> None: ...


def open_summary_cache(settings: Settings) -> SummaryCache:
    """The configured backend (`summary_cache.backend`)."""
    config = settings.summary_cache
    if config is None:
        raise ValueError(
            f"summary_cache is not configured for profile {settings.profile!r}: set summary_cache.backend "
            "(config/profiles/<profile>.yaml)"
        )
    if config.backend == "sqlite":
        assert config.sqlite_path  # checked when the settings were loaded
        return SqliteSummaryCache(settings.resolve_path(config.sqlite_path))
    assert config.table_name  # checked when the settings were loaded
    return DynamoSummaryCache(
        config.table_name,
        region=config.region,
        ttl_attribute=config.ttl_attribute,
        write_concurrency=config.write_concurrency,
    )


# --- Shared checks and encodings ---------------------------------------------------------------


def _check_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _check_key(product_id: str, language: str) -> None:
    _check_text("product_id", product_id)
    _check_text("language", language)


def _utc(moment: datetime, what: str) -> datetime:
    """An aware time in UTC. A naive one is refused: guessing its zone could reorder runs by hours."""
    if not isinstance(moment, datetime):
        raise ValueError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime ({moment.isoformat()}): give it a time zone (UTC)")
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """Fixed width (the year padded to 4 digits, microseconds always), so strings sort as times."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else _utc(now, "now")


@dataclass(frozen=True)
class _Row:
    """A summary as both backends store it."""

    summary: CachedSummary
    generated_at: str
    expires_at: str
    body: str


def _rows(summaries: Sequence[CachedSummary]) -> list[_Row]:
    """Every summary encoded, before anything is written: a batch with one bad item writes nothing."""
    if isinstance(summaries, CachedSummary):
        raise ValueError("put takes a sequence of summaries, not one summary")
    rows: list[_Row] = []
    seen: set[Key] = set()
    for summary in summaries:
        if not isinstance(summary, CachedSummary):
            raise ValueError(f"put takes CachedSummary items, got {type(summary).__name__}")
        if summary.key in seen:
            # Which of two items of one batch wins would depend on write order (threads, for DynamoDB).
            raise ValueError(f"summary {summary.key} appears more than once in one put")
        seen.add(summary.key)
        try:
            body = json.dumps(summary.body, ensure_ascii=False, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"summary {summary.key}: body is not JSON-able: {error}") from error
        rows.append(_Row(summary, _iso(summary.generated_at), _iso(summary.expires_at), body))
    return rows


def _review_id_list(review_ids: Iterable[str]) -> list[str]:
    if isinstance(review_ids, str):
        raise ValueError("invalidate_reviews takes an iterable of review IDs, not one string")
    ids = set()
    for review_id in review_ids:
        if not isinstance(review_id, str) or not review_id:
            raise ValueError(f"a review ID must be a non-empty string, got {review_id!r}")
        ids.add(review_id)
    return sorted(ids)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_put(where: str, result: WriteResult, total: int, started: float) -> None:
    log.info(
        "summary cache %s: put %d: %d written, %d kept newer, in %.2fs",
        where,
        total,
        len(result.written),
        len(result.kept_newer),
        time.monotonic() - started,
    )


# --- SQLite --------------------------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS summaries (
    product_id   TEXT NOT NULL,
    language     TEXT NOT NULL,
    generated_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    lineage_key  TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (product_id, language)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS summary_reviews (
    product_id TEXT NOT NULL,
    language   TEXT NOT NULL,
    review_id  TEXT NOT NULL,
    PRIMARY KEY (product_id, language, review_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS summary_reviews_by_review ON summary_reviews (review_id);
"""

_SQLITE_UPSERT = """
INSERT INTO summaries (product_id, language, generated_at, expires_at, lineage_key, body)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (product_id, language) DO UPDATE SET
    generated_at = excluded.generated_at,
    expires_at = excluded.expires_at,
    lineage_key = excluded.lineage_key,
    body = excluded.body
WHERE excluded.generated_at >= summaries.generated_at
RETURNING product_id
"""


class SqliteSummaryCache:
    """The local profile's cache: one SQLite file, created (with its folder) on first use.

    WAL mode lets the storefront's reads go on while a batch writes. A put is one transaction, so a
    crash in the middle leaves the previous state whole; the ordering condition is part of the upsert
    statement itself, so two processes writing at once cannot interleave between a check and a write.
    The reviews each summary cites sit in a side table indexed by review ID, kept in step with the
    summary in the same transaction, so forgetting a review is an index lookup rather than a scan.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteSummaryCache({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are begun and ended here, explicitly.
            connection = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            try:
                connection.execute("PRAGMA journal_mode=WAL").fetchall()
                connection.executescript(_SQLITE_SCHEMA)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction under the object's lock. A write takes the database's write lock at once
        (IMMEDIATE), so it waits for another writer up front instead of failing halfway through."""
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def put(self, summaries: Sequence[CachedSummary]) -> WriteResult:
        started = time.monotonic()
        rows = _rows(summaries)
        result = WriteResult()
        try:
            with self._transaction(write=True) as connection:
                for row in rows:
                    s = row.summary
                    stored = connection.execute(
                        _SQLITE_UPSERT,
                        (s.product_id, s.language, row.generated_at, row.expires_at, s.lineage_key, row.body),
                    ).fetchall()
                    if not stored:
                        result.kept_newer.append(s.key)
                        continue
                    connection.execute(
                        "DELETE FROM summary_reviews WHERE product_id = ? AND language = ?", s.key
                    )
                    connection.executemany(
                        "INSERT INTO summary_reviews (product_id, language, review_id) VALUES (?, ?, ?)",
                        [(s.product_id, s.language, r) for r in sorted(s.review_ids)],
                    )
                    result.written.append(s.key)
        except Exception:
            log.error("summary cache %s: put of %d failed; nothing was written", self.path, len(rows))
            raise
        _log_put(str(self.path), result, len(rows), started)
        return result

    def get(self, product_id: str, language: str, now: datetime | None = None) -> CachedSummary | None:
        _check_key(product_id, language)
        at = _iso(_now(now))
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT product_id, language, generated_at, expires_at, lineage_key, body FROM summaries"
                " WHERE product_id = ? AND language = ? AND expires_at > ?",
                (product_id, language, at),
            ).fetchone()
            if row is None:
                return None
            review_ids = connection.execute(
                "SELECT review_id FROM summary_reviews WHERE product_id = ? AND language = ?",
                (product_id, language),
            ).fetchall()
        return _from_sqlite(row, frozenset(r for (r,) in review_ids))

    def get_product(self, product_id: str, now: datetime | None = None) -> list[CachedSummary]:
        _check_text("product_id", product_id)
        at = _iso(_now(now))
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT product_id, language, generated_at, expires_at, lineage_key, body FROM summaries"
                " WHERE product_id = ? AND expires_at > ?",
                (product_id, at),
            ).fetchall()
            cited: dict[str, set[str]] = {}
            for language, review_id in connection.execute(
                "SELECT language, review_id FROM summary_reviews WHERE product_id = ?", (product_id,)
            ):
                cited.setdefault(language, set()).add(review_id)
        summaries = [_from_sqlite(row, frozenset(cited.get(row[1], ()))) for row in rows]
        return sorted(summaries, key=lambda s: s.language)

    def invalidate_reviews(self, review_ids: Iterable[str]) -> list[Key]:
        """The IDs go in as one JSON array parameter (json_each), so a request of any size is one
        statement, without SQLite's limit on host parameters."""
        ids = _review_id_list(review_ids)
        if not ids:
            return []
        try:
            with self._transaction(write=True) as connection:
                deleted = sorted(
                    connection.execute(
                        "SELECT DISTINCT product_id, language FROM summary_reviews"
                        " WHERE review_id IN (SELECT value FROM json_each(?))",
                        (json.dumps(ids),),
                    ).fetchall()
                )
                connection.executemany(
                    "DELETE FROM summary_reviews WHERE product_id = ? AND language = ?", deleted
                )
                connection.executemany("DELETE FROM summaries WHERE product_id = ? AND language = ?", deleted)
        except Exception:
            log.error("summary cache %s: invalidating %d review(s) failed", self.path, len(ids))
            raise
        log.info(
            "summary cache %s: %d summaries citing %d review(s) deleted", self.path, len(deleted), len(ids)
        )
        return deleted

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _from_sqlite(row: tuple[str, ...], review_ids: frozenset[str]) -> CachedSummary:
    product_id, language, generated_at, expires_at, lineage_key, body = row
    return CachedSummary(
        product_id=product_id,
        language=language,
        generated_at=_from_iso(generated_at),
        expires_at=_from_iso(expires_at),
        review_ids=review_ids,
        lineage_key=lineage_key,
        body=json.loads(body),
    )


# --- DynamoDB ------------------------------------------------------------------------------------

# Attributes of an item besides the TTL one, which is configurable and must not collide with these.
_ITEM_ATTRIBUTES = frozenset(
    {HASH_KEY, RANGE_KEY, "generated_at", "expires_at_iso", "review_ids", "lineage_key", "body"}
)


class DynamoSummaryCache:
    """The aws profile's cache: the DynamoDB table of terraform/modules/dynamodb.

    An item per (product_id, language): `generated_at` and `expires_at_iso` as fixed-width ISO
    strings, the TTL attribute as epoch seconds (rounded up, so DynamoDB never deletes an item before
    it expires), `review_ids` as a string set (left out when empty: DynamoDB refuses empty sets), and
    `body` as a JSON string.

    Writes are conditional PutItems, since BatchWriteItem cannot carry a condition; they run
    `write_concurrency` at a time. botocore's standard retry mode retries throttling and server errors
    with exponential backoff and jitter, so there is no retry loop here except for what botocore
    cannot see: a BatchWriteItem's `UnprocessedItems`, which is a success response.

    The table's key schema is checked once, before the first request: a table keyed on product_id
    alone would accept every PutItem, and each language would silently overwrite the others.
    """

    ids_per_scan = 100  # `contains(...) OR ...` terms per Scan: ~2.3 KB of its 4 KB expression limit
    deletes_per_batch = 25  # BatchWriteItem's limit
    unprocessed_attempts = 8  # BatchWriteItem calls per batch before its unprocessed deletions fail
    retry_base_delay_s = 0.1
    retry_max_delay_s = 10.0

    def __init__(
        self,
        table_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        ttl_attribute: str = "expires_at",
        write_concurrency: int = 16,
        *,
        max_attempts: int = 10,
        client: Any | None = None,
    ) -> None:
        if not table_name:
            raise ValueError("summary_cache.table_name is empty")
        if ttl_attribute in _ITEM_ATTRIBUTES or not ttl_attribute:
            raise ValueError(
                f"summary_cache.ttl_attribute {ttl_attribute!r} collides with an item attribute "
                f"({', '.join(sorted(_ITEM_ATTRIBUTES))})"
            )
        if write_concurrency < 1:
            raise ValueError(f"summary_cache.write_concurrency must be at least 1, got {write_concurrency}")
        self.table_name = table_name
        self.ttl_attribute = ttl_attribute
        self.write_concurrency = write_concurrency
        self._client = client or dynamodb_client(region, endpoint_url, max_attempts, write_concurrency)
        self._layout_lock = threading.Lock()
        self._layout_checked = False

    def __repr__(self) -> str:
        return f"DynamoSummaryCache({self.table_name!r})"

    # -- requests

    def _request(self, operation: str, **kwargs: Any) -> Any:
        """One request; a refusal that names no transient condition becomes an error naming the table."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise ValueError(
                    f"DynamoDB table {self.table_name!r} does not exist (summary_cache.table_name)"
                ) from error
            if code == "ValidationException":
                message = error.response.get("Error", {}).get("Message", "")
                raise ValueError(
                    f"DynamoDB table {self.table_name!r} refused {operation}: {message}"
                ) from error
            raise

    def _check_layout(self) -> None:
        with self._layout_lock:
            if self._layout_checked:
                return
            table = self._request("describe_table")["Table"]
            keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema", [])}
            types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
            expected = {"HASH": HASH_KEY, "RANGE": RANGE_KEY}
            if keys != expected or any(types.get(name) != "S" for name in expected.values()):
                raise ValueError(
                    f"DynamoDB table {self.table_name!r} has the key schema {keys} ({types}); the summary "
                    f"cache needs hash key {HASH_KEY!r} and range key {RANGE_KEY!r}, both strings "
                    "(terraform/modules/dynamodb)"
                )
            self._layout_checked = True

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to an exponentially growing cap, so retries spread out."""
        return random.uniform(0, min(self.retry_max_delay_s, self.retry_base_delay_s * 2**attempt))

    # -- items

    def _item(self, row: _Row) -> dict[str, Any]:
        s = row.summary
        item: dict[str, Any] = {
            HASH_KEY: {"S": s.product_id},
            RANGE_KEY: {"S": s.language},
            "generated_at": {"S": row.generated_at},
            "expires_at_iso": {"S": row.expires_at},
            self.ttl_attribute: {"N": str(math.ceil(s.expires_at.timestamp()))},
            "lineage_key": {"S": s.lineage_key},
            "body": {"S": row.body},
        }
        if s.review_ids:
            item["review_ids"] = {"SS": sorted(s.review_ids)}
        return item

    @staticmethod
    def _key(product_id: str, language: str) -> dict[str, Any]:
        return {HASH_KEY: {"S": product_id}, RANGE_KEY: {"S": language}}

    # -- the interface

    def put(self, summaries: Sequence[CachedSummary]) -> WriteResult:
        started = time.monotonic()
        rows = _rows(summaries)
        result = WriteResult()
        if not rows:
            _log_put(self.table_name, result, 0, started)
            return result
        try:
            self._check_layout()
        except Exception:
            log.error("summary cache %s: put of %d failed: the table is unusable", self.table_name, len(rows))
            raise
        workers = min(self.write_concurrency, len(rows))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summary-cache") as pool:
            futures = [pool.submit(self._put_one, row) for row in rows]
        failures: list[tuple[Key, BaseException]] = []
        for row, future in zip(rows, futures, strict=True):
            error = future.exception()
            if error is not None:
                failures.append((row.summary.key, error))
            elif future.result():
                result.written.append(row.summary.key)
            else:
                result.kept_newer.append(row.summary.key)
        if failures:
            key, first = failures[0]
            log.error(
                "summary cache %s: put %d: %d failed (%d written, %d kept newer); first, %s: %s",
                self.table_name,
                len(rows),
                len(failures),
                len(result.written),
                len(result.kept_newer),
                key,
                first,
            )
            # What was written stays: the retried put rewrites it unchanged (same generated_at).
            raise RuntimeError(
                f"summary cache {self.table_name}: {len(failures)} of {len(rows)} writes failed, "
                f"first {key}: {first}"
            ) from first
        _log_put(self.table_name, result, len(rows), started)
        return result

    def _put_one(self, row: _Row) -> bool:
        """True when stored, False when the table holds a newer summary for the key."""
        from botocore.exceptions import ClientError

        try:
            self._request(
                "put_item",
                Item=self._item(row),
                ConditionExpression="attribute_not_exists(#p) OR #g <= :g",
                ExpressionAttributeNames={"#p": HASH_KEY, "#g": "generated_at"},
                ExpressionAttributeValues={":g": {"S": row.generated_at}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, product_id: str, language: str, now: datetime | None = None) -> CachedSummary | None:
        _check_key(product_id, language)
        at = _iso(_now(now))
        self._check_layout()
        item = self._request("get_item", Key=self._key(product_id, language), ConsistentRead=True).get("Item")
        if item is None or item["expires_at_iso"]["S"] <= at:
            return None
        return _from_dynamo(item)

    def get_product(self, product_id: str, now: datetime | None = None) -> list[CachedSummary]:
        _check_text("product_id", product_id)
        at = _iso(_now(now))
        self._check_layout()
        summaries: list[CachedSummary] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._request(
                "query",
                KeyConditionExpression="#p = :p",
                ExpressionAttributeNames={"#p": HASH_KEY},
                ExpressionAttributeValues={":p": {"S": product_id}},
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            summaries += [_from_dynamo(i) for i in page.get("Items", []) if i["expires_at_iso"]["S"] > at]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return sorted(summaries, key=lambda s: s.language)

    def invalidate_reviews(self, review_ids: Iterable[str]) -> list[Key]:
        """Scan for the items citing the reviews, then delete them by key.

        A Scan reads the whole table once per `ids_per_scan` review IDs. That is acceptable because
        forgetting is rare (a deletion request now and then, a handful of IDs) and the table holds one
        small item per product and language. At a scale where a full read per request costs too much,
        the batch would also write one item per (review_id, product_id, language) to an index table
        (or a GSI on a review-keyed item) and this would Query it instead.

        The deletions are unconditional (BatchWriteItem takes no conditions): a summary a concurrent
        run writes between the scan and the delete may be deleted with the rest. That costs one cache
        miss until the next hourly run, never a stale summary. A failure midway leaves some items
        deleted; calling again finds and deletes the rest.
        """
        ids = _review_id_list(review_ids)
        if not ids:
            return []
        try:
            self._check_layout()
            keys: set[Key] = set()
            for chunk in _chunks(ids, self.ids_per_scan):
                keys |= self._scan_citing(chunk)
            deleted = sorted(keys)
            for batch in _chunks(deleted, self.deletes_per_batch):
                self._delete_batch(batch)
        except Exception:
            log.error("summary cache %s: invalidating %d review(s) failed", self.table_name, len(ids))
            raise
        log.info(
            "summary cache %s: %d summaries citing %d review(s) deleted",
            self.table_name,
            len(deleted),
            len(ids),
        )
        return deleted

    def _scan_citing(self, review_ids: Sequence[str]) -> set[Key]:
        values = {f":r{i}": {"S": review_id} for i, review_id in enumerate(review_ids)}
        keys: set[Key] = set()
        start: dict[str, Any] | None = None
        while True:
            page = self._request(
                "scan",
                # On a string set, contains() tests membership, not a substring.
                FilterExpression=" OR ".join(f"contains(#r, {name})" for name in values),
                ProjectionExpression="#p, #l",
                ExpressionAttributeNames={"#p": HASH_KEY, "#l": RANGE_KEY, "#r": "review_ids"},
                ExpressionAttributeValues=values,
                ConsistentRead=True,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            keys.update((i[HASH_KEY]["S"], i[RANGE_KEY]["S"]) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return keys

    def _delete_batch(self, keys: Sequence[Key]) -> None:
        pending = [{"DeleteRequest": {"Key": self._key(*key)}} for key in keys]
        for attempt in range(1, self.unprocessed_attempts + 1):
            response = self._client.batch_write_item(RequestItems={self.table_name: pending})
            pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not pending:
                return
            if attempt < self.unprocessed_attempts:
                time.sleep(self._backoff(attempt))
        raise RuntimeError(
            f"summary cache {self.table_name}: {len(pending)} deletion(s) still unprocessed after "
            f"{self.unprocessed_attempts} BatchWriteItem calls"
        )

    def close(self) -> None:
        self._client.close()


def _from_dynamo(item: Mapping[str, Any]) -> CachedSummary:
    return CachedSummary(
        product_id=item[HASH_KEY]["S"],
        language=item[RANGE_KEY]["S"],
        generated_at=_from_iso(item["generated_at"]["S"]),
        expires_at=_from_iso(item["expires_at_iso"]["S"]),
        review_ids=frozenset(item.get("review_ids", {}).get("SS", ())),
        lineage_key=item["lineage_key"]["S"],
        body=json.loads(item["body"]["S"]),
    )


def dynamodb_client(
    region: str | None = None, endpoint_url: str | None = None, max_attempts: int = 10, concurrency: int = 16
) -> Any:
    """A DynamoDB client that retries throttling and server errors itself.

    botocore's standard mode backs off exponentially with jitter on the throttling codes
    (ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded) and on 5xx
    (InternalServerError). Its connection pool is sized to the writes in flight. With no endpoint_url,
    boto3 honours AWS_ENDPOINT_URL (the tests' moto server); credentials come from the default chain
    (inside a SageMaker job, the job's role).
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max(10, concurrency),
    )
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)


def create_table(client: Any, table_name: str, ttl_attribute: str = "expires_at") -> None:
    """The table as terraform/modules/dynamodb declares it (key schema, on-demand billing, TTL), for
    tests and scratch environments; Terraform owns the real one."""
    client.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": RANGE_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": HASH_KEY, "AttributeType": "S"},
            {"AttributeName": RANGE_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
    )
