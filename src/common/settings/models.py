"""The settings' typed sections: what every key of `config/pipeline.yaml`, the profile files and
`config/thresholds.yaml` means, with its default and its checks.

How the files, the profile and the environment are layered into one `Settings` is `common.settings.loader`'s
work; nothing here reads a file or the environment.
"""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # The images of the other step environments, by name (`evaluation`: giskard and ragas, whose numpy<2
    # the task image cannot take); a step names its environment, `tasks` is `image_uri`.
    images: dict[str, str] = {}


class StepSettings(BaseModel):
    runner: Literal["subprocess", "sagemaker"]
    python: str | None = None  # interpreter of the task environment (subprocess runner)
    # Interpreters of the other step environments by name (subprocess runner), as `sagemaker.images`.
    pythons: dict[str, str] = {}
    timeout_s: int = Field(default=7200, gt=0)  # subprocess runner: a step running longer is killed
    kill_grace_s: float = Field(default=10.0, ge=0)  # between SIGTERM and SIGKILL of a timed-out step
    sagemaker: SageMakerSettings | None = None


class AirflowSettings(BaseModel):
    """Limits every task of every DAG gets (`common.dag_defaults`)."""

    execution_timeout_s: int = Field(default=3600, gt=0)  # worker tasks (plan, extract, announce ...)
    # Heavy step and training tasks: the runner's own limit (steps.timeout_s, or the SageMaker job's) plus
    # this, so the runner stops the step first and the task fails with the step's own reason.
    step_timeout_margin_s: int = Field(default=600, gt=0)


class DvcSettings(BaseModel):
    registry_url: str  # git repository that holds the .dvc files (a path locally)
    remote_url: str  # where DVC pushes the content (a folder locally, s3:// in aws)
    git_user_name: str = "llmops-pipelines"
    git_user_email: str = "llmops-pipelines@localhost"
    # Whether the pipelines may create a missing registry (a bare git repository at a local path); when
    # not, a missing registry is an error: it is infrastructure, created with the rest of the estate.
    create_registry: bool = False


class AlertSettings(BaseModel):
    destination: Literal["file", "sns"] = "file"  # where failure alerts go
    sns_topic_arn: str | None = None  # sns: failures are published here
    aws_conn_id: str = "aws_default"
    local_file: str = "alerts.jsonl"  # file: failures are appended here, one JSON object a line

    @model_validator(mode="after")
    def _topic_for_sns(self) -> AlertSettings:
        if self.destination == "sns" and not self.sns_topic_arn:
            raise ValueError("alerts.destination is 'sns' but alerts.sns_topic_arn is not set")
        return self


class LakeSettings(BaseModel):
    """Who looks after the data lake at `lake_uri`."""

    # true: the lake's storage expires the data past `ingestion.retention` itself (the S3 bucket's lifecycle
    # rules, terraform/modules/storage), so the ingestion DAG's cleanup leaves retention to it; false: the
    # cleanup task deletes that data (a lake on a local filesystem only).
    retention_by_lifecycle_rules: bool = False


class LanguageSettings(BaseModel):
    min_chars: int = 20
    min_confidence: float = 0.80
    seed: int = 0
    # Votes for an outside language count for the best configured one when the text is at most this
    # much less likely in it (log-likelihood under langdetect's profiles, nats): a prior for the set.
    # None: no folding.
    fold_margin_nats: float | None = Field(8.0, ge=0.0)


class DedupSettings(BaseModel):
    near_duplicate_jaccard: float = 0.85
    num_perm: int = 64
    bands: int = 16
    max_candidates: int = 32  # LSH candidates verified per review, most band matches first
    state_cache_mib: int = 16  # page cache of the on-disk duplicate state (SQLite)
    # Ingestion: days of published clean reviews before a window that its reviews are checked against
    # (0: only the window itself). Unused by decontamination.
    window_days: int = Field(default=30, ge=0)


class PiiSettings(BaseModel):
    entities: list[str]
    spacy_models: dict[str, str] = Field(default_factory=dict)
    # Countries whose national phone formats are read in every review (a German number turns up in a
    # Dutch review too); numbers written with + or 00 are read for any country.
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "ES", "IT", "NL"]
    )


class ToxicitySettings(BaseModel):
    checkpoints: dict[str, str] = Field(default_factory=dict)
    batch_size: int = 32
    quantize_int8: bool = True
    max_tokens: int = 256
    num_threads: int = 0
    cache_dir: str | None = None  # downloaded (s3://) and rewritten checkpoints; None: the temp folder


class PatternFileSettings(BaseModel):
    patterns_file: str


class QuarantineSettings(BaseModel):
    """The key of the HMAC that lets a quarantine row be matched to its source row without holding its
    raw text. The hash must stay stable across runs, so the key is a long-lived secret, never derived."""

    # The variable holding the key (at least 32 characters). Step runners pass on LLMOPS_* variables only.
    hash_key_env: str = "LLMOPS_QUARANTINE_HMAC_KEY"
    # When the variable is unset: a Secrets Manager secret id the step reads with its own role (aws) ...
    hash_key_secret: str | None = None
    # ... or a key file, generated once (local). With neither, the variable is required.
    hash_key_file: str | None = None


class RetentionSettings(BaseModel):
    """Days ingestion data that may hold personal data is kept, counted from when it was written; S3
    lifecycle rules of the lake bucket take the same values (terraform/environments/*/main.tf)."""

    raw_days: int = Field(default=14, ge=1)  # raw extracts (unredacted text) of runs that did not clean up
    quarantine_days: int = Field(default=90, ge=1)  # published quarantine partitions


class IngestionSettings(BaseModel):
    languages: list[str]
    extract_batch_rows: int = 5000
    batch_size: int = 512
    max_raw_chars: int = 100_000
    max_clean_chars: int = 5000
    min_words: int = 5
    min_letter_share: float = 0.4  # letters among non-punctuation, non-emoji characters; below: garbled
    earliest_created_at: date = date(1995, 1, 1)  # older creation times are invalid_created_at
    future_tolerance_hours: float = 24.0  # creation times later than processing time + this: invalid
    max_review_id_chars: int = 128  # longer (normalised) review ids are invalid_review_id
    max_product_id_chars: int = 128  # longer (normalised) product ids are invalid_product_id
    language: LanguageSettings = LanguageSettings()
    dedup: DedupSettings = DedupSettings()
    pii: PiiSettings
    toxicity: ToxicitySettings = ToxicitySettings()
    injection: PatternFileSettings
    spam: PatternFileSettings
    quarantine: QuarantineSettings = QuarantineSettings()
    retention: RetentionSettings = RetentionSettings()


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
    # An Airflow AWS connection to sign with, or None for boto3's default chain (a SageMaker job's role,
    # where the heavy steps that embed run).
    aws_conn_id: str | None = None
    endpoint_url: str | None = None  # None: the regional endpoint
    concurrency: int = 16
    max_attempts: int = 8  # botocore standard retries (exponential backoff), throttling included
    timeout_s: float = 30.0
    tokenizer_from: str = "minilm"  # Titan publishes no tokenizer: chunks are sized with this model's


class RetrievalEvalSettings(BaseModel):
    """The index gate's labelled queries (`pipelines.embedding.retrieval_eval`): where they come from."""

    # file: a JSONL of {query, language, relevant}; dvc: that JSONL's path in the DVC registry (a curated
    # set)
    source: Literal["file", "dvc"]
    uri: str
    version: str | None = None  # dvc: the curated set's tag or commit (None: the registry's latest)
    candidates: int = 50  # chunks fetched per query, so that k distinct reviews remain


class EmbeddingSettings(BaseModel):
    model: str  # key into `models`
    models: dict[str, EmbeddingModelSettings]
    # key into `models` of the grounding scorer's model (common.grounding); None: the index's model
    grounding_model: str | None = None
    overlap_tokens: int = 32  # sentences carried from one chunk of a long review into the next
    read_batch_rows: int = 2048  # reviews chunked and encoded per batch
    cache_dir: str | None = None  # downloaded (s3://) model folders
    index_retention_days: int = 7  # indices an alias no longer points to are dropped after this
    evaluation: RetrievalEvalSettings  # the index quality gate's evaluation set
    # Airflow pool (one slot) every task that writes to the vector store runs in: embed, gate, forget
    writers_pool: str = "vector_store_writers"

    @model_validator(mode="after")
    def _known_models(self) -> EmbeddingSettings:
        for field, key in (("model", self.model), ("grounding_model", self.grounding_model)):
            if key is not None and key not in self.models:
                raise ValueError(
                    f"embedding.{field} {key!r} is not one of embedding.models {sorted(self.models)}"
                )
        return self


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
    # Airflow connection whose credentials sign requests (needs Airflow: a worker); None: boto3's default
    # chain (a SageMaker job's role, or the developer's credentials)
    aws_conn_id: str | None = None
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


class LoadTestProfile(BaseModel):
    """One traffic shape of the load test: a warm-up ramp, a steady load and periodic bursts. Flat traffic
    hides what queue-based autoscaling has to absorb (the reference design's latency death spiral)."""

    duration_s: float = Field(gt=0)  # the whole run, warm-up included
    warmup_s: float = Field(ge=0)  # users ramp linearly from 0 to `users` over this
    users: int = Field(ge=1)  # concurrent users of the steady load
    burst_factor: float = Field(ge=1)  # concurrent users during a burst, as a multiple of `users`
    burst_every_s: float = Field(gt=0)  # after the warm-up, one burst ends every this many seconds
    burst_s: float = Field(ge=0)  # how long a burst lasts (0: no bursts)
    burst_spawn_rate: float = Field(gt=0)  # users started (and stopped) per second as a burst comes and goes
    wait_s: tuple[float, float]  # (min, max) pause of one user between its requests

    @model_validator(mode="after")
    def _consistent(self) -> LoadTestProfile:
        if self.burst_s >= self.burst_every_s:
            raise ValueError("burst_s must be shorter than burst_every_s, or the load is one long burst")
        if not 0 <= self.wait_s[0] <= self.wait_s[1]:
            raise ValueError("wait_s is (min, max) with 0 <= min <= max")
        return self


class LoadTestSettings(BaseModel):
    """The release engineers' load test (`python -m pipelines.loadtest`): traffic and request shape."""

    profile: str  # the key into `profiles` a run uses unless told otherwise
    profiles: dict[str, LoadTestProfile]
    api_key_env: str = "LOADTEST_API_KEY"  # the environment variable holding the bearer key
    request_timeout_s: float = Field(default=120.0, gt=0)  # no answer by then: a failed request
    max_tokens: int = 384  # generation budget of one summary
    temperature: float = 0.0
    snippets: tuple[int, int] = (10, 15)  # (min, max) review snippets in one request
    corpus_products: int = Field(default=40, ge=1)  # sample-generator products the snippets come from
    seed: int = 0  # same seed, same sequence of request bodies
    # The review snippets, written by `python -m sample_source.payloads` for `seed` and `corpus_products`
    payloads_file: str

    @model_validator(mode="after")
    def _known_profile(self) -> LoadTestSettings:
        if self.profile not in self.profiles:
            raise ValueError(f"load_test.profile {self.profile!r} is not one of {sorted(self.profiles)}")
        if not 1 <= self.snippets[0] <= self.snippets[1]:
            raise ValueError("load_test.snippets is (min, max) with 1 <= min <= max")
        return self


class LocalServerSettings(BaseModel):
    """The local profile's vLLM server (vLLM's CPU build in `.venv-serving`), started on loopback by
    `make serve` and by `common.serving.local_server.LocalVllmServer` for DAG tasks, tests and the demo."""

    python: str  # the serving environment's interpreter (a version island: vLLM pins its own libraries)
    host: str = "127.0.0.1"  # loopback only
    port: int = Field(default=8000, ge=0, le=65535)  # 0: any free port (tests)
    max_lora_rank: int = Field(default=16, ge=1)  # at least training's lora_rank
    max_loras: int = Field(default=3, ge=1)  # adapters held at once (one per alias)
    max_model_len: int = Field(default=4096, ge=256)
    startup_timeout_s: float = Field(default=300.0, gt=0)  # /health must answer by then
    log_dir: str  # one log file per start, kept after the server stops
    cpu_kvcache_gib: int = Field(default=1, ge=1)  # VLLM_CPU_KVCACHE_SPACE
    extra_args: list[str] = Field(default_factory=list)  # passed to vLLM's api_server unchanged


class ServingSettings(BaseModel):
    """How every caller reaches the served summarizer (`common.serving.client`): one OpenAI-compatible
    endpoint (vLLM), the base model and one LoRA adapter per registry alias under the alias's name."""

    # The endpoint, e.g. http://127.0.0.1:8000. null: the Airflow connection `connection_id` gives it
    # (its host, and its password as the API key), as in `aws`.
    base_url: str | None = None
    connection_id: str = "vllm_default"
    api_key_env: str = "LLMOPS_SERVING_API_KEY"  # the bearer key when no connection gives one (never a file)
    served_base_model: str = "base"  # the name requests use for the base model
    aliases: list[str] = Field(default_factory=lambda: ["champion", "challenger", "candidate"])
    # Where the adapters the aliases point to are exported for the server: a folder locally, the models
    # bucket's serving prefix in `aws` (the EKS pods load <adapters_uri>/<alias>/ when they start).
    adapters_uri: str
    concurrency: int = Field(default=8, ge=1)  # requests in flight at once from one client
    request_timeout_s: float = Field(default=120.0, gt=0)  # one request, connect to last byte
    max_attempts: int = Field(default=5, ge=1)  # tries of one request (429, 5xx, timeouts, resets)
    retry_budget_s: float = Field(default=600.0, gt=0)  # a request's tries and waits together
    backoff_initial_s: float = Field(default=1.0, gt=0)  # first wait; doubles each try, with full jitter
    backoff_max_s: float = Field(default=30.0, gt=0)
    warmup_deadline_s: float = Field(default=900.0, gt=0)  # a scaled-to-zero service answers 503 until then
    health_poll_s: float = Field(default=5.0, gt=0)
    max_tokens: int = Field(default=384, ge=1)  # the decoding batch inference, evaluation and monitoring use
    temperature: float = Field(default=0.0, ge=0)
    # One serving node's hour: what the model card prices 1,000 summaries with, at the load test's rate.
    gpu_hour_price_usd: float = Field(default=1.006, gt=0)
    local: LocalServerSettings | None = None  # the local profile's server; absent in `aws`


class TrainingHyperparameters(BaseModel):
    """What the LoRA training script receives, as `--key value` arguments in every runner.

    SageMaker hands hyperparameters to a job as strings; so does the local subprocess. Every field is one
    argument of `python -m pipelines.training.train`, validated here from its string (`"2e-4"`,
    `"true"`, `"q_proj,v_proj"`), so both runners pass exactly `as_arguments()`.
    """

    model_config = ConfigDict(extra="forbid")

    lora_rank: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # Attention and MLP projections: the same names in Llama, Qwen2 and Mistral.
    lora_target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    learning_rate: float = Field(2e-4, gt=0.0)
    num_train_epochs: float = Field(2.0, gt=0.0)
    max_steps: int = -1  # > 0 overrides num_train_epochs
    per_device_train_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1)
    max_seq_length: int = Field(2048, ge=64)
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    lr_scheduler_type: str = "cosine"
    weight_decay: float = Field(0.0, ge=0.0)
    packing: bool = True
    bf16: bool = False
    gradient_checkpointing: bool = False
    logging_steps: int = Field(10, ge=1)
    eval_steps: int = Field(0, ge=0)  # 0: evaluate once per epoch
    save_steps: int = Field(100, ge=1)
    save_total_limit: int = Field(2, ge=1)
    seed: int = 0

    @field_validator("lora_target_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: Any) -> Any:
        """A comma-separated string (how an argument arrives) or a list literal (JSON, or Python's when a
        template rendered a list), as a list of names."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    pass
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError) as error:
                    raise ValueError(f"not a list of module names: {text!r}") from error
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

    @field_validator("lora_target_modules")
    @classmethod
    def _some_modules(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("LoRA needs at least one target module")
        return value

    def as_hyperparameters(self) -> dict[str, str]:
        """The SageMaker `HyperParameters` map: every value a string."""
        out: dict[str, str] = {}
        for key, value in self.model_dump().items():
            if isinstance(value, bool):
                out[key] = "true" if value else "false"
            elif isinstance(value, list):
                out[key] = ",".join(value)
            else:
                out[key] = str(value)
        return out

    def as_arguments(self) -> list[str]:
        """`--key value` arguments for `pipelines.training.train` (the local subprocess and the job)."""
        return [part for key, value in self.as_hyperparameters().items() for part in (f"--{key}", value)]


class SageMakerTrainingSettings(BaseModel):
    """The SageMaker training job the fine-tuning DAG starts in `aws` (GPU, spot, checkpoints in S3)."""

    image_uri: str
    role_arn: str
    instance_type: str = "ml.g5.2xlarge"
    instance_count: int = 1
    volume_size_gb: int = 100
    use_spot: bool = True
    max_runtime_s: int = 4 * 3600
    max_wait_s: int = 8 * 3600  # spot: the runtime plus the time waiting for capacity
    # Per job, under this prefix; SageMaker syncs the local path there, and back after a spot interruption.
    checkpoint_s3_uri: str
    checkpoint_local_path: str = "/opt/ml/checkpoints"
    output_s3_uri: str  # SageMaker writes <job>/output/model.tar.gz (the adapter) here
    check_interval_s: int = 60
    max_attempts: int = 480  # deferrable wait: check_interval_s x max_attempts must cover max_wait_s
    aws_conn_id: str = "aws_default"

    @model_validator(mode="after")
    def _waits_long_enough(self) -> SageMakerTrainingSettings:
        if self.use_spot and self.max_wait_s < self.max_runtime_s:
            raise ValueError("training.sagemaker.max_wait_s must be at least max_runtime_s for spot training")
        longest = self.max_wait_s if self.use_spot else self.max_runtime_s
        if self.check_interval_s * self.max_attempts < longest:
            raise ValueError("training.sagemaker: check_interval_s x max_attempts is shorter than the job")
        return self


class TrainingSettings(BaseModel):
    """LoRA fine-tuning of the summarizer: the base model, the hyperparameters and where the job runs."""

    # A local folder saved with save_pretrained (local), or an s3:// prefix holding one (aws), which the
    # training job receives as its `base_model` channel.
    base_model: str
    base_model_id: str  # the name recorded with the adapter (the hub id of the production model)
    hyperparameters: TrainingHyperparameters = TrainingHyperparameters()
    torch_threads: int = 0  # CPU training (local): 0 leaves torch's default
    sagemaker: SageMakerTrainingSettings | None = None


class SftGoldenSettings(BaseModel):
    """The golden evaluation set: products held out of every SFT dataset, versioned on their own."""

    registry_path: str = "golden/summaries"
    size: int = Field(200, ge=1)  # products, spread evenly over profiles and languages
    max_profile_holdout: float = Field(0.25, gt=0.0, le=1.0)  # of one profile's references (at least one)
    seed: str = "golden-1"  # salt of the selection order: another seed selects another set


class SftSettings(BaseModel):
    """The SFT dataset builder: references, split, stratification and decontamination parameters."""

    references_uri: str  # curated reference summaries, JSONL (the sample generator's products.jsonl format)
    # Per-review aspect labels (JSONL: review_id, aspects [{aspect, polarity, text}]): with them every
    # example's target is computed from what its own snippets say (pipelines.training.targets); without
    # them the curated reference is checked against each context and cut to what it supports.
    aspect_labels_uri: str | None = None
    registry_path: str = "sft/summaries"
    profiles: list[str] = Field(
        default_factory=lambda: ["mostly_positive", "mixed", "polarized", "mostly_negative"]
    )
    languages: list[str] = Field(default_factory=list)  # empty: ingestion.languages
    validation_share: float = Field(0.15, ge=0.0, lt=1.0)
    split_seed: str = "sft-split-1"
    max_copies: int = Field(3, ge=1)  # oversampling repeats a train example at most this many times in all
    context_batch_products: int = Field(500, ge=1)
    decontamination: DedupSettings = DedupSettings(near_duplicate_jaccard=0.70)
    golden: SftGoldenSettings = SftGoldenSettings()


class IngestionThresholds(BaseModel):
    toxicity_quarantine: float
    max_quarantine_rate: float
    min_clean_rows: int = 1
    injection_false_positive_rate_max: float = 0.005  # of real reviews, held by the injection screen's test


class EmbeddingThresholds(BaseModel):
    k: int  # nDCG, recall and MRR are measured on this many reviews
    min_ndcg_at_k: float
    min_recall_at_k: float
    min_mrr: float
    min_queries: int = Field(ge=1)  # evaluation queries with a relevant review in the index
    max_regression: float = Field(ge=0)  # nDCG@k the candidate may lose against the live index


class LoadTestThresholds(BaseModel):
    p95_latency_s_max: float = Field(gt=0)
    error_rate_max: float = Field(ge=0, le=1)
    requests_per_s_min: float = Field(ge=0)


class SftDatasetThresholds(BaseModel):
    """The SFT dataset's gate; shares are of train examples."""

    min_context_snippets: int = Field(ge=1)
    min_snippet_chars: int = Field(ge=1)
    max_snippet_chars: int = Field(ge=1)
    min_target_items: int = Field(ge=0)
    max_profile_share: dict[str, float] = Field(default_factory=dict)
    min_profile_share: dict[str, float] = Field(default_factory=dict)
    min_language_share: float = Field(ge=0.0, le=1.0)
    max_language_share: float = Field(ge=0.0, le=1.0)
    min_train_examples: int = Field(ge=1)
    min_validation_examples: int = Field(ge=0)

    @model_validator(mode="after")
    def _reachable(self) -> SftDatasetThresholds:
        if sum(self.min_profile_share.values()) >= 1.0:
            raise ValueError("sft_dataset.min_profile_share must sum to less than 1")
        return self


class GroundingThresholds(BaseModel):
    min_similarity: float = Field(ge=-1.0, le=1.0)  # a sentence this similar to a claim supports it


class SummaryQualityThresholds(BaseModel):
    """What a summarizer's answers to labelled contexts must reach (`common.aspect_scores`)."""

    min_valid_json_greedy: float = Field(ge=0, le=1)
    min_valid_json_enforced: float = Field(ge=0, le=1)
    min_precision: float = Field(ge=0, le=1)
    min_recall: float = Field(ge=0, le=1)
    min_evidence_validity: float = Field(ge=0, le=1)
    max_language_gap: float = Field(ge=0, le=1)


class MetricGate(BaseModel):
    """One evaluation metric's bar: a floor or a ceiling, and how much worse than the champion it may be."""

    min: float | None = None  # higher is better: overall and every gated slice at least this
    max: float | None = None  # lower is better: overall and every gated slice at most this
    margin: float = Field(0.0, ge=0)  # non-inferiority margin against the champion

    @model_validator(mode="after")
    def _one_bound(self) -> MetricGate:
        if (self.min is None) == (self.max is None):
            raise ValueError("an evaluation metric has exactly one of min and max")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.min is not None


class EvaluationThresholds(BaseModel):
    """The promotion gate's bars (`pipelines.evaluation.gate`)."""

    metrics: dict[str, MetricGate]
    slices: list[str]
    review_count_edges: list[int] = Field(min_length=1)  # ascending bucket edges
    min_slice_rows: int = Field(ge=1)
    balance_negative_share: float = Field(gt=0, le=1)
    bootstrap_samples: int = Field(ge=100)
    confidence: float = Field(gt=0.5, lt=1)
    seed: int = 0


class BatchThresholds(BaseModel):
    """What one answer of the hourly batch must pass before it is cached (`pipelines.batch.guard`)."""

    min_grounding: float = Field(ge=0, le=1)  # share of its pros and cons the grounding scorer supports
    min_evidence_validity: float = Field(ge=0, le=1)  # share of its citations that support their claim
    max_toxicity: float = Field(gt=0, le=1)  # toxicity score of the answer's text at or above: rejected


class MonitoringThresholds(BaseModel):
    """Daily quality monitoring's bars; Terraform's CloudWatch alarms read the same keys."""

    faithfulness_min: float = Field(ge=0, le=1)  # mean grounding of the day's sampled summaries
    toxicity_rate_max: float = Field(ge=0, le=1)
    pii_rate_max: float = Field(ge=0, le=1)
    format_failure_rate_max: float = Field(ge=0, le=1)
    vllm_p95_latency_s_max: float = Field(gt=0)
    vllm_error_rate_max: float = Field(ge=0, le=1)


class Thresholds(BaseModel):
    """`config/thresholds.yaml`: the gates, read by pipelines, tests and Terraform alike."""

    version: int
    ingestion: IngestionThresholds
    embedding: EmbeddingThresholds
    load_test: LoadTestThresholds | None = None  # only the load test needs it
    sft_dataset: SftDatasetThresholds | None = None  # only the SFT dataset builder needs it
    grounding: GroundingThresholds | None = None  # only the grounding scorer's users need it
    summary_quality: SummaryQualityThresholds | None = None  # only what scores answers needs it
    evaluation: EvaluationThresholds | None = None  # only the evaluation pipeline needs it
    batch: BatchThresholds | None = None  # only batch inference's guardrails need it
    monitoring: MonitoringThresholds | None = None  # only quality monitoring (and Terraform's alarms) need it


class RegistrySettings(BaseModel):
    """The MLflow model registry: where fine-tuning registers summarizer versions, and how they answer."""

    model_name: str = "review-summarizer"
    candidate_alias: str = "candidate"  # set on every newly registered version; evaluation reads it
    challenger_alias: str = "challenger"  # a candidate that passed the evaluation gate, before the load test
    champion_alias: str = "champion"  # what batch inference serves
    previous_alias: str = "previous"  # the champion before the last promotion: where a rollback goes
    sample_summaries: int = 3  # validation examples generated with the reloaded model and logged to the run
    max_new_tokens: int = 256  # the inference configuration bundled with every version (greedy decoding)
    torch_dtype: str = "float32"  # the base model's dtype when a version is loaded for generation
    cache_dir: str = "/tmp/llmops/models"  # s3:// base models are downloaded here once


class ScanSettings(BaseModel):
    """The evaluation's giskard and ragas step (`pipelines.evaluation.scan`): reported, not gated."""

    # One strong one-star complaint per language: the directionality test adds it to each context.
    behaviour_file: str = "config/evaluation_behaviour.yaml"
    typo_rate: float = Field(default=0.05, gt=0, lt=1)  # typos per character (giskard's typo transformation)
    invariance_min_jaccard: float = Field(
        default=0.5, ge=0, le=1
    )  # claims kept for an invariance test to pass
    injection_samples: int = Field(default=40, ge=1)  # giskard's injection prompts sent to the model
    seed: int = 0


class EvaluationSettings(BaseModel):
    """The summarizer's evaluation (`pipelines.evaluation`); its bars are `thresholds.evaluation`."""

    # Prompt injections planted into twins of the golden contexts (pipelines.evaluation.injections).
    injections_file: str = "config/evaluation_injections.yaml"
    scan: ScanSettings = ScanSettings()


class SummaryCacheSettings(BaseModel):
    """Where the storefront reads summaries (`common.summary_cache`): one item per product and language."""

    backend: Literal["sqlite", "dynamodb"]
    sqlite_path: str | None = None  # sqlite: the embedded store's file
    table_name: str | None = None  # dynamodb: the table (terraform/modules/dynamodb)
    region: str | None = None  # dynamodb: null is the AWS session's region
    ttl_attribute: str = "expires_at"  # epoch seconds; DynamoDB deletes the item some time after it
    ttl_days: float = Field(default=7.0, gt=0)  # a summary not refreshed for this long expires
    write_concurrency: int = Field(default=16, ge=1)  # conditional writes in flight at once

    @model_validator(mode="after")
    def _backend_has_its_location(self) -> SummaryCacheSettings:
        if self.backend == "sqlite" and not self.sqlite_path:
            raise ValueError("summary_cache.backend sqlite needs summary_cache.sqlite_path")
        if self.backend == "dynamodb" and not self.table_name:
            raise ValueError("summary_cache.backend dynamodb needs summary_cache.table_name")
        return self


class BatchSettings(BaseModel):
    """Hourly batch inference (`pipelines.batch`); its guardrails' bars are `thresholds.batch`."""

    products_per_search: int = Field(default=100, ge=1)  # products whose contexts one msearch call fetches
    chunk_products: int = Field(default=500, ge=1)  # products a run holds in memory at once
    max_products_per_run: int = Field(default=5000, ge=1)  # the rest wait for the next run (oldest first)
    max_attempts: int = Field(default=5, ge=1)  # a product's tries across runs; then it fails terminally
    retry_backoff_s: float = Field(default=3600.0, ge=0)  # wait before a failed product's 2nd try; doubles
    retry_backoff_max_s: float = Field(default=86400.0, ge=0)
    pii_in_answer: Literal["redact", "reject"] = "reject"  # what an answer in which PII is found becomes
    shadow: bool = True  # send the same contexts to the challenger when one exists (never served)


class MonitoringSettings(BaseModel):
    """Daily quality monitoring (`pipelines.monitoring`); its bars are `thresholds.monitoring`."""

    sample_per_stratum: int = Field(default=50, ge=1)  # summaries scored per (language, context profile)
    seed: int = 0  # which summaries a stratum's sample takes: the same day samples the same summaries
    warning_escalation_days: int = Field(default=3, ge=1)  # a warning this many days running is critical
    cloudwatch_namespace: str | None = None  # aws: where the daily metrics go (Terraform's alarms read them)
    environment: str = "local"  # the metrics' Environment dimension


class Settings(BaseSettings):
    """Everything the pipelines read, for one profile. Built by `common.settings.loader`, which layers
    the files, the profile and the `LLMOPS_<SECTION>__<KEY>` variables (their prefix and delimiter are
    configured here)."""

    model_config = SettingsConfigDict(env_prefix="LLMOPS_", env_nested_delimiter="__", extra="ignore")

    profile: Literal["local", "aws"]
    home: Path
    lake_uri: str
    lake: LakeSettings = LakeSettings()
    source: SourceSettings
    steps: StepSettings
    airflow: AirflowSettings = AirflowSettings()
    dvc: DvcSettings
    alerts: AlertSettings = AlertSettings()
    ingestion: IngestionSettings
    embedding: EmbeddingSettings
    tracking: TrackingSettings
    vector_store: VectorStoreSettings
    retrieval: RetrievalSettings = RetrievalSettings()
    load_test: LoadTestSettings | None = None  # only the load test needs it
    sft: SftSettings | None = None  # only the golden set and SFT dataset steps need it
    training: TrainingSettings
    registry: RegistrySettings = RegistrySettings()
    serving: ServingSettings
    evaluation: EvaluationSettings = EvaluationSettings()
    summary_cache: SummaryCacheSettings | None = None  # only batch inference, forgetting and lookups need it
    batch: BatchSettings = BatchSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    thresholds: Thresholds

    def resolve_path(self, value: str) -> Path:
        """A config path made absolute against the project home."""
        path = Path(value)
        return path if path.is_absolute() else self.home / path
