"""Loading the settings: one object from the shared pipeline file, a profile file and the environment.

The profile (`local` or `aws`) is configuration, not a code fork: `config/pipeline.yaml` holds the
defaults every profile shares, `config/profiles/<profile>.yaml` overrides them, and environment variables
`LLMOPS_<SECTION>__<KEY>` override both. `${VAR}` in a YAML value is replaced from the environment, and a
missing variable is an error naming it, so a mis-configured MWAA environment fails loudly at parse time
instead of writing to a bucket called `${LLMOPS_LAKE_BUCKET}`.

Reading settings touches only files and the environment: it is safe in a DAG file at parse time (no
Airflow Variable or Connection lookups).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    YamlConfigSettingsSource,
)
from pydantic_settings.sources import ConfigFileSourceType

from common.settings.models import Settings, Thresholds

PROFILE_ENV = "LLMOPS_PROFILE"
HOME_ENV = "LLMOPS_HOME"
DATA_DIR_ENV = "LLMOPS_DATA_DIR"
CONFIG_DIR_ENV = "LLMOPS_CONFIG_DIR"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SettingsError(ValueError):
    """The configuration cannot be loaded as written."""


def project_home() -> Path:
    """The folder relative paths in the config resolve against: `LLMOPS_HOME`, else the folder holding
    `config/` found above this file (the repository root locally, the DAGs folder on MWAA)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).resolve()
    for parent in Path(__file__).resolve().parents:
        if (parent / "config" / "pipeline.yaml").is_file():
            return parent
    return Path.cwd()


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV) or project_home() / "config")


def _read_yaml(path: Path | Traversable) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"configuration file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a mapping at the top level")
    return data


def _expand(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, missing) for v in value]
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                missing.add(name)
                return match.group(0)
            return env[name]

        return _VAR.sub(sub, value)
    return value


class ProfileFilesSource(YamlConfigSettingsSource):
    """A profile's configuration files as one settings source: `pipeline.yaml` deep-merged with
    `profiles/<profile>.yaml` (mappings merge key by key; any other value, a list included, is replaced
    whole), `thresholds.yaml` under `thresholds`, then every `${VAR}` replaced from `env`.

    Placeholders are replaced after merging, so one the profile overrides never needs its variable; values
    from the environment are taken as they are, never expanded.
    """

    def __init__(self, settings_cls: type[BaseSettings], cdir: Path, profile: str, env: Mapping[str, str]):
        profile_file = cdir / "profiles" / f"{profile}.yaml"
        if not profile_file.is_file():
            known = sorted(p.stem for p in (cdir / "profiles").glob("*.yaml"))
            raise SettingsError(f"unknown profile {profile!r}; known profiles: {known}")
        files = [cdir / "pipeline.yaml", profile_file]
        for path in files:  # the base class would skip a missing file silently
            if not path.is_file():
                raise SettingsError(f"configuration file not found: {path}")
        self.profile = profile
        self.thresholds_file = cdir / "thresholds.yaml"
        self.env = env
        super().__init__(settings_cls, yaml_file=files, deep_merge=True)

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        return _read_yaml(file_path)

    def _read_files(self, files: ConfigFileSourceType | None, deep_merge: bool = False) -> dict[str, Any]:
        merged = super()._read_files(files, deep_merge)
        merged["thresholds"] = _read_yaml(self.thresholds_file)
        missing: set[str] = set()
        expanded: dict[str, Any] = _expand(merged, self.env, missing)
        if missing:
            raise SettingsError(
                f"profile {self.profile!r} needs these environment variables: {', '.join(sorted(missing))}"
            )
        return expanded


def load_settings(profile: str | None = None) -> Settings:
    """Build the settings for `profile` (default: `$LLMOPS_PROFILE`, else `local`)."""
    profile = profile or os.environ.get(PROFILE_ENV, "local")
    home = project_home()
    env = {DATA_DIR_ENV: str(home / ".local"), **os.environ, HOME_ENV: str(home)}
    sources: tuple[PydanticBaseSettingsSource, ...] = (
        # Highest priority first: LLMOPS_<SECTION>__<KEY> variables (LLMOPS_PROFILE and LLMOPS_HOME
        # included), then the profile and home this load resolved, then the files.
        EnvSettingsSource(Settings),
        InitSettingsSource(Settings, {"profile": profile, "home": str(home)}),
        ProfileFilesSource(Settings, config_dir(), profile, env),
    )
    return Settings(_build_sources=(sources, {}))


@lru_cache(maxsize=4)
def get_settings(profile: str | None = None) -> Settings:
    """Cached `load_settings`, for code that asks many times in one process."""
    return load_settings(profile)


def load_thresholds() -> Thresholds:
    """Only the thresholds, without a profile: for gates and tests that need nothing else."""
    return Thresholds(**_read_yaml(config_dir() / "thresholds.yaml"))
