"""Shared test set-up: every test runs against a throw-away data folder and Airflow home.

The variables are set at import time, before any test module imports Airflow or reads settings, so
nothing a test does can touch the repository's own `.local/` or a real AWS account.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_SCRATCH = Path(tempfile.mkdtemp(prefix="llmops-tests-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)

os.environ.setdefault("LLMOPS_PROFILE", "local")
os.environ["LLMOPS_HOME"] = str(REPO)
os.environ["LLMOPS_DATA_DIR"] = str(_SCRATCH / "data")
os.environ["AIRFLOW_HOME"] = str(_SCRATCH / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# No test may reach AWS: fake credentials, and boto3 refuses to find real ones.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}.items():
    os.environ[key] = value


@pytest.fixture
def aws_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on loopback, private to the test, as the endpoint of all AWS calls it makes."""
    from tests.aws_server import aws_endpoint_env

    with aws_endpoint_env(monkeypatch) as endpoint:
        yield endpoint
