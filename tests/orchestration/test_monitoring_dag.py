"""The summary_quality_monitoring DAG under `dag.test()`: real Airflow, the score step in the task
environment as the local profile runs it. Scoring with the real models is tested in tests/steps/monitoring;
here the day's records are format failures (nothing for the models to load for), so the DAG's path is what
is tested: a quiet day skips `act`, a warning three days running alerts and announces the breach that
fine-tuning is scheduled on."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def monitoring_dag(airflow_db):
    """The DAG parsed with the session's settings (see tests/orchestration/test_batch_dag.py for why)."""
    from airflow.dag_processing.dagbag import DagBag

    from common.settings import get_settings

    get_settings.cache_clear()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("summary_quality_monitoring")


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def garbled_day(day: date, count: int) -> None:
    """`count` lineage records of `day` whose answers were not JSON (the garbled-text incident)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common import storage, summary_lineage
    from common.settings import get_settings

    rows: list[dict[str, Any]] = [
        {
            "lineage_key": f"{day}-{n}",
            "run_key": f"{day:%Y%m%d}T0500",
            "product_id": f"p{n}",
            "language": "en",
            "status": "failed",
            "reasons": ["not_json"],
            "model_version": "7",
            "index": "reviews-v1",
            "snippet_chunk_ids": ["c1"],
            "snippet_stars": [5],
            "answer_json": None,
            "raw_text": '{"pros": [{"text": "gr\\u00c3\\u00a9at',
        }
        for n in range(count)
    ]
    uri = storage.join(summary_lineage.run_uri(get_settings().lake_uri, f"{day:%Y%m%d}T0500"), "part.parquet")
    with storage.open_uri(uri, "wb") as handle:
        pq.write_table(pa.Table.from_pylist(rows), handle)


def test_a_quiet_day_is_judged_and_act_skips(monitoring_dag) -> None:
    run = monitoring_dag.test(run_conf={"day": "2020-02-01"})
    assert run.state == "success"
    assert states(run) == {"pick_day": "success", "score": "success", "publish": "success", "act": "skipped"}


def test_a_warning_three_days_running_alerts_and_announces_the_breach(monitoring_dag) -> None:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    from common import storage
    from common.assets import latest_event_extra
    from common.settings import get_settings
    from pipelines.monitoring.verdict import METRICS_FILE, daily_uri

    settings = get_settings()
    day = date(2020, 1, 3)
    for back in (2, 1):  # the two days before already breached the format-failure warning
        earlier = day - timedelta(days=back)
        garbled_day(earlier, 3)
        assert monitoring_dag.test(run_conf={"day": earlier.isoformat()}).state == "success"
        assert storage.read_json(storage.join(daily_uri(settings.lake_uri, earlier), METRICS_FILE))[
            "warnings"
        ]
    garbled_day(day, 3)
    run = monitoring_dag.test(run_conf={"day": day.isoformat()})
    assert run.state == "success" and states(run)["act"] == "success"

    extra = latest_event_extra("summary_quality_breach")
    assert extra["day"] == "2020-01-03"
    assert extra["critical"] == ["format_failure_rate 1 is above its ceiling 0.02 (critical, 3 days running)"]
    alerts = Path(settings.resolve_path(settings.alerts.local_file)).read_text(encoding="utf-8").splitlines()
    assert json.loads(alerts[-1])["event"] == "summary_quality_breach"
    with create_session() as session:
        queued = session.query(AssetDagRunQueue).filter_by(target_dag_id="summarizer_finetuning").count()
    assert queued >= 1  # the fine-tuning DAG is scheduled on this Asset: its run is queued
