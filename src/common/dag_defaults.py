"""What every DAG of the project shares: owner, retries with exponential backoff, the failure callback.

Kept in one place so the DAG-integrity tests can demand it of every DAG file, present and future.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from common.alerts import on_task_failure

OWNER = "llmops-data-platform"
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def default_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
    }
    args.update(overrides)
    return args
