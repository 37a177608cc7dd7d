"""Typed settings: one object, loaded from the shared pipeline file, a profile file and the environment.

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
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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


# --- sections -------------------------------------------------------------------------------


class SourceSettings(BaseModel):
    kind: Literal["sqlite", "postgres"]
    table: str = "reviews"
    sqlite_path: str | None = None
    conn_id: str | None = None  # Airflow connection of the source database (aws)


class SageMakerSettings(BaseModel):
    image_uri: str
    role_arn: str
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_s: int = 7200
    check_interval_s: int = 60
    max_attempts: int = 150
    aws_conn_id: str = "aws_default"
    # The VPC the jobs run in (the OpenSearch domain is reachable only there); comma-separated ids.
    subnet_ids: str = ""
    security_group_ids: str = ""


class StepSettings(BaseModel):
    runner: Literal["subprocess", "sagemaker"]
    python: str | None = None  # interpreter of the task environment (subprocess runner)
    timeout_s: int = 7200
    sagemaker: SageMakerSettings | None = None


class DvcSettings(BaseModel):
    registry_url: str  # git repository that holds the .dvc files (a path locally)
    remote_url: str  # where DVC pushes the content (a folder locally, s3:// in aws)
    git_user_name: str = "llmops-pipelines"
    git_user_email: str = "llmops-pipelines@localhost"


class AlertSettings(BaseModel):
    sns_topic_arn: str | None = None  # aws: failures are published here
    aws_conn_id: str = "aws_default"
    local_file: str = "alerts.jsonl"  # local: failures are appended here


class LanguageSettings(BaseModel):
    min_chars: int = 20
    min_confidence: float = 0.80
    seed: int = 0


class DedupSettings(BaseModel):
    near_duplicate_jaccard: float = 0.85
    num_perm: int = 64
    bands: int = 16
    max_candidates: int = 32  # LSH candidates verified per review, most band matches first
    state_cache_mib: int = 16  # page cache of the on-disk duplicate state (SQLite)


class PiiSettings(BaseModel):
    entities: list[str]
    spacy_models: dict[str, str] = Field(default_factory=dict)
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "ES", "IT", "NL"]
    )
    phone_leniency: int = 2  # python-phonenumbers Leniency: 0 POSSIBLE .. 3 EXACT_GROUPING


class ToxicitySettings(BaseModel):
    checkpoints: dict[str, str] = Field(default_factory=dict)
    batch_size: int = 32
    quantize_int8: bool = True
    max_tokens: int = 256
    num_threads: int = 0
    cache_dir: str | None = None  # downloaded (s3://) and rewritten checkpoints; None: the temp folder


class PatternFileSettings(BaseModel):
    patterns_file: str


class IngestionSettings(BaseModel):
    languages: list[str]
    extract_batch_rows: int = 5000
    batch_size: int = 512
    max_raw_chars: int = 100_000
    max_clean_chars: int = 5000
    min_words: int = 5
    min_letter_share: float = 0.4  # letters among non-punctuation, non-emoji characters; below: garbled
    language: LanguageSettings = LanguageSettings()
    dedup: DedupSettings = DedupSettings()
    pii: PiiSettings
    toxicity: ToxicitySettings = ToxicitySettings()
    injection: PatternFileSettings
    spam: PatternFileSettings


class TrackingSettings(BaseModel):
    uri: str  # MLflow tracking URI: sqlite:///... locally, the tracking server in aws
    artifact_root: str | None = None  # where new experiments keep artifacts; None: the server's default
    experiment_prefix: str = "llmops"


class EmbeddingModelSettings(BaseModel):
    kind: Literal["sentence_transformers", "bedrock"]
    version: str  # model id and revision: recorded with every vector, part of chunk ids and index names
    dimension: int
    max_tokens: int  # the model's input limit in its tokens, special tokens included
    # sentence_transformers: the model folder, from a package that ships it or a path (local or s3://)
    package: str | None = None
    path: str | None = None
    device: str = "cpu"
    batch_size: int = 64
    # bedrock: one request per text
    model_id: str | None = None
    region: str | None = None
    aws_conn_id: str = "aws_default"
    endpoint_url: str | None = None  # None: the regional endpoint
    concurrency: int = 16
    max_attempts: int = 8  # botocore adaptive retries, throttling included
    timeout_s: float = 30.0
    tokenizer_from: str = "minilm"  # Titan publishes no tokenizer: chunks are sized with this model's


class EmbeddingSettings(BaseModel):
    model: str  # key into `models`
    models: dict[str, EmbeddingModelSettings]
    overlap_tokens: int = 32  # sentences carried from one chunk of a long review into the next
    read_batch_rows: int = 2048  # reviews chunked and encoded per batch
    cache_dir: str | None = None  # downloaded (s3://) model folders
    index_retention_days: int = 7  # indices an alias no longer points to are dropped after this
    eval_queries: int = 200  # queries of the index quality gate


class HnswSettings(BaseModel):
    m: int = 16  # graph degree: recall and memory grow with it
    ef_construction: int = 128  # build-time candidate list: better graph, slower indexing
    ef_search: int = 100  # query-time candidate list (faiss/nmslib; Lucene searches with k)


class LanceDbSettings(BaseModel):
    uri: str  # the store folder (local profile)
    optimize_after_rows: int = 50_000  # unindexed rows that trigger folding them into the indexes
    write_batch_rows: int = 50_000  # rows per merge-insert


class OpenSearchSettings(BaseModel):
    endpoint: str  # https://... of the domain or Serverless collection
    service: Literal["es", "aoss"] = "es"  # managed domain, or Serverless collection
    auth: Literal["sigv4", "none"] = "sigv4"  # none: a test cluster on loopback
    region: str | None = None  # None: the AWS session's region
    aws_conn_id: str | None = "aws_default"  # Airflow connection whose credentials sign requests
    engine: Literal["lucene", "faiss"] = "lucene"
    hnsw: HnswSettings = HnswSettings()
    shards: int = 1  # managed domain only; Serverless manages its own
    replicas: int = 1
    bulk_chunk_size: int = 500  # documents per bulk request
    bulk_max_bytes: int = 8 * 1024 * 1024  # bytes per bulk request (under the 10 MiB request limit)
    bulk_max_retries: int = 5  # retries of documents rejected with 429
    bulk_initial_backoff_s: float = 2.0
    msearch_max_searches: int = 300  # searches per _msearch request
    timeout_s: float = 60.0
    max_retries: int = 3  # transport retries on connection errors and 502/503/504
    pool_maxsize: int = 10
    verify_certs: bool = True


class VectorStoreSettings(BaseModel):
    backend: Literal["lancedb", "opensearch"]
    alias: str = "reviews"  # what readers query; it moves to a new index after the quality gate
    lancedb: LanceDbSettings | None = None
    opensearch: OpenSearchSettings | None = None

    @model_validator(mode="after")
    def _backend_configured(self) -> VectorStoreSettings:
        if getattr(self, self.backend) is None:
            raise ValueError(
                f"vector_store.backend is {self.backend!r} but vector_store.{self.backend} is missing"
            )
        return self


class RetrievalSettings(BaseModel):
    k_positive: int = 5  # most helpful snippets with stars >= positive_min_stars
    k_negative: int = 5  # most helpful snippets with stars <= negative_max_stars
    k_recent: int = 3  # most recent snippets, any rating
    positive_min_stars: int = 4
    negative_max_stars: int = 2
    semantic_k: int = 5  # snippets per semantic query
    # language -> query name -> query text; a language without its own entry uses default_language's
    semantic_queries: dict[str, dict[str, str]] = Field(default_factory=dict)
    default_language: str = "en"
    hybrid_candidates: int = 50  # hits from each of k-NN and BM25 before fusion
    rrf_k: int = 60  # reciprocal rank fusion constant: 1 / (rrf_k + rank)


class IngestionThresholds(BaseModel):
    toxicity_quarantine: float
    max_quarantine_rate: float
    min_clean_rows: int = 1


class EmbeddingThresholds(BaseModel):
    k: int  # recall and MRR are measured at this many hits
    min_recall_at_k: float
    min_mrr: float


class Thresholds(BaseModel):
    """`config/thresholds.yaml`: the gates, read by pipelines, tests and Terraform alike."""

    version: int
    ingestion: IngestionThresholds
    embedding: EmbeddingThresholds


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLMOPS_", env_nested_delimiter="__", extra="ignore")

    profile: Literal["local", "aws"]
    home: Path
    lake_uri: str
    source: SourceSettings
    steps: StepSettings
    dvc: DvcSettings
    alerts: AlertSettings = AlertSettings()
    ingestion: IngestionSettings
    embedding: EmbeddingSettings
    tracking: TrackingSettings
    vector_store: VectorStoreSettings
    retrieval: RetrievalSettings = RetrievalSettings()
    thresholds: Thresholds

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides what the YAML files (passed as init values) say.
        return (env_settings, init_settings)

    def resolve_path(self, value: str) -> Path:
        """A config path made absolute against the project home."""
        path = Path(value)
        return path if path.is_absolute() else self.home / path


# --- loading --------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _expand(value: Any, env: dict[str, str], missing: set[str]) -> Any:
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


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"configuration file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must hold a mapping at the top level")
    return data


def load_settings(profile: str | None = None) -> Settings:
    """Build the settings for `profile` (default: `$LLMOPS_PROFILE`, else `local`)."""
    profile = profile or os.environ.get(PROFILE_ENV, "local")
    cdir = config_dir()
    profile_file = cdir / "profiles" / f"{profile}.yaml"
    if not profile_file.is_file():
        known = sorted(p.stem for p in (cdir / "profiles").glob("*.yaml"))
        raise SettingsError(f"unknown profile {profile!r}; known profiles: {known}")
    home = project_home()
    env = {DATA_DIR_ENV: str(home / ".local"), **os.environ, HOME_ENV: str(home)}
    raw = _deep_merge(_read_yaml(cdir / "pipeline.yaml"), _read_yaml(profile_file))
    raw["thresholds"] = _read_yaml(cdir / "thresholds.yaml")
    missing: set[str] = set()
    expanded = _expand(raw, env, missing)
    if missing:
        raise SettingsError(
            f"profile {profile!r} needs these environment variables: {', '.join(sorted(missing))}"
        )
    expanded["home"] = str(home)
    expanded["profile"] = profile
    return Settings(**expanded)


@lru_cache(maxsize=4)
def get_settings(profile: str | None = None) -> Settings:
    """Cached `load_settings`, for code that asks many times in one process."""
    return load_settings(profile)


def load_thresholds() -> Thresholds:
    """Only the thresholds, without a profile: for gates and tests that need nothing else."""
    return Thresholds(**_read_yaml(config_dir() / "thresholds.yaml"))
