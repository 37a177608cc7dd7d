"""The summary cache's contract, run against both backends: SQLite in a temp folder, and DynamoDB on
moto's server over loopback, through the same boto3 calls the aws profile makes.

Whatever one backend does, the other must do too: the storefront and the batch cannot tell them apart.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from common.settings import load_settings
from common.summary_cache import (
    HASH_KEY,
    RANGE_KEY,
    CachedSummary,
    DynamoSummaryCache,
    SqliteSummaryCache,
    SummaryCache,
    WriteResult,
    create_table,
    open_summary_cache,
)
from tests.aws_server import REGION, moto_server

REPO = Path(__file__).resolve().parents[3]
DYNAMODB_MODULE = REPO / "terraform" / "modules" / "dynamodb"
TABLE = "llmops-summaries-test"

T0 = datetime(2025, 3, 14, 9, 0, 0, 123456, tzinfo=UTC)
NOW = T0 + timedelta(minutes=30)


def summary(
    product_id: str = "p1",
    language: str = "en",
    generated_at: datetime = T0,
    ttl: timedelta = timedelta(days=7),
    review_ids: frozenset[str] | set[str] = frozenset({"r1", "r2"}),
    answer: str = "Good battery.",
) -> CachedSummary:
    return CachedSummary(
        product_id=product_id,
        language=language,
        generated_at=generated_at,
        expires_at=generated_at + ttl,
        review_ids=frozenset(review_ids),
        lineage_key=f"lineage/{product_id}/{language}/{generated_at.isoformat()}",
        body={"answer": answer, "evidence": sorted(review_ids), "model_version": "summarizer@champion:3"},
    )


@dataclass
class Backend:
    name: str
    cache: Any  # SqliteSummaryCache | DynamoSummaryCache
    stored: Callable[[str, str], bool]  # whether the store physically holds the key, expired or not


def _sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "nested" / "summaries.db"

    def stored(product_id: str, language: str) -> bool:
        with closing(sqlite3.connect(path)) as connection:
            row = connection.execute(
                "SELECT 1 FROM summaries WHERE product_id = ? AND language = ?", (product_id, language)
            ).fetchone()
        return row is not None

    cache = SqliteSummaryCache(path)
    yield Backend("sqlite", cache, stored)
    cache.close()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB client on a fresh moto server; AWS_ENDPOINT_URL points every other client there."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        yield client
        client.close()


def _dynamo_backend(client: Any) -> Iterator[Backend]:
    create_table(client, TABLE)

    def stored(product_id: str, language: str) -> bool:
        key = {HASH_KEY: {"S": product_id}, RANGE_KEY: {"S": language}}
        return "Item" in client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)

    cache = DynamoSummaryCache(TABLE, region=REGION, write_concurrency=8)
    cache.retry_base_delay_s = 0.0
    yield Backend("dynamodb", cache, stored)
    cache.close()


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path)
    else:
        yield from _dynamo_backend(request.getfixturevalue("dynamodb"))


# --- Round trip ----------------------------------------------------------------------------------


def test_both_backends_are_summary_caches(backend: Backend) -> None:
    assert isinstance(backend.cache, SummaryCache)


def test_every_field_round_trips(backend: Backend) -> None:
    original = CachedSummary(
        product_id="B00-ünï",
        language="de",
        generated_at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        expires_at=datetime(2025, 1, 9, 3, 4, 5, 1, tzinfo=UTC),
        review_ids=frozenset({"rev-1", "rev-2", "rev-Ω"}),
        lineage_key="s3://lake/lineage/batch/2025-01-02T03.json",
        body={
            "answer": "Akku hält zwei Tage — sehr gut 👍",
            "pros": [{"text": "Akku", "evidence": ["rev-1", "rev-Ω"]}],
            "cons": [],
            "score": 0.875,
            "shadow": None,
            "model_version": "summarizer@champion:7",
        },
    )
    now = datetime(2025, 1, 3, tzinfo=UTC)
    assert backend.cache.put([original]) == WriteResult(written=[("B00-ünï", "de")], kept_newer=[])

    got = backend.cache.get("B00-ünï", "de", now=now)
    assert got == original
    assert got.generated_at.microsecond == 678901 and got.expires_at.microsecond == 1
    assert got.generated_at.utcoffset() == timedelta(0) and got.expires_at.utcoffset() == timedelta(0)
    assert got.body["answer"] == "Akku hält zwei Tage — sehr gut 👍"
    assert backend.cache.get_product("B00-ünï", now=now) == [original]
    assert backend.cache.get("B00-ünï", "en", now=now) is None
    assert backend.cache.get("nothing", "de", now=now) is None


def test_no_review_ids_round_trips_as_an_empty_set(backend: Backend) -> None:
    empty = summary(review_ids=frozenset())
    backend.cache.put([empty])
    assert backend.cache.get("p1", "en", now=NOW) == empty
    assert backend.cache.get("p1", "en", now=NOW).review_ids == frozenset()


def test_an_aware_time_in_another_zone_is_kept_as_the_same_instant_in_utc(backend: Backend) -> None:
    plus_two = timezone(timedelta(hours=2))
    s = summary(generated_at=T0.astimezone(plus_two))
    assert s.generated_at.tzinfo == UTC
    backend.cache.put([s])
    got = backend.cache.get("p1", "en", now=NOW.astimezone(plus_two))
    assert got is not None and got.generated_at == T0 and got.generated_at.tzinfo == UTC


def test_the_default_now_is_the_current_time(backend: Backend) -> None:
    recent = summary(generated_at=datetime.now(UTC) - timedelta(hours=1))
    old = summary(language="fr", generated_at=datetime.now(UTC) - timedelta(days=8))
    backend.cache.put([recent, old])
    assert backend.cache.get("p1", "en") == recent
    assert backend.cache.get("p1", "fr") is None
    assert backend.cache.get_product("p1") == [recent]


# --- Ordering: an older run never overwrites a newer one ------------------------------------------


def test_an_older_run_never_overwrites_a_newer_one(backend: Backend) -> None:
    newer = summary(generated_at=T0 + timedelta(hours=1), answer="newer")
    backend.cache.put([newer])
    older = summary(generated_at=T0, answer="older")
    assert backend.cache.put([older]) == WriteResult(written=[], kept_newer=[("p1", "en")])
    assert backend.cache.get("p1", "en", now=NOW) == newer
    # One microsecond older is older.
    just_older = summary(generated_at=newer.generated_at - timedelta(microseconds=1), answer="older")
    assert backend.cache.put([just_older]).kept_newer == [("p1", "en")]
    assert backend.cache.get("p1", "en", now=NOW).body["answer"] == "newer"


def test_the_same_run_again_replaces_and_a_newer_run_replaces(backend: Backend) -> None:
    first = summary(answer="first", review_ids={"r1", "r2"})
    backend.cache.put([first])
    rerun = summary(answer="rerun", review_ids={"r3"})
    assert backend.cache.put([rerun]) == WriteResult(written=[("p1", "en")], kept_newer=[])
    assert backend.cache.get("p1", "en", now=NOW) == rerun
    newer = summary(generated_at=T0 + timedelta(microseconds=1), answer="newer", review_ids={"r4"})
    assert backend.cache.put([newer]) == WriteResult(written=[("p1", "en")], kept_newer=[])
    assert backend.cache.get("p1", "en", now=NOW) == newer
    # The cited reviews follow the item: only r4 still points at it.
    assert backend.cache.invalidate_reviews(["r1", "r2", "r3"]) == []
    assert backend.cache.invalidate_reviews(["r4"]) == [("p1", "en")]


def test_a_mixed_batch_reports_each_item(backend: Backend) -> None:
    hour = timedelta(hours=1)
    backend.cache.put(
        [
            summary("a", generated_at=T0 + hour, answer="a newer"),
            summary("b", generated_at=T0, answer="b same"),
            summary("c", generated_at=T0, answer="c older"),
        ]
    )
    batch = [
        summary("a", generated_at=T0, answer="a stale"),  # older: kept
        summary("b", generated_at=T0, answer="b rerun"),  # same time: replaced
        summary("c", generated_at=T0 + hour, answer="c newer"),  # newer: replaced
        summary("d", generated_at=T0, answer="d new"),  # absent: stored
        summary("a", language="fr", generated_at=T0, answer="a fr"),  # another language: stored
    ]
    result = backend.cache.put(batch)
    assert result.kept_newer == [("a", "en")]
    assert sorted(result.written) == [("a", "fr"), ("b", "en"), ("c", "en"), ("d", "en")]
    answers = {p: backend.cache.get(p, "en", now=NOW).body["answer"] for p in "abcd"}
    assert answers == {"a": "a newer", "b": "b rerun", "c": "c newer", "d": "d new"}
    assert backend.cache.get("a", "fr", now=NOW).body["answer"] == "a fr"


def test_an_empty_put_writes_nothing(backend: Backend) -> None:
    assert backend.cache.put([]) == WriteResult(written=[], kept_newer=[])


def test_three_hundred_items_in_one_put_all_land(backend: Backend) -> None:
    languages = ("de", "en", "es", "fr", "it", "nl")
    batch = [summary(f"p{i:03d}", languages[i % 6], review_ids={f"r{i}"}) for i in range(300)]
    result = backend.cache.put(batch)
    assert sorted(result.written) == sorted(s.key for s in batch)
    assert result.kept_newer == []
    for s in batch[::37] + batch[-1:]:
        assert backend.cache.get(s.product_id, s.language, now=NOW) == s
    assert backend.cache.get_product("p299", now=NOW) == [batch[299]]
    # The same batch again, with half of it from an older run.
    again = [replace(s, generated_at=T0 - timedelta(hours=i % 2)) for i, s in enumerate(batch)]
    result = backend.cache.put(again)
    assert len(result.written) == len(result.kept_newer) == 150


# --- Expiry --------------------------------------------------------------------------------------


def test_expired_items_are_not_returned_though_still_stored(backend: Backend) -> None:
    short = summary("p1", "en", ttl=timedelta(hours=1))
    long = summary("p1", "fr", ttl=timedelta(days=7))
    backend.cache.put([short, long])
    expiry = short.expires_at
    assert backend.cache.get("p1", "en", now=expiry - timedelta(microseconds=1)) == short
    assert backend.cache.get("p1", "en", now=expiry) is None  # expired at its expiry time
    assert backend.cache.get("p1", "en", now=expiry + timedelta(days=1)) is None
    assert backend.cache.get_product("p1", now=expiry) == [long]
    assert backend.cache.get_product("p1", now=long.expires_at) == []
    assert backend.stored("p1", "en") and backend.stored("p1", "fr")


def test_get_product_returns_every_unexpired_language_sorted(backend: Backend) -> None:
    languages = ["nl", "de", "it", "en", "fr", "es"]
    batch = [summary("p1", lang, answer=lang) for lang in languages]
    batch.append(summary("p1", "pt", ttl=timedelta(minutes=10)))  # expired at NOW
    batch.append(summary("p2", "de"))  # another product
    backend.cache.put(batch)
    got = backend.cache.get_product("p1", now=NOW)
    assert [s.language for s in got] == sorted(languages)
    assert [s.body["answer"] for s in got] == sorted(languages)
    assert backend.cache.get_product("p3", now=NOW) == []


# --- Forgetting ----------------------------------------------------------------------------------


def test_invalidate_deletes_exactly_the_items_citing_a_review(backend: Backend) -> None:
    batch = [
        summary("p1", "en", review_ids={"r1", "r2"}),
        summary("p1", "de", review_ids={"r2", "r3"}),
        summary("p2", "en", review_ids={"r3"}),
        summary("p3", "en", review_ids={"r2-suffix", "xr2"}),  # IDs containing "r2" are other reviews
        summary("p4", "en", review_ids=frozenset()),
        summary("p5", "en", review_ids={"r9"}, ttl=timedelta(minutes=1)),  # expired, still stored
    ]
    backend.cache.put(batch)
    deleted = backend.cache.invalidate_reviews(iter(["r2", "r9", "r2", "unknown"]))
    assert deleted == [("p1", "de"), ("p1", "en"), ("p5", "en")]
    for key in deleted:
        assert not backend.stored(*key)
    for s in batch[2:5]:
        assert backend.cache.get(s.product_id, s.language, now=NOW) == s
    assert backend.cache.invalidate_reviews(["r2", "r9"]) == []  # idempotent
    assert backend.cache.invalidate_reviews([]) == []


def test_invalidate_crosses_batch_and_id_chunk_sizes(backend: Backend) -> None:
    # 60 summaries cite the requested reviews: more than two BatchWriteItem batches of 25. The request
    # names 400 reviews, more than two scans' worth, and the cited ones are spread across all of them.
    cited = [summary(f"p{i:03d}", "en", review_ids={f"rev-{i * 6:04d}", f"keep-{i}"}) for i in range(60)]
    kept = [summary(f"q{i:03d}", "en", review_ids={f"keep-{i}", f"rev-{i * 6:04d}-x"}) for i in range(20)]
    backend.cache.put(cited + kept)
    request = [f"rev-{i:04d}" for i in range(400)]
    assert len(request) > 2 * DynamoSummaryCache.ids_per_scan
    assert len(cited) > 2 * DynamoSummaryCache.deletes_per_batch
    deleted = backend.cache.invalidate_reviews(request)
    assert deleted == sorted(s.key for s in cited)
    assert not any(backend.stored(*s.key) for s in cited)
    assert all(backend.cache.get(s.product_id, s.language, now=NOW) == s for s in kept)


# --- Validation ----------------------------------------------------------------------------------


def test_naive_times_are_refused(backend: Backend) -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        summary(generated_at=naive)
    with pytest.raises(ValueError, match="expires_at is a naive datetime"):
        CachedSummary("p1", "en", T0, naive + timedelta(days=1), frozenset(), "l", {})
    with pytest.raises(ValueError, match="now is a naive datetime"):
        backend.cache.get("p1", "en", now=naive)
    with pytest.raises(ValueError, match="now is a naive datetime"):
        backend.cache.get_product("p1", now=naive)


@pytest.mark.parametrize(
    ("product_id", "language", "message"),
    [("", "en", "product_id"), ("  ", "en", "product_id"), ("p1", "", "language")],
)
def test_empty_keys_are_refused(backend: Backend, product_id: str, language: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"{message} must be a non-empty string"):
        summary(product_id, language)
    with pytest.raises(ValueError, match=f"{message} must be a non-empty string"):
        backend.cache.get(product_id, language)


def test_expiry_before_or_at_generation_is_refused(backend: Backend) -> None:
    for ttl in (timedelta(0), timedelta(seconds=-1)):
        with pytest.raises(ValueError, match=r"expires_at .* must be after generated_at"):
            summary(ttl=ttl)


def test_a_batch_with_a_bad_item_writes_nothing(backend: Backend) -> None:
    good = summary("p1")
    with pytest.raises(ValueError, match="not JSON-able"):
        backend.cache.put([good, replace(summary("p2"), body={"when": T0})])
    with pytest.raises(ValueError, match="more than once"):
        backend.cache.put([good, summary("p1", answer="twice")])
    with pytest.raises(ValueError, match="empty string"):
        backend.cache.invalidate_reviews(["r1", ""])
    with pytest.raises(ValueError, match="not one string"):
        backend.cache.invalidate_reviews("r1")
    assert backend.cache.get("p1", "en", now=NOW) is None
    assert not backend.stored("p1", "en")


# --- SQLite only ---------------------------------------------------------------------------------


def test_sqlite_creates_its_folder_and_file_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "summaries.db"
    with closing(SqliteSummaryCache(path)) as cache:
        assert not path.exists()  # opening touches nothing
        cache.put([summary()])
        assert path.is_file()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT review_id FROM summary_reviews ORDER BY 1").fetchall() == [
            ("r1",),
            ("r2",),
        ]
    with closing(SqliteSummaryCache(path)) as reopened:  # another process later
        assert reopened.get("p1", "en", now=NOW) == summary()


def test_sqlite_put_is_one_transaction(tmp_path: Path) -> None:
    """A failure on the third item leaves the first two as they were: nothing of the batch lands."""
    path = tmp_path / "summaries.db"
    with closing(SqliteSummaryCache(path)) as cache:
        cache.put([summary("p1", answer="before")])
        with closing(sqlite3.connect(path)) as connection:
            connection.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON summaries WHEN NEW.product_id = 'p3'"
                " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
            connection.commit()
        newer = T0 + timedelta(hours=1)
        batch = [
            summary("p1", generated_at=newer, answer="after", review_ids={"r7"}),
            summary("p2"),
            summary("p3"),
        ]
        with pytest.raises(sqlite3.DatabaseError, match="disk on fire"):
            cache.put(batch)
        assert cache.get("p1", "en", now=NOW).body["answer"] == "before"
        assert cache.get("p2", "en", now=NOW) is None
        assert cache.invalidate_reviews(["r7"]) == []
        # The cache is still usable after the failed transaction.
        assert cache.put(batch[:2]).written == [("p1", "en"), ("p2", "en")]


def test_a_closed_sqlite_cache_refuses_work(tmp_path: Path) -> None:
    cache = SqliteSummaryCache(tmp_path / "summaries.db")
    cache.close()
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("p1", "en")


# --- DynamoDB only -------------------------------------------------------------------------------


def test_dynamodb_items_have_the_layout_the_table_and_ttl_expect(dynamodb: Any) -> None:
    create_table(dynamodb, TABLE)
    with closing(DynamoSummaryCache(TABLE, region=REGION)) as cache:
        s = summary(review_ids=frozenset())
        cache.put([s])
    item = dynamodb.get_item(TableName=TABLE, Key={"product_id": {"S": "p1"}, "language": {"S": "en"}})[
        "Item"
    ]
    assert item["expires_at"] == {"N": str(int(s.expires_at.timestamp()) + 1)}  # rounded up
    assert item["expires_at_iso"] == {"S": "2025-03-21T09:00:00.123456+00:00"}
    assert item["generated_at"] == {"S": "2025-03-14T09:00:00.123456+00:00"}
    assert "review_ids" not in item  # DynamoDB refuses an empty set
    assert json.loads(item["body"]["S"]) == s.body


def test_dynamodb_client_retries_throttling_with_botocores_standard_mode() -> None:
    cache = DynamoSummaryCache(TABLE, region=REGION, write_concurrency=32, max_attempts=7)
    config = cache._client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 8}  # the call and 7 retries
    assert config.max_pool_connections >= 32  # one connection per write in flight
    cache.close()


def test_a_table_keyed_on_product_alone_fails_clearly(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="old-layout",
        KeySchema=[{"AttributeName": "product_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "product_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with closing(DynamoSummaryCache("old-layout", region=REGION)) as cache:
        for call in (
            lambda: cache.put([summary()]),
            lambda: cache.get("p1", "en"),
            lambda: cache.get_product("p1"),
            lambda: cache.invalidate_reviews(["r1"]),
        ):
            with pytest.raises(ValueError, match=r"'old-layout' has the key schema .*range key 'language'"):
                call()
    assert dynamodb.scan(TableName="old-layout")["Items"] == []  # nothing written silently


def test_a_missing_table_fails_clearly(dynamodb: Any) -> None:
    cache = DynamoSummaryCache("no-such-table", region=REGION)
    with closing(cache), pytest.raises(ValueError, match="'no-such-table' does not exist"):
        cache.put([summary()])


def test_the_ttl_attribute_cannot_shadow_an_item_attribute() -> None:
    with pytest.raises(ValueError, match="collides"):
        DynamoSummaryCache(TABLE, region=REGION, ttl_attribute="generated_at")


class _Unprocessed:
    """A client whose BatchWriteItem processes one request per call, `times` times, then all of them."""

    def __init__(self, client: Any, times: int) -> None:
        self._client = client
        self.times = times
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.times <= 0:
            return self._client.batch_write_item(RequestItems=RequestItems)
        self.times -= 1
        ((table, requests),) = RequestItems.items()
        self._client.batch_write_item(RequestItems={table: requests[:1]})
        return {"UnprocessedItems": {table: requests[1:]} if requests[1:] else {}}


def test_unprocessed_deletions_are_retried_until_done(dynamodb: Any) -> None:
    create_table(dynamodb, TABLE)
    client = _Unprocessed(dynamodb, times=3)
    cache = DynamoSummaryCache(TABLE, write_concurrency=4, client=client)
    cache.retry_base_delay_s = 0.0
    cache.put([summary(f"p{i}", review_ids={"gone"}) for i in range(10)])
    assert len(cache.invalidate_reviews(["gone"])) == 10
    assert client.calls == 4
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_deletions_still_unprocessed_after_the_bounded_tries_raise(dynamodb: Any) -> None:
    create_table(dynamodb, TABLE)
    client = _Unprocessed(dynamodb, times=1000)
    cache = DynamoSummaryCache(TABLE, write_concurrency=4, client=client)
    cache.retry_base_delay_s = 0.0
    cache.put([summary(f"p{i}", review_ids={"gone"}) for i in range(20)])
    with pytest.raises(RuntimeError, match="still unprocessed after 8 BatchWriteItem calls"):
        cache.invalidate_reviews(["gone"])
    assert client.calls == cache.unprocessed_attempts
    # What was processed is gone; calling again finishes the job.
    client.times = 0
    assert len(cache.invalidate_reviews(["gone"])) == 20 - cache.unprocessed_attempts


class _SmallPages:
    """A client whose Query and Scan return a few items per page, as a large table would."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.pages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.pages += 1
        return self._client.query(Limit=2, **kwargs)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        self.pages += 1
        return self._client.scan(Limit=7, **kwargs)


def test_query_and_scan_follow_every_page(dynamodb: Any) -> None:
    create_table(dynamodb, TABLE)
    client = _SmallPages(dynamodb)
    cache = DynamoSummaryCache(TABLE, write_concurrency=4, client=client)
    languages = ["de", "en", "es", "fr", "it", "nl"]
    cache.put([summary("p1", lang, review_ids={f"r-{lang}"}) for lang in languages])
    cache.put([summary(f"q{i}", "en", review_ids={f"r-{i}"}) for i in range(30)])
    assert [s.language for s in cache.get_product("p1", now=NOW)] == languages
    assert client.pages >= 3  # 2 items a page
    client.pages = 0
    deleted = cache.invalidate_reviews(["r-de", "r-nl", "r-29"])
    assert deleted == [("p1", "de"), ("p1", "nl"), ("q29", "en")]
    assert client.pages >= 36 // 7


def test_put_logs_one_line(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    backend.cache.put([summary("p1", generated_at=T0 + timedelta(hours=1))])
    caplog.clear()
    with caplog.at_level("INFO", logger="common.summary_cache"):
        backend.cache.put([summary("p1"), summary("p2")])
    lines = [r.getMessage() for r in caplog.records if r.name == "common.summary_cache"]
    assert len(lines) == 1
    assert "put 2: 1 written, 1 kept newer" in lines[0]


# --- Settings and Terraform ----------------------------------------------------------------------


def test_the_local_profile_opens_sqlite_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path))
    settings = load_settings("local")
    with closing(open_summary_cache(settings)) as cache:
        assert isinstance(cache, SqliteSummaryCache)
        assert cache.path == tmp_path / "summary_cache" / "summaries.db"
        cache.put([summary()])
        assert cache.get("p1", "en", now=NOW) == summary()
    assert (tmp_path / "summary_cache" / "summaries.db").is_file()


def test_the_aws_profile_opens_the_dynamodb_table(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> None:
    from tests.orchestration.aws_env import AWS_PROFILE_ENV

    for key, value in {**AWS_PROFILE_ENV, "LLMOPS_SUMMARY_CACHE_TABLE": TABLE}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("aws")
    assert settings.summary_cache is not None
    create_table(dynamodb, TABLE, settings.summary_cache.ttl_attribute)
    with closing(open_summary_cache(settings)) as cache:
        assert isinstance(cache, DynamoSummaryCache)
        assert cache.table_name == TABLE
        assert cache.ttl_attribute == settings.summary_cache.ttl_attribute
        assert cache.write_concurrency == settings.summary_cache.write_concurrency
        # No endpoint in the settings: AWS_ENDPOINT_URL (the moto server) is where it went.
        cache.put([summary()])
        assert cache.get("p1", "en", now=NOW) == summary()


def test_no_summary_cache_settings_is_a_clear_error() -> None:
    settings = load_settings("local").model_copy(update={"summary_cache": None})
    with pytest.raises(ValueError, match="summary_cache is not configured"):
        open_summary_cache(settings)


def _terraform_table() -> dict[str, Any]:
    main = (DYNAMODB_MODULE / "main.tf").read_text(encoding="utf-8")
    variables = (DYNAMODB_MODULE / "variables.tf").read_text(encoding="utf-8")
    ttl = re.search(r"ttl\s*\{\s*attribute_name\s*=\s*var\.(\w+)\s+enabled\s*=\s*true", main)
    assert ttl, "the table has no enabled ttl block naming a variable"
    default = re.search(rf'variable "{ttl.group(1)}" \{{[^}}]*default\s*=\s*"(\w+)"', variables)
    assert default, f"variable {ttl.group(1)} has no default"
    hash_key = re.search(r'^\s*hash_key\s*=\s*"(\w+)"', main, re.M)
    range_key = re.search(r'^\s*range_key\s*=\s*"(\w+)"', main, re.M)
    return {
        "hash_key": hash_key and hash_key.group(1),
        "range_key": range_key and range_key.group(1),
        "attributes": dict(re.findall(r'attribute\s*\{\s*name\s*=\s*"(\w+)"\s+type\s*=\s*"(\w)"', main)),
        "billing_mode": re.search(r'billing_mode\s*=\s*"(\w+)"', main).group(1),  # type: ignore[union-attr]
        "ttl_attribute": default.group(1),
    }


def test_the_table_create_table_makes_is_the_one_terraform_declares(dynamodb: Any) -> None:
    terraform = _terraform_table()
    assert terraform["hash_key"] == HASH_KEY == "product_id"
    assert terraform["range_key"] == RANGE_KEY == "language"
    assert terraform["attributes"] == {"product_id": "S", "language": "S"}
    settings = load_settings("local")
    assert settings.summary_cache is not None
    assert terraform["ttl_attribute"] == settings.summary_cache.ttl_attribute == "expires_at"

    create_table(dynamodb, TABLE, terraform["ttl_attribute"])
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]} == {
        "HASH": terraform["hash_key"],
        "RANGE": terraform["range_key"],
    }
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == terraform[
        "attributes"
    ]
    assert table["BillingModeSummary"]["BillingMode"] == terraform["billing_mode"]
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": terraform["ttl_attribute"]}
