"""Worker-side pieces of the embedding and forget DAGs: the run plan and the tombstones."""

from __future__ import annotations

import pytest

from common.tombstones import forgotten_review_ids, read_tombstone, record_tombstones
from pipelines.embedding.plan import partitions_from_events, plan_run

LAKE = "file:///lake"


def test_partitions_of_several_ingestion_events_are_merged_in_date_order():
    events = [
        {"partitions": [f"{LAKE}/clean/reviews/dt=2026-11-19", f"{LAKE}/clean/reviews/dt=2026-11-18"]},
        {"partitions": [f"{LAKE}/clean/reviews/dt=2026-11-18"]},
        {},  # an event without partitions (an empty window) adds nothing
    ]
    assert partitions_from_events(events) == [
        f"{LAKE}/clean/reviews/dt=2026-11-18",
        f"{LAKE}/clean/reviews/dt=2026-11-19",
    ]


def test_the_mode_follows_the_trigger():
    events = [{"partitions": [f"{LAKE}/clean/reviews/dt=2026-11-19"]}]
    assert plan_run(LAKE, "r", "2026-11-20T00:00:00", events, False, None)["mode"] == "incremental"
    assert plan_run(LAKE, "r", "2026-11-20T00:00:00", events, True, None)["mode"] == "rebuild"
    pinned = plan_run(LAKE, "r", "2026-11-20T00:00:00", [], False, " reviews/dt=x/abc ")
    assert pinned["mode"] == "rebuild" and pinned["dataset_version"] == "reviews/dt=x/abc"
    with pytest.raises(ValueError, match="nothing to embed"):
        plan_run(LAKE, "r", "2026-11-20T00:00:00", [], False, "  ")


def test_a_plan_is_stable_per_run_and_apart_from_other_runs():
    one = plan_run(LAKE, "manual__1", "2026-11-20T03:00:00+00:00", [], True, None)
    assert one == plan_run(LAKE, "manual__1", "2026-11-20T03:00:00+00:00", [], True, None)
    other = plan_run(LAKE, "manual__2", "2026-11-20T03:00:00+00:00", [], True, None)
    assert one["run_key"] != other["run_key"] and one["run_key"].startswith("20261120030000-")
    assert one["run_key"] == one["run_key"].lower()  # it becomes part of an index name


def test_tombstones_are_recorded_once_per_request_and_read_by_every_reader(tmp_path):
    lake = f"file://{tmp_path}/lake"
    assert forgotten_review_ids(lake) == frozenset()
    first = record_tombstones(lake, ["r2", " r1 ", "r2"], "ticket-7", "manual__a")
    assert first["review_ids"] == ["r1", "r2"]
    assert read_tombstone(first["tombstone_uri"]) == ["r1", "r2"]
    again = record_tombstones(lake, ["r1", "r2"], "ticket-7", "manual__a")
    assert again["tombstone_uri"] == first["tombstone_uri"]
    record_tombstones(lake, ["r3"], "ticket-8", "manual__b")
    assert forgotten_review_ids(lake) == {"r1", "r2", "r3"}


@pytest.mark.parametrize("ids, reason", [([], "ticket"), (["  "], "ticket"), (["r1"], " ")])
def test_an_incomplete_request_is_refused(tmp_path, ids, reason):
    with pytest.raises(ValueError):
        record_tombstones(f"file://{tmp_path}", ids, reason, "manual__c")


def test_every_writer_of_the_vector_store_runs_in_the_one_writers_pool():
    """A forget request racing an embedding run must not interleave with its writes: the embed, gate
    and delete tasks share one pool (one slot), and nothing else takes it."""
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    from common.settings import get_settings

    dags = Path(__file__).resolve().parents[2] / "dags"
    pool = get_settings().embedding.writers_pool
    writers = {("review_embedding", "embed"), ("review_embedding", "gate"), ("review_forget", "delete")}
    for dag_id in ("review_embedding", "review_forget"):
        dag = DagBag(dag_folder=str(dags / f"{dag_id}.py")).dags[dag_id]
        for task in dag.tasks:
            expected = pool if (dag_id, task.task_id) in writers else "default_pool"
            assert (task.pool, task.pool_slots) == (expected, 1), f"{dag_id}.{task.task_id}"
