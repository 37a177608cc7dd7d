"""Failure notifications: one callback for every DAG, two destinations (`alerts.destination`).

`file` (local) appends a JSON line to `alerts.local_file` that a person (or a test) can read; `sns` (aws)
publishes to the SNS topic named by `alerts.sns_topic_arn` with the amazon provider's SNS notifier,
through the Airflow AWS connection. The message names the DAG, task, run, try, log URL and the type of the
error, never its text: an exception's message can quote task data (a review, an e-mail address), and
alerts leave the platform for inboxes and chat. The task's log, behind its access control, has the rest.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.settings import Settings, get_settings

log = logging.getLogger(__name__)


def failure_message(context: dict[str, Any]) -> dict[str, Any]:
    """What an alert says: where the failure is and how to open its log, nothing the task handled."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    return {
        "event": "task_failed",
        "at": datetime.now(UTC).isoformat(),
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "log_url": getattr(ti, "log_url", None),
        "error": type(exception).__name__ if exception else None,
    }


def alert_subject(message: dict[str, Any]) -> str:
    """`[llmops] dag.task failed`, or for another event (a quality breach, summaries that failed for
    good) the event's words: an inbox shows what happened before anyone opens the message."""
    event = message.get("event") or "task_failed"
    what = " failed" if event == "task_failed" else ": " + event.replace("_", " ")
    return f"[llmops] {message['dag_id']}.{message['task_id']}{what}"[:100]


def send_alert(message: dict[str, Any], settings: Settings) -> None:
    if settings.alerts.destination == "sns":
        from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

        assert settings.alerts.sns_topic_arn is not None  # checked when the settings were loaded
        notifier = SnsNotifier(
            aws_conn_id=settings.alerts.aws_conn_id,
            target_arn=settings.alerts.sns_topic_arn,
            subject=alert_subject(message),
            message=json.dumps(message, default=str),
        )
        # `notify`, not the notifier's call: the message is final, not a template to render.
        notifier.notify({})
        return
    path = Path(settings.resolve_path(settings.alerts.local_file))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(message, default=str) + "\n")


def on_task_failure(context: dict[str, Any]) -> None:
    """`on_failure_callback` of every task. A broken alert path is logged, never raised: the task has
    already failed and its own error must stay the one people see."""
    message = failure_message(context)
    log.error("task failed: %s", message)
    try:
        send_alert(message, get_settings())
    except Exception:
        log.exception("could not deliver the failure alert")
