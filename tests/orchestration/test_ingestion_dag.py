"""The review_ingestion DAG end to end under `dag.test()`: real Airflow, real heavy steps in the task
environment, sample data from the generator. Slow by nature (each heavy step loads its libraries)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 11, 20)
DAYS = 3
CONF = {
    "backfill_start": (END - timedelta(days=DAYS)).isoformat(),
    "backfill_end": (END - timedelta(days=1)).isoformat(),
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def source(airflow_db):
    from common.settings import get_settings
    from sample_source import generate

    get_settings.cache_clear()
    data_dir = Path(os.environ["LLMOPS_DATA_DIR"])
    db = Path(get_settings().source.sqlite_path)
    generate(
        db,
        data_dir / "source" / "ground_truth",
        seed=11,
        products=12,
        mean_reviews_per_product=20,
        days=DAYS,
        end_date=END,
    )
    return data_dir


def ingestion_dag():
    from airflow.dag_processing.dagbag import DagBag

    from common.settings import get_settings

    get_settings.cache_clear()
    bag = DagBag(dag_folder=str(REPO / "dags" / "review_ingestion.py"))
    assert bag.import_errors == {}
    return bag.get_dag("review_ingestion")


def plan_for(run_id: str) -> dict:
    from common.settings import get_settings
    from pipelines.ingestion.plan import plan_run, resolve_window

    start, end = resolve_window(None, None, CONF["backfill_start"], CONF["backfill_end"])
    return plan_run(get_settings().lake_uri, run_id, start, end).to_dict()


def lake_rows(data_dir: Path, kind: str) -> list[dict]:
    root = data_dir / "lake" / kind / "reviews"
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pylist()


def expected_outcomes(data_dir: Path) -> Counter:
    labels = data_dir / "source" / "ground_truth" / "review_labels.jsonl"
    return Counter(json.loads(line)["expected_outcome"] for line in labels.read_text().splitlines())


def test_ingestion_runs_end_to_end_and_reruns_idempotently(source):
    dag = ingestion_dag()
    first = dag.test(run_conf=CONF)
    assert first.state == "success"

    plan = plan_for(first.run_id)
    from common import storage

    transform = storage.read_json(plan["transform_result_uri"])
    published = storage.read_json(plan["publish_result_uri"])
    validation = storage.read_json(plan["validation_result_uri"])

    # Nothing lost: every extracted review is in clean or quarantine, and the lake agrees.
    clean, quarantine = lake_rows(source, "clean"), lake_rows(source, "quarantine")
    assert transform["input_count"] == transform["clean_count"] + transform["quarantine_count"]
    assert len(clean) == transform["clean_count"] and len(quarantine) == transform["quarantine_count"]
    truth = expected_outcomes(source)
    assert transform["input_count"] == sum(truth.values())
    # The chain's verdicts follow the generator's ground truth closely.
    assert abs(transform["quarantine_count"] - truth["quarantine"]) <= 0.1 * truth["quarantine"] + 3
    assert all(r["reason"] for r in quarantine)
    assert len({r["review_id"] for r in clean}) == len(clean)

    # One partition per day, each with a manifest naming its DVC version; Data Docs were written.
    assert len(published["partitions"]) == DAYS
    for partition in published["partitions"]:
        manifest = storage.read_json(storage.join(partition["clean_uri"], storage.MANIFEST))
        assert manifest["dvc"]["rev"] == published["dvc"]["rev"]
    assert storage.exists(validation["data_docs_index_uri"])
    tags = subprocess.run(
        ["git", "--git-dir", str(source / "dvc" / "registry.git"), "tag"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert published["dvc"]["tag"] in tags

    # Scratch data with unredacted text is gone; results stay for audit.
    assert not storage.exists(plan["raw_uri"]) and not storage.exists(plan["staged_uri"])

    # A second run of the same window replaces the partitions: same rows, no duplicates.
    second = dag.test(run_conf=CONF)
    assert second.state == "success"
    assert sorted(r["review_id"] for r in lake_rows(source, "clean")) == sorted(r["review_id"] for r in clean)
    assert len(lake_rows(source, "quarantine")) == len(quarantine)


def test_a_failing_validation_publishes_nothing(source, monkeypatch):
    before = (
        sorted(p.name for p in (source / "lake" / "clean" / "reviews").glob("dt=*"))
        if (source / "lake" / "clean" / "reviews").exists()
        else []
    )
    lake_before = {p: p.stat().st_mtime for p in (source / "lake" / "clean").rglob("*.parquet")}
    monkeypatch.setenv("LLMOPS_THRESHOLDS__INGESTION__MAX_QUARANTINE_RATE", "0.0")
    dag = ingestion_dag()
    run = dag.test(run_conf=CONF)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate"] == "failed"
    assert states["publish"] != "success"
    after = (
        sorted(p.name for p in (source / "lake" / "clean" / "reviews").glob("dt=*"))
        if (source / "lake" / "clean" / "reviews").exists()
        else []
    )
    assert after == before
    assert {p: p.stat().st_mtime for p in (source / "lake" / "clean").rglob("*.parquet")} == lake_before
    alerts = (source / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert any(json.loads(line)["task_id"] == "validate" for line in alerts)
    # The failed run still removed its scratch: the raw extract (unredacted text) and the staged data.
    from common import storage

    assert states["extract"] == "success" and states["cleanup"] == "success"
    plan = plan_for(run.run_id)
    assert not storage.exists(plan["raw_uri"]) and not storage.exists(plan["staged_uri"])
    assert storage.exists(plan["transform_result_uri"])  # results stay for audit


def test_an_impossible_backfill_fails_once(airflow_db):
    """A window that cannot exist fails the plan on its first try: no retries, nothing else runs."""
    run = ingestion_dag().test(run_conf={"backfill_start": "2026-11-05", "backfill_end": "2026-11-01"})
    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["plan"].state == "failed" and tis["plan"].try_number == 1
    assert tis["extract"].state == "upstream_failed"


def latest_asset_event_extra(name: str) -> dict:
    from common.assets import latest_event_extra

    return latest_event_extra(name)


def dag_from(file_name: str, dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from common.settings import get_settings

    get_settings.cache_clear()
    bag = DagBag(dag_folder=str(REPO / "dags" / file_name))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


def indexed(alias: str = "reviews") -> tuple[str, list[str], list[str]]:
    """The index behind the alias and every chunk id in it (through the task environment's store)."""
    code = (
        "import json; from common.settings import get_settings; "
        "from common.vector_store import open_vector_store, TopQuery, NO_FILTERS; "
        "import sys; s = open_vector_store(get_settings()); i = s.resolve_alias(sys.argv[1]); "
        "hits = s.top_by(i, TopQuery(filters=NO_FILTERS, sort=(('chunk_id', 'asc'),), k=100000)); "
        "print(json.dumps([i, [h.chunk_id for h in hits], sorted({h.review_id for h in hits})]))"
    )
    out = subprocess.run(
        [str(REPO / ".venv-tasks" / "bin" / "python"), "-c", code, alias],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    index, chunk_ids, review_ids = json.loads(out.strip().splitlines()[-1])
    return index, chunk_ids, review_ids


def test_embedding_follows_ingestion_through_the_asset_and_is_idempotent(source):
    ingestion = ingestion_dag()
    assert ingestion.test(run_conf=CONF).state == "success"
    handoff = latest_asset_event_extra("reviews_clean")
    assert handoff["partitions"] and handoff["dvc"]["tag"]

    embedding = dag_from("review_embedding.py", "review_embedding")
    # The embedding DAG is scheduled on exactly the Asset ingestion emits.
    assert [a.name for a in embedding.timetable.asset_condition.objects] == ["reviews_clean"]
    first = embedding.test(run_conf={"partitions": handoff["partitions"]})
    assert first.state == "success"
    # Its teardown removed the staged plan; the results stay for audit.
    staging = source / "lake" / "staging" / "embedding"
    assert not list(staging.glob("*/plan.json")) and list(staging.glob("*/results/gate.json"))
    vectors = latest_asset_event_extra("review_vectors")
    index, chunk_ids, review_ids = indexed()
    assert vectors["index"] == index
    assert vectors["reviews_indexed"] == handoff["clean_count"] == len(review_ids)
    assert vectors["index_count"] == len(chunk_ids) == len(set(chunk_ids))
    # The gate passed, so the labelled evaluation met the threshold every profile shares.
    from common.settings import get_settings

    assert vectors["metrics"]["ndcg_at_k"] >= get_settings().thresholds.embedding.min_ndcg_at_k

    # The same partitions again: a new index version (copied, then gated), the same ids, the same count.
    again = embedding.test(run_conf={"partitions": handoff["partitions"]})
    assert again.state == "success"
    assert indexed()[1:] == (chunk_ids, review_ids)

    # Forgetting a review removes its chunks, and a full rebuild does not bring it back.
    forget = dag_from("review_forget.py", "review_forget")
    gone = review_ids[0]
    assert forget.test(run_conf={"review_ids": [gone], "reason": "test request"}).state == "success"
    assert gone not in indexed()[2]
    rebuilt = embedding.test(run_conf={"full_rebuild": True})
    assert rebuilt.state == "success"
    new_index, _, new_review_ids = indexed()
    assert new_index != index
    assert sorted(new_review_ids) == sorted(set(review_ids) - {gone})
