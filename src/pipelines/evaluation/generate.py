"""The `generate` heavy step: the candidate's and the champion's answers to every golden-set product.

    python -m pipelines.evaluation.generate --plan-uri URI --result-uri URI

Both models answer through the serving path batch inference uses (`common.serving.client`, the same
request body, decoding, warm-up, retries and failure classes), each adapter under its registry alias:
locally a vLLM server started here with the aliases' exported adapters (`common.serving.adapters`), in
`aws` the endpoint of `serving` (staging), whose pods load the aliases' adapters when they start.

The plan (written by the DAG's `plan` task) names the alias to evaluate, the alias to compare against and,
optionally, the golden-set version to pin; without one, the candidate's own golden version (the tag its
fine-tuning run recorded) is used, so a candidate is judged on the products it was decontaminated
against. Versions are read from the registry here, once, and written to the result: later steps judge
exactly the versions that answered.

Every golden context is also answered with a planted prompt injection (`pipelines.evaluation.injections`).
Outputs, at the plan's URIs: `golden.jsonl` (the rows as versioned), `evaluated.jsonl` (those and their
planted twins: what was answered) and `answers/<role>.parquet`, one row per evaluated context and model:
the raw answer, the parsed answer as canonical JSON or the failure reason, tries, latency and tokens.
Nothing large goes through XCom.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import storage
from common.data_versioning import DataRegistry
from common.prompts import canonical_json
from common.serving.client import Outcome, ServingClient, SummaryOutcome, endpoint_from_settings
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from common.tracking import mlflow_for
from pipelines.evaluation.injections import Attacks, twins

log = logging.getLogger(__name__)

GOLDEN_FILE = "golden.jsonl"  # the file name the fine-tuning pipeline versions the golden set under
EVALUATED_FILE = "evaluated.jsonl"  # the golden rows and their planted-injection twins: what was answered
GOLDEN_TAG = "llmops.golden.dvc_tag"  # the model-version tag that names a candidate's golden set
CANDIDATE, CHAMPION = "candidate", "champion"


@dataclass(frozen=True)
class ModelUnderTest:
    """One registry version and the name it is served under."""

    role: str  # candidate or champion
    alias: str
    version: str
    golden_tag: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "alias": self.alias,
            "version": self.version,
            "golden_tag": self.golden_tag,
        }


def resolve(settings: Settings, alias: str, role: str) -> ModelUnderTest | None:
    """The version `alias` points to now, or None when the alias does not exist (no champion yet)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    mlflow_for(settings)
    try:
        version = MlflowClient().get_model_version_by_alias(settings.registry.model_name, alias)
    except MlflowException:
        return None
    return ModelUnderTest(role, alias, str(version.version), version.tags.get(GOLDEN_TAG))


def fetch_golden_rows(settings: Settings, tag: str, work_dir: Path) -> list[dict[str, Any]]:
    """The rows of golden-set version `tag` from the DVC registry; the tag must exist."""
    sft = settings.sft
    if sft is None:
        raise ValueError("the profile has no sft settings: it names no golden-set registry path")
    registry = DataRegistry.from_settings(settings)
    if registry.tag_commit(tag) is None:
        raise ValueError(f"{registry.registry_url} has no golden-set version {tag!r}")
    folder = registry.fetch(sft.golden.registry_path, tag, work_dir / "golden")
    lines = (folder / GOLDEN_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_jsonl(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def answer_requests(client: ServingClient, rows: Sequence[Mapping[str, Any]], model: str) -> list[Any]:
    """One summary request per golden row for `model`, its id the row's example id."""
    return [
        client.request_for(
            row["example_id"],
            [{"star_rating": s["star_rating"], "text": s["text"]} for s in row["snippets"]],
            model=model,
        )
        for row in rows
    ]


def answer_record(outcome: Outcome, model: ModelUnderTest) -> dict[str, Any]:
    """One Parquet row: what the model wrote and what became of it."""
    record: dict[str, Any] = {
        "example_id": outcome.request_id,
        "role": model.role,
        "alias": model.alias,
        "version": model.version,
        "raw_text": outcome.text,
    }
    if isinstance(outcome, SummaryOutcome):
        record.update(answer_json=canonical_json(outcome.summary), failure_reason=None, failure_message=None)
    else:
        record.update(answer_json=None, failure_reason=outcome.reason, failure_message=outcome.message)
    return {
        **record,
        "attempts": outcome.stats.attempts,
        "latency_s": outcome.stats.latency_s,
        "prompt_tokens": outcome.stats.prompt_tokens,
        "completion_tokens": outcome.stats.completion_tokens,
    }


def generate_answers(
    settings: Settings,
    url: str,
    api_key: str | None,
    rows: Sequence[Mapping[str, Any]],
    models: Sequence[ModelUnderTest],
) -> dict[str, list[dict[str, Any]]]:
    """Every model's answers to every row, one batch per model, through the shared serving client."""

    async def go() -> dict[str, list[dict[str, Any]]]:
        async with ServingClient(settings.serving, base_url=url, api_key=api_key) as client:
            out = {}
            for model in models:
                outcomes = await client.run_batch(answer_requests(client, rows, model.alias))
                out[model.role] = [answer_record(outcome, model) for outcome in outcomes]
            return out

    return asyncio.run(go())


def write_parquet(records: Sequence[Mapping[str, Any]], uri: str) -> None:
    import pandas as pd

    with storage.open_uri(uri, "wb") as handle:
        pd.DataFrame(list(records)).to_parquet(handle, index=False)


def run(settings: Settings, plan: Mapping[str, Any], work_dir: Path) -> dict[str, Any]:
    """Resolve the models, fetch the golden set, generate, write; the result names what answered."""
    candidate = resolve(settings, plan["candidate_alias"], CANDIDATE)
    if candidate is None:
        raise ValueError(f"{settings.registry.model_name}@{plan['candidate_alias']} does not exist")
    champion = resolve(settings, plan["baseline_alias"], CHAMPION)
    if champion is not None and champion.version == candidate.version:
        champion = None  # a version is not compared with itself: judged on floors alone
    golden_tag = plan.get("golden_version") or candidate.golden_tag
    if not golden_tag:
        raise ValueError("no golden-set version: the candidate records none and the plan pins none")
    golden = fetch_golden_rows(settings, golden_tag, work_dir)
    planted = twins(golden, Attacks.from_file(settings.resolve_path(settings.evaluation.injections_file)))
    rows = [*golden, *planted]
    write_jsonl(rows, work_dir / "golden" / EVALUATED_FILE)
    storage.upload_dir(str(work_dir / "golden"), plan["golden_uri"])
    models = [m for m in (candidate, champion) if m is not None]

    if settings.serving.local is not None and storage.is_local(settings.serving.adapters_uri):
        from common.serving.adapters import export_aliases
        from common.serving.local_server import LocalVllmServer

        adapters = export_aliases(settings)
        with LocalVllmServer(settings, {m.alias: adapters[m.alias] for m in models}, port=0) as server:
            answers = generate_answers(settings, server.url, None, rows, models)
    else:
        url, api_key = endpoint_from_settings(settings)
        answers = generate_answers(settings, url, api_key, rows, models)

    uris = {}
    for role, records in answers.items():
        uris[role] = storage.join(plan["answers_uri"], f"{role}.parquet")
        write_parquet(records, uris[role])
    valid = {role: sum(r["answer_json"] is not None for r in records) for role, records in answers.items()}
    return {
        "golden_version": golden_tag,
        "golden_uri": plan["golden_uri"],
        "rows": len(golden),
        "planted_rows": len(planted),
        "models": {m.role: m.to_dict() for m in models},
        "answers_uris": uris,
        "valid_answers": valid,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser(
        "The candidate's and the champion's answers to the golden set, through the serving path."
    )
    parser.add_argument("--plan-uri", required=True, help="the evaluation run's plan (JSON)")

    def body(args: Any) -> dict[str, Any]:
        plan = storage.read_json(args.plan_uri)
        with tempfile.TemporaryDirectory(prefix="evaluation-generate-") as tmp:
            return run(get_settings(), plan, Path(tmp))

    return run_step(body, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
