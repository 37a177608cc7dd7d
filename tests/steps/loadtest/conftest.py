"""The load test reads its review snippets from a file: written here once, as `make load-test` writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import load_settings
from sample_source import payloads


@pytest.fixture(scope="session", autouse=True)
def payloads_file() -> Path:
    """The configured `load_test.payloads_file` (in the session's scratch data folder), by the command
    the Makefile and the workflow run, with its defaults from the settings."""
    payloads.main([])
    settings = load_settings().load_test
    assert settings is not None
    return Path(settings.payloads_file)
