"""The batch's selection: the watermark follows the lake's manifests, and nothing selected is lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common import storage
from common.settings import get_settings
from common.summary_requests import request_summaries
from pipelines.batch.plan import EndpointDown, plan_run, remove_scratch, select_for_run, settle_run
from pipelines.batch.queue import BatchState, Outcome, backoff, select, settle

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def keys(entries) -> list[tuple[str, str]]:
    return [(e.product_id, e.language) for e in entries]


def test_new_partitions_owe_their_products_once_and_a_republished_one_is_read_again(lake) -> None:
    uri, publish = lake
    publish("2026-12-01", [("p1", "en"), ("p1", "en"), ("p2", "de")], "2026-12-02T01:00:00+00:00")
    state = BatchState()
    first = select(state, uri, NOW, limit=100)
    assert first.new_partitions == ["dt=2026-12-01"]
    assert sorted(keys(first.entries)) == [("p1", "en"), ("p2", "de")]

    # Nothing settled yet: the entries stay owed, and the same partition is not read again.
    again = select(state, uri, NOW + timedelta(hours=1), limit=100)
    assert again.new_partitions == [] and sorted(keys(again.entries)) == [("p1", "en"), ("p2", "de")]
    settle(state, [Outcome(p, lang, "summarized") for p, lang in keys(again.entries)], NOW, **BACKOFF)
    assert select(state, uri, NOW + timedelta(hours=2), limit=100).entries == []

    # A backfill publishes the day again: its products are owed a summary again.
    publish("2026-12-01", [("p3", "en")], "2026-12-03T09:00:00+00:00")
    publish("2026-12-02", [("p4", "fr")], "2026-12-03T09:00:00+00:00")
    later = select(state, uri, NOW + timedelta(hours=3), limit=100)
    assert later.new_partitions == ["dt=2026-12-01", "dt=2026-12-02"]
    assert sorted(keys(later.entries)) == [("p3", "en"), ("p4", "fr")]


BACKOFF = {"max_attempts": 3, "backoff_initial_s": 3600, "backoff_max_s": 4 * 3600}


def test_a_failure_waits_its_backoff_then_fails_terminally_and_pending_keeps_its_attempts(lake) -> None:
    uri, publish = lake
    publish("2026-12-01", [("p1", "en"), ("p2", "en")], "2026-12-02T01:00:00+00:00")
    state = BatchState()
    select(state, uri, NOW, limit=100)

    done = settle(
        state, [Outcome("p1", "en", "failed", "timeout"), Outcome("p2", "en", "pending")], NOW, **BACKOFF
    )
    assert (len(done.retrying), done.pending, done.terminal) == (1, 1, [])
    retry = state.queue["p1|en"]
    assert (retry.attempts, retry.last_reason) == (1, "timeout")
    assert datetime.fromisoformat(retry.next_try_at) == NOW + timedelta(hours=1)
    assert state.queue["p2|en"].attempts == 0  # never tried: the endpoint was down

    assert keys(state.due(NOW + timedelta(minutes=59), 100)) == [("p2", "en")]
    assert sorted(keys(state.due(NOW + timedelta(hours=1), 100))) == [("p1", "en"), ("p2", "en")]

    at = NOW + timedelta(hours=1)
    settle(state, [Outcome("p1", "en", "failed", "ungrounded")], at, **BACKOFF)
    assert datetime.fromisoformat(state.queue["p1|en"].next_try_at) == at + timedelta(hours=2)  # doubled
    last = settle(state, [Outcome("p1", "en", "failed", "ungrounded")], at + timedelta(hours=2), **BACKOFF)
    assert [e.key for e in last.terminal] == ["p1|en"] and last.terminal[0].attempts == 3
    assert "p1|en" not in state.queue
    assert backoff(10, 3600, 4 * 3600) == timedelta(hours=4)  # capped


def test_an_outcome_for_an_entry_the_queue_does_not_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="does not hold"):
        settle(BatchState(), [Outcome("p9", "en", "summarized")], NOW, **BACKOFF)


def test_the_cap_takes_the_oldest_and_a_manual_list_goes_first(lake) -> None:
    uri, publish = lake
    publish("2026-12-01", [("old", "en")], "2026-12-02T01:00:00+00:00")
    state = BatchState()
    select(state, uri, NOW, limit=0)  # owed, not taken
    publish("2026-12-02", [("new", "en"), ("asked", "de"), ("asked", "en")], "2026-12-03T01:00:00+00:00")
    capped = select(state, uri, NOW + timedelta(hours=1), limit=1)
    assert keys(capped.entries) == [("old", "en")] and capped.queued == 4

    manual = select(state, uri, NOW + timedelta(hours=2), limit=2, product_ids=["asked"])
    assert keys(manual.entries) == [("asked", "de"), ("asked", "en")]
    with pytest.raises(ValueError, match="no clean reviews of 1 requested products: nope"):
        select(state, uri, NOW, limit=2, product_ids=["nope"])


def test_a_run_selects_settles_and_alerts_what_failed_for_good(lake, monkeypatch, tmp_path: Path) -> None:
    uri, publish = lake
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = get_settings("local").model_copy(update={"lake_uri": uri})
    settings = settings.model_copy(update={"batch": settings.batch.model_copy(update={"max_attempts": 1})})
    publish("2026-12-01", [("p1", "en"), ("p2", "en"), ("p3", "en")], "2026-12-02T01:00:00+00:00", "tag-1")
    request_summaries(uri, [("p9", "nl")], "forget-1", "review forgotten")

    plan = plan_run(settings, "scheduled__2026-12-03T15:00:00+00:00", NOW, False, {})
    assert plan["run_key"] == "20261203T1500"  # the hour: a re-run of it writes the same ids
    selected = select_for_run(settings, plan, NOW)
    assert selected["selected"] == 4 and selected["enqueued"]["invalidated"] == 1
    assert not storage.list_files(storage.join(uri, "batch", "requests"))  # taken into the queue
    assert storage.read_json(plan["plan_uri"])["data_version"] == "tag-1"

    outcomes = [
        Outcome("p1", "en", "summarized"),
        Outcome("p2", "en", "failed", "ungrounded+pii"),
        Outcome("p3", "en", "summarized"),
        Outcome("p9", "nl", "failed", "no_context"),
    ]
    storage.write_json(plan["outcomes_uri"], [o.__dict__ for o in outcomes])
    storage.write_json(plan["summarize_result_uri"], {"endpoint_down": False})
    report = settle_run(settings, plan, NOW)
    assert (report["summarized"], report["failed_terminally"], report["queued"]) == (2, 2, 0)
    failures = [
        json.loads(line) for line in Path(storage.local_path(plan["failures_uri"])).read_text().splitlines()
    ]
    assert {(f["product_id"], f["last_reason"], f["terminal"]) for f in failures} == {
        ("p2", "ungrounded+pii", True),
        ("p9", "no_context", True),
    }
    alert = json.loads(Path(settings.resolve_path(settings.alerts.local_file)).read_text().splitlines()[-1])
    assert alert["event"] == "summaries_failed_terminally" and alert["count"] == 2
    assert remove_scratch(plan) and not storage.exists(plan["selection_uri"])
    get_settings.cache_clear()


def test_an_endpoint_that_never_came_up_keeps_everything_pending_and_fails_the_run(
    lake, monkeypatch, tmp_path
) -> None:
    uri, publish = lake
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    settings = get_settings("local").model_copy(update={"lake_uri": uri})
    publish("2026-12-01", [("p1", "en"), ("p2", "en")], "2026-12-02T01:00:00+00:00")
    plan = plan_run(settings, "manual__x", NOW, True, {"product_ids": []})
    assert plan["run_key"].startswith("20261203T1500-manual-")
    select_for_run(settings, plan, NOW)
    storage.write_json(
        plan["outcomes_uri"], [Outcome(p, "en", "pending", "endpoint_down").__dict__ for p in ("p1", "p2")]
    )
    storage.write_json(
        plan["summarize_result_uri"], {"endpoint_down": True, "endpoint_error": "503 for 900 s"}
    )
    with pytest.raises(EndpointDown, match="2 products stay queued"):
        settle_run(settings, plan, NOW)
    state = BatchState.load(plan["state_uri"])
    assert {(e.key, e.attempts) for e in state.queue.values()} == {("p1|en", 0), ("p2|en", 0)}
    get_settings.cache_clear()
