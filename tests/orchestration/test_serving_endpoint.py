"""Where DAG tasks find the served summarizer: the settings locally, the Airflow connection in `aws`."""

from __future__ import annotations

import json

import pytest

from common.serving.client import ServingConfigError, endpoint_from_settings
from common.settings import Settings, load_settings


def _without_base_url() -> Settings:
    settings = load_settings()
    return settings.model_copy(update={"serving": settings.serving.model_copy(update={"base_url": None})})


def test_the_airflow_connection_gives_the_endpoint_and_its_key(monkeypatch) -> None:
    settings = _without_base_url()
    conn = {"conn_type": "http", "host": "https://vllm.example.invalid", "password": "from-the-secret"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{settings.serving.connection_id.upper()}", json.dumps(conn))
    monkeypatch.setenv(settings.serving.api_key_env, "not-this-one")
    assert endpoint_from_settings(settings) == ("https://vllm.example.invalid", "from-the-secret")


def test_a_connection_with_a_bare_host_is_built_into_a_url(monkeypatch) -> None:
    settings = _without_base_url()
    conn = {"conn_type": "http", "host": "vllm.internal", "schema": "http", "port": 8000}
    monkeypatch.setenv(f"AIRFLOW_CONN_{settings.serving.connection_id.upper()}", json.dumps(conn))
    monkeypatch.delenv(settings.serving.api_key_env, raising=False)
    assert endpoint_from_settings(settings) == ("http://vllm.internal:8000", None)


def test_a_connection_without_a_host_is_a_clear_error(monkeypatch) -> None:
    settings = _without_base_url()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{settings.serving.connection_id.upper()}", json.dumps({"conn_type": "http"})
    )
    with pytest.raises(ServingConfigError, match="has no host"):
        endpoint_from_settings(settings)


def test_a_base_url_in_the_settings_wins_over_the_connection(monkeypatch) -> None:
    settings = load_settings()
    monkeypatch.setenv(settings.serving.api_key_env, "local-key")
    assert endpoint_from_settings(settings) == (settings.serving.base_url, "local-key")
