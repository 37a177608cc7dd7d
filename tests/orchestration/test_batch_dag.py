"""The summary_batch_inference DAG under `dag.test()`: real Airflow, the worker tasks in process. The
summarize step itself is tested in tests/steps/batch (it needs the task environment and an endpoint)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def batch_dag(airflow_db):
    """The DAG parsed with the session's settings, and its state file, removed afterwards.

    Not a data folder of its own: `dag.test()` registers every DAG's Assets under the URIs their settings
    give, and an Asset registered under another URI deactivates the other DAGs' Assets of that name."""
    from airflow.dag_processing.dagbag import DagBag

    from common import storage
    from common.settings import get_settings
    from pipelines.batch.plan import state_uri

    get_settings.cache_clear()
    bag = DagBag(dag_folder=str(REPO / "dags" / "summary_batch_inference.py"))
    assert bag.import_errors == {}
    state = state_uri(get_settings())
    yield bag.get_dag("summary_batch_inference"), state
    storage.remove(state)


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_a_run_with_nothing_due_skips_cleanly_and_tears_down(batch_dag) -> None:
    from common import storage
    from common.settings import get_settings
    from pipelines.batch.queue import BatchState, changed_partitions

    dag, state = batch_dag
    # The watermark has seen every partition the lake holds and nothing is owed: nothing to do.
    BatchState(partitions=changed_partitions(get_settings().lake_uri, {}), queue={}).save(state)
    run = dag.test()
    assert run.state == "success"
    assert states(run) == {
        "plan": "success",
        "select": "skipped",
        "summarize": "skipped",
        "settle": "skipped",
        "cleanup": "success",
    }
    scratch = storage.join(get_settings().lake_uri, "staging", "batch")
    assert not [uri for uri in storage.list_files(scratch) if uri.endswith("selection.json")]


def test_a_product_nobody_reviewed_fails_the_run_at_once(batch_dag) -> None:
    dag, _ = batch_dag
    run = dag.test(run_conf={"product_ids": ["no-such-product"]})
    assert run.state == "failed"
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["select"].state == "failed" and tis["select"].try_number == 1
    assert tis["summarize"].state == "upstream_failed"
    assert tis["cleanup"].state == "success"
