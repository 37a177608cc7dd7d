"""`make bench-summarizer`: what the local summarizer answers, measured through the local vLLM server.

Who answers: the summarizer base (`make base-model`, served under `serving.served_base_model`) and the
newest `candidate` the fine-tuning DAG registered (`make demo` makes one), its LoRA adapter loaded by the
same server. What they answer: the candidate's golden set (the DVC version its registration names:
products fine-tuning never saw, in every profile and language), and contexts of the held-out catalogue
(`--held-out`, seeds no model trains on): the demo's golden set has 12 products, two a language, too few
for per-language numbers to mean much on their own.

Every context is sent twice, with the decoding batch inference uses (`serving.temperature`, greedy, and
`serving.max_tokens`): once plain and once with the prompt contract's JSON schema enforced by the server
(vLLM structured output, as `common.serving.client` sends it). Each answer is read by the prompt contract
and scored against the sample generator's per-review labels (`common.aspect_scores`): valid answers,
precision, recall and evidence validity, overall and per language, against `thresholds.yaml
summary_quality`. The report also carries the base model's build time and the candidate's fine-tuning
time, and its numbers are logged to the candidate's MLflow run (`bench.*` metrics and the JSON).

These models are small ones trained on the synthetic sample catalogue to exercise the real pipeline:
their numbers say nothing about real reviews. Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, report_header

log = logging.getLogger("bench-summarizer")

DECODINGS = ("greedy", "enforced")  # plain greedy decoding; the same with the JSON schema enforced


@dataclass(frozen=True)
class Context:
    """One labelled context: what the model is shown and what its answer is scored against."""

    context_id: str
    language: str
    snippets: list[dict[str, Any]]  # star_rating, text
    shown: list[list[Any]]  # common.aspects.Mention per snippet
    target: dict[str, Any]
    lexicon: Any  # common.aspects.Lexicon


# ---- what is measured ---------------------------------------------------------------------------------


def newest_candidate(settings: Any) -> dict[str, Any] | None:
    """The registration record of the newest candidate version (`pipelines.training.register`)."""
    from common import storage

    folder = storage.join(settings.lake_uri, "models", "candidates")
    if not storage.exists(folder):
        return None
    records = [storage.read_json(uri) for uri in storage.list_files(folder) if uri.endswith(".json")]
    return max(records, key=lambda r: int(r["version"]), default=None)


def golden_contexts(settings: Any, tag: str, work: Path) -> list[Context]:
    """The golden set of version `tag`, each row with the labels it was built from."""
    from common.aspects import Lexicon
    from pipelines.evaluation.generate import fetch_golden_rows
    from pipelines.evaluation.scoring import shown_mentions

    contexts = []
    for row in fetch_golden_rows(settings, tag, work):
        shown = shown_mentions(row)
        if shown is None:
            continue  # a row without labels cannot be scored this way
        snippets = [{"star_rating": s["star_rating"], "text": s["text"]} for s in row["snippets"]]
        lexicon = Lexicon(row["aspect_lexicon"])
        contexts.append(Context(row["example_id"], row["language"], snippets, shown, row["target"], lexicon))
    return contexts


def held_out_contexts(count: int) -> list[Context]:
    """Contexts of the catalogue no model trains on (`local_models.summarizer_base.HELD_OUT_SEED`)."""
    from local_models.summarizer_base import HELD_OUT_SEED, examples

    return [
        Context(f"held-out-{i}", e.language, e.snippets, e.shown, e.target, e.lexicon)
        for i, e in enumerate(examples(0, count, first_seed=HELD_OUT_SEED))
    ]


def answers(serving: Any, url: str, model: str, contexts: Sequence[Context], enforced: bool) -> list[Any]:
    """One outcome per context from `model` at `url`, the schema enforced or not."""
    from common.serving.client import ServingClient

    async def go() -> list[Any]:
        async with ServingClient(serving, base_url=url) as client:
            requests = []
            for context in contexts:
                request = client.request_for(context.context_id, context.snippets, model=model)
                if not enforced:
                    request.body.pop("response_format")
                requests.append(request)
            return await client.run_batch(requests)

    return asyncio.run(go())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def score(outcomes: Sequence[Any], contexts: Sequence[Context]) -> dict[str, Any]:
    """The five numbers, overall and per language, and why answers failed."""
    from common.aspect_scores import AspectScore, score_answer
    from common.serving.client import SummaryOutcome

    def numbers(pairs: list[tuple[Any, Context]]) -> dict[str, Any]:
        total, valid = AspectScore(), 0
        failures: dict[str, int] = defaultdict(int)
        for outcome, context in pairs:
            if isinstance(outcome, SummaryOutcome):
                valid += 1
                total.add(score_answer(outcome.summary, context.shown, context.target, context.lexicon))
            else:
                failures[outcome.reason] += 1
        return {
            "contexts": len(pairs),
            "valid_json": round(valid / len(pairs), 4),
            "precision": _rounded(total.precision),
            "recall": _rounded(total.recall),
            "evidence_validity": _rounded(total.evidence_validity),
            "failures": dict(sorted(failures.items())),
        }

    pairs = list(zip(outcomes, contexts, strict=True))
    by_language: dict[str, list[tuple[Any, Context]]] = defaultdict(list)
    for pair in pairs:
        by_language[pair[1].language].append(pair)
    return {
        "overall": numbers(pairs),
        "by_language": {language: numbers(group) for language, group in sorted(by_language.items())},
    }


def verdict(result: Mapping[str, Any], decoding: str, bar: Any) -> dict[str, bool]:
    """Each target of `thresholds.yaml summary_quality` met or not; per language within the gap."""
    overall = result["overall"]
    valid_min = bar.min_valid_json_enforced if decoding == "enforced" else bar.min_valid_json_greedy
    minimums = {
        "valid_json": valid_min,
        "precision": bar.min_precision,
        "recall": bar.min_recall,
        "evidence_validity": bar.min_evidence_validity,
    }
    met = {name: (overall[name] or 0.0) >= minimum for name, minimum in minimums.items()}
    met["every_language_within_gap"] = all(
        (language[name] or 0.0) >= minimum - bar.max_language_gap
        for language in result["by_language"].values()
        for name, minimum in minimums.items()
    )
    return met


# ---- the run --------------------------------------------------------------------------------------------


def record_in_mlflow(settings: Any, run_id: str, report: Mapping[str, Any], out: Path) -> None:
    """The numbers as `bench.<set>.<model>.<decoding>.<metric>` on the candidate's run, and the JSON."""
    from common.tracking import mlflow_for

    mlflow = mlflow_for(settings)
    client = mlflow.MlflowClient()
    for key, result in report["results"].items():
        set_name, model, decoding = key.split(" | ")
        prefix = "golden" if set_name.startswith("golden") else "held_out"
        for name in ("valid_json", "precision", "recall", "evidence_validity"):
            value = result["overall"][name]
            if value is not None:
                client.log_metric(run_id, f"bench.{prefix}.{model}.{decoding}.{name}", value)
    client.log_artifact(run_id, str(out), "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "summarizer.json")
    parser.add_argument("--held-out", type=int, default=120, help="held-out catalogue contexts (0: none)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to the candidate's run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from common.serving.local_server import LocalVllmServer
    from common.settings import get_settings

    settings = get_settings("local")
    bar = settings.thresholds.summary_quality
    if bar is None:
        raise SystemExit("thresholds.yaml has no summary_quality section")
    base = settings.resolve_path(settings.training.base_model)
    build = json.loads((base / "build.json").read_text(encoding="utf-8"))
    report = report_header("summarizer")
    report["about"] = build["about"]
    report["base_model"] = {
        "id": settings.training.base_model_id,
        "content_key": build["content_key"],
        "parameters": build["parameters"],
        "build_s": build["build_s"],
        "training_s": build["training_s"],
        "held_out_check_in_build": build["held_out"],
    }
    candidate = newest_candidate(settings)
    adapters: dict[str, Path] = {}
    models = {"base": settings.serving.served_base_model}
    with tempfile.TemporaryDirectory(prefix="bench-summarizer-") as tmp:
        sets: dict[str, list[Context]] = {}
        if candidate is not None and candidate.get("serving_uri"):
            tag = candidate["lineage"]["llmops.golden.dvc_tag"]
            sets[f"golden {tag}"] = golden_contexts(settings, tag, Path(tmp))
            adapters[candidate["alias"]] = Path(candidate["serving_uri"])
            models["candidate"] = candidate["alias"]
            report["candidate"] = {
                "model_uri": candidate["model_uri"],
                "mlflow_run_id": candidate["mlflow_run_id"],
                "fine_tuning_train_s": candidate["train_seconds"],
            }
        else:
            report["candidate"] = {"skipped": "no registered candidate: run make demo first"}
        if args.held_out:
            sets["held-out catalogue"] = held_out_contexts(args.held_out)
        sets = {name: contexts for name, contexts in sets.items() if contexts}
        if not sets:
            raise SystemExit("no labelled contexts to score")
        report["contexts"] = {name: len(contexts) for name, contexts in sets.items()}
        report["results"] = {}
        report["met"] = {}
        with LocalVllmServer(settings, adapters, port=0) as server:
            for set_name, contexts in sets.items():
                for name, served in models.items():
                    for decoding in DECODINGS:
                        started = time.perf_counter()
                        outcomes = answers(
                            settings.serving, server.url, served, contexts, decoding == "enforced"
                        )
                        result = score(outcomes, contexts)
                        result["seconds"] = round(time.perf_counter() - started, 1)
                        key = f"{set_name} | {name} | {decoding}"
                        report["results"][key] = result
                        report["met"][key] = verdict(result, decoding, bar)
                        log.info("%s: %s", key, json.dumps(result["overall"]))
    report["targets"] = bar.model_dump()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if candidate is not None and "mlflow_run_id" in report["candidate"] and not args.no_mlflow:
        record_in_mlflow(settings, report["candidate"]["mlflow_run_id"], report, args.out)
    overall = {key: result["overall"] for key, result in report["results"].items()}
    print(json.dumps({"overall": overall, "met": report["met"]}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
