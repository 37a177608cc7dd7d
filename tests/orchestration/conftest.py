"""The stand-in steps of these tests (`tests.orchestration.echo_step` ...) live in the `tests` package, which
is not installed. Steps run with a safe path (nothing from the working folder on `sys.path`) and keep only
a few of the orchestrator's variables, so the tests hand them the repository root through PYTHONPATH."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def stand_in_steps_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    from common import steps

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setattr(steps, "INHERITED_VARIABLES", (*steps.INHERITED_VARIABLES, "PYTHONPATH"))


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The session's Airflow metadata database (its home: tests/conftest.py), migrated once."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
