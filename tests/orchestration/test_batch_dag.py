"""The summary_batch_inference DAG under `dag.test()`: real Airflow, the worker tasks in process. The
summarize step itself is tested in tests/steps/batch (it needs the task environment and an endpoint)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def airflow_db() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


@pytest.fixture
def batch_dag(airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The DAG parsed against a data folder of its own (a lake with one published partition)."""
    from airflow.dag_processing.dagbag import DagBag

    from common.settings import get_settings

    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    partition = tmp_path / "lake" / "clean" / "reviews" / "dt=2026-12-02"
    partition.mkdir(parents=True)
    pq.write_table(pa.table({"product_id": ["p1"], "language": ["en"]}), partition / "part-00000.parquet")
    (partition / "_manifest.json").write_text(
        json.dumps({"files": ["part-00000.parquet"], "published_at": "2026-12-03T01:00:00+00:00"})
    )
    bag = DagBag(dag_folder=str(REPO / "dags" / "summary_batch_inference.py"))
    assert bag.import_errors == {}
    yield bag.get_dag("summary_batch_inference"), tmp_path
    get_settings.cache_clear()


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_a_run_with_nothing_due_skips_cleanly_and_tears_down(batch_dag) -> None:
    dag, data = batch_dag
    queue = data / "lake" / "batch" / "state" / "queue.json"
    queue.parent.mkdir(parents=True)
    # The watermark has seen the partition and nothing is owed: the hour has nothing to do.
    queue.write_text(
        json.dumps({"version": 1, "partitions": {"dt=2026-12-02": "2026-12-03T01:00:00+00:00"}, "queue": {}})
    )
    run = dag.test()
    assert run.state == "success"
    assert states(run) == {
        "plan": "success",
        "select": "skipped",
        "summarize": "skipped",
        "settle": "skipped",
        "cleanup": "success",
    }
    assert not list((data / "lake" / "staging" / "batch").glob("*/selection.json"))


def test_a_product_nobody_reviewed_fails_the_run_at_once(batch_dag) -> None:
    dag, _ = batch_dag
    run = dag.test(run_conf={"product_ids": ["no-such-product"]})
    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["select"].state == "failed" and tis["select"].try_number == 1
    assert tis["summarize"].state == "upstream_failed"
    assert tis["cleanup"].state == "success"
