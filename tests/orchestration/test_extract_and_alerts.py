"""Extract from the source database, and failure alerts in both profiles."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest

from common.alerts import alert_subject, failure_message, send_alert
from common.schemas import RAW_REVIEW
from common.settings import load_settings
from pipelines.ingestion.extract import extract_window
from tests.orchestration.aws_env import AWS_PROFILE_ENV

ROWS = [
    # review_id, product_id, star_rating, review_text, created_at, helpful_votes, verified
    ("r1", "p1", 5, "Great kettle 😀", "2026-11-19T08:00:00+00:00", 3, 1),
    ("r2", "p1", "five", 12345, "2026-11-19T09:00:00+00:00", 0, 0),
    ("r3", None, None, b"\xff\xfebytes", "2026-11-19T10:00:00+00:00", None, None),
    ("r0", "p2", 4, "before the window", "2026-11-18T23:59:59+00:00", 1, 1),
    ("r9", "p2", 4, "after the window", "2026-11-20T00:00:00+00:00", 1, 1),
]


@pytest.fixture
def source(tmp_path, monkeypatch):
    db = tmp_path / "source.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE reviews (review_id TEXT, product_id TEXT, star_rating, review_text, "
            "created_at TEXT, helpful_votes INTEGER, verified_purchase INTEGER)"
        )
        conn.executemany("INSERT INTO reviews VALUES (?,?,?,?,?,?,?)", ROWS)
    monkeypatch.setenv("LLMOPS_SOURCE__SQLITE_PATH", str(db))
    monkeypatch.setenv("LLMOPS_INGESTION__EXTRACT_BATCH_ROWS", "2")  # several fetches for three rows
    return load_settings("local")


def test_extract_reads_the_window_only_and_keeps_raw_values(source, tmp_path):
    start, end = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    result = extract_window(source, start, end, f"file://{tmp_path}/raw")
    assert result["extracted_count"] == 3
    table = pq.read_table(tmp_path / "raw" / "part-00000.parquet")
    assert table.schema.equals(RAW_REVIEW)
    rows = table.to_pylist()
    assert [r["review_id"] for r in rows] == ["r1", "r2", "r3"]
    assert rows[0]["review_text"] == "Great kettle 😀" and rows[0]["text_type"] == "str"
    assert (
        rows[1]["star_rating"] == "five" and rows[1]["review_text"] is None and rows[1]["text_type"] == "int"
    )
    assert (
        rows[2]["text_type"] == "bytes" and rows[2]["product_id"] is None and rows[2]["star_rating"] is None
    )
    assert rows[0]["created_at"] == datetime(2026, 11, 19, 8, tzinfo=UTC)


def test_extract_of_an_empty_window_writes_an_empty_file(source, tmp_path):
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    assert extract_window(source, start, end, f"file://{tmp_path}/raw")["extracted_count"] == 0
    assert pq.read_table(tmp_path / "raw" / "part-00000.parquet").num_rows == 0


def test_extract_refuses_an_inverted_window(source, tmp_path):
    start = datetime(2026, 11, 19, tzinfo=UTC)
    with pytest.raises(ValueError, match="inverted"):
        extract_window(source, start, start, f"file://{tmp_path}/raw")


class _TI:
    dag_id, task_id, run_id, try_number, log_url = "d", "t", "r", 2, "http://127.0.0.1:8080/log"


def test_local_alert_is_a_json_line(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_ALERTS__LOCAL_FILE", str(tmp_path / "alerts.jsonl"))
    message = failure_message({"task_instance": _TI(), "exception": ValueError("boom")})
    send_alert(message, load_settings("local"))
    line = json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[0])
    assert line["dag_id"] == "d" and line["task_id"] == "t" and line["error"] == "ValueError"
    assert line["run_id"] == "r" and line["try_number"] == 2 and line["log_url"] == _TI.log_url


LEAKY = ValueError("row r7: 'Loved it, write me at jane.doe@example.com' failed the length check")


def test_an_alert_never_carries_the_exception_text(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_ALERTS__LOCAL_FILE", str(tmp_path / "alerts.jsonl"))
    send_alert(failure_message({"task_instance": _TI(), "exception": LEAKY}), load_settings("local"))
    written = (tmp_path / "alerts.jsonl").read_text()
    assert "jane.doe@example.com" not in written and "Loved it" not in written
    assert json.loads(written)["error"] == "ValueError"


def test_aws_alert_is_published_to_sns(monkeypatch, aws_endpoint):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    sns = boto3.client("sns", endpoint_url=aws_endpoint, region_name="eu-west-1")
    sqs = boto3.client("sqs", endpoint_url=aws_endpoint, region_name="eu-west-1")
    topic = sns.create_topic(Name="llmops-alerts-test")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("LLMOPS_ALERTS_TOPIC_ARN", topic)
    send_alert(failure_message({"task_instance": _TI(), "exception": LEAKY}), load_settings("aws"))
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(received[0]["Body"])
    body = json.loads(envelope["Message"])
    assert body["dag_id"] == "d" and body["try_number"] == 2 and body["error"] == "ValueError"
    assert envelope["Subject"] == "[llmops] d.t failed"
    assert "jane.doe@example.com" not in received[0]["Body"] and "Loved it" not in received[0]["Body"]


def test_an_alert_that_is_no_task_failure_says_what_happened_in_its_subject() -> None:
    breach = {"event": "summary_quality_breach", "dag_id": "summary_quality_monitoring", "task_id": "act"}
    assert alert_subject(breach) == "[llmops] summary_quality_monitoring.act: summary quality breach"
    assert alert_subject({"dag_id": "d", "task_id": "t"}) == "[llmops] d.t failed"
