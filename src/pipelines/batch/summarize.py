"""The `summarize` heavy step: a grounded, safe summary in the cache for every selected product, or a
recorded reason why not.

    python -m pipelines.batch.summarize --plan-uri URI --result-uri URI

For the entries the run's `select` task took (`pipelines.batch.queue`), `batch.chunk_products` at a time
(so memory is that of a chunk, however many products a run has), in this order:

1. **Context**: the balanced context of each (product, language) (`common.retrieval`), one `msearch` per
   `batch.products_per_search` products of a language, on the index the alias points to when the step
   starts (so a run reads one index, even if the alias moves meanwhile). Each snippet is screened again
   for prompt injection (`common.injection`: a pattern added after a review was published still
   applies); what it catches is left out and counted. A product without snippets fails as `no_context`
   (its reviews may not be indexed yet: it is retried).
2. **Generate** through the shared serving client (`common.serving.client`) with the `champion`
   adapter, and the same prompts with the `challenger` adapter when one is exported and `batch.shadow`
   is on (stored apart, never served). Locally a vLLM server is started with the aliases' adapters; in
   `aws` the endpoint may be scaled to zero and the client warms it up. If it does not come up by the
   warm-up deadline, every entry stays `pending` in the queue, nothing is cached, and the run fails.
3. **Guard** each answer (`pipelines.batch.guard`); a rejected one is a failure with its reasons.
4. **Cache** the champion's passing answers (`common.summary_cache`): a conditional write keyed by the
   run's data time, so a re-run of an older hour never replaces a newer summary.
5. **Lineage**: one record per champion answer, passed or not (`pipelines.batch.lineage`), and the
   challenger's answers with the shadow report (`pipelines.batch.shadow`).

Outputs, at the plan's URIs: `outcomes.json` (what the `settle` task applies to the queue), the lineage
and shadow partitions of the run. Everything is keyed by the run's key, so running the step again for the
same run replaces its outputs instead of adding to them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from common import storage
from common.injection import InjectionScreen
from common.prompts import ReviewSummary, load_prompt
from common.retrieval import ProductContext, Retriever
from common.serving.client import FailureOutcome, Outcome, ServingClient, SummaryOutcome, WarmupError
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from common.summary_cache import CachedSummary, SummaryCache, open_summary_cache
from common.vector_store import open_vector_store
from pipelines.batch import lineage, shadow
from pipelines.batch.guard import GuardInput, Guardrails, Verdict
from pipelines.batch.queue import Outcome as QueueOutcome
from pipelines.batch.queue import QueueEntry, key_of

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class Prepared:
    """One entry ready to be answered: its context after the injection screen."""

    entry: QueueEntry
    context: ProductContext  # the snippets shown, in prompt order (numbered from 1)
    screened_out: list[str]  # chunk ids left out as prompt injections

    @property
    def key(self) -> str:
        return self.entry.key

    def prompt_snippets(self) -> list[dict[str, Any]]:
        return [{"star_rating": s.hit.star_rating, "text": s.hit.text} for s in self.context.snippets]


def fetch_contexts(
    retriever: Retriever, entries: Sequence[QueueEntry], per_search: int
) -> dict[str, ProductContext]:
    """Each entry's balanced context: products grouped by language, `per_search` products a call."""
    by_language: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_language[entry.language].append(entry.product_id)
    out = {}
    for language, products in sorted(by_language.items()):
        for start in range(0, len(products), per_search):
            for product_id, context in retriever.balanced(
                products[start : start + per_search], language
            ).items():
                out[key_of(product_id, language)] = context
    return out


def screen_context(context: ProductContext, screen: InjectionScreen) -> tuple[ProductContext, list[str]]:
    """The context without the snippets the injection screen catches, and their chunk ids."""
    kept, caught = [], []
    for snippet in context.snippets:
        if screen.match(snippet.hit.text) is None:
            kept.append(snippet)
        else:
            caught.append(snippet.hit.chunk_id)
    return ProductContext(context.product_id, tuple(kept)), caught


def prepare(
    entries: Sequence[QueueEntry], contexts: Mapping[str, ProductContext], screen: InjectionScreen
) -> tuple[list[Prepared], dict[str, str]]:
    """The entries with something to summarize, and the reasons of those without."""
    ready, failed = [], {}
    for entry in entries:
        context, caught = screen_context(
            contexts.get(entry.key, ProductContext(entry.product_id, ())), screen
        )
        if not context.snippets:
            failed[entry.key] = "no_context"
            continue
        ready.append(Prepared(entry, context, caught))
    return ready, failed


@dataclass(frozen=True)
class ServedModel:
    """An alias as the serving location exports it: the name requests use and the version behind it."""

    role: str
    alias: str
    version: str
    manifest: Mapping[str, Any]


def served_models(settings: Settings) -> list[ServedModel]:
    """The champion (required) and, with `batch.shadow`, the challenger when it is exported."""
    from common.serving.adapters import read_manifest

    registry = settings.registry
    wanted = [(CHAMPION, registry.champion_alias)]
    if settings.batch.shadow:
        wanted.append((CHALLENGER, registry.challenger_alias))
    models = []
    for role, alias in wanted:
        manifest = read_manifest(settings, alias)
        if manifest is not None:
            models.append(ServedModel(role, alias, str(manifest["version"]), manifest))
        elif role == CHAMPION:
            raise RuntimeError(
                f"no {registry.model_name}@{alias} is exported to {settings.serving.adapters_uri}: promote a "
                "version (summarizer_evaluation) before batch inference can serve it"
            )
    return models


@contextmanager
def endpoint(settings: Settings, models: Sequence[ServedModel]) -> Iterator[tuple[str, str | None]]:
    """(base URL, API key) of a server answering under the models' aliases: locally one started here with
    their exported adapters, in `aws` the configured endpoint."""
    if settings.serving.local is not None and storage.is_local(settings.serving.adapters_uri):
        from common.serving.adapters import served_paths
        from common.serving.local_server import LocalVllmServer

        paths = served_paths(settings)
        with LocalVllmServer(settings, {m.alias: paths[m.alias] for m in models}, port=0) as server:
            yield server.url, None
    else:
        from common.serving.client import endpoint_from_settings

        yield endpoint_from_settings(settings)


def generate(
    settings: Settings,
    url: str,
    api_key: str | None,
    ready: Sequence[Prepared],
    models: Sequence[ServedModel],
    *,
    warm_up: bool = True,
) -> dict[str, dict[str, Outcome]]:
    """role -> entry key -> outcome; one batch with every model's requests (the server batches them).
    The first chunk of a run warms the endpoint up: `WarmupError` if it does not come up."""

    async def go() -> list[Outcome]:
        async with ServingClient(settings.serving, base_url=url, api_key=api_key) as client:
            requests = [
                client.request_for(f"{model.role}:{item.key}", item.prompt_snippets(), model=model.alias)
                for model in models
                for item in ready
            ]
            return await client.run_batch(requests, warm_up=warm_up)

    out: dict[str, dict[str, Outcome]] = {model.role: {} for model in models}
    for outcome in asyncio.run(go()):
        role, key = outcome.request_id.split(":", 1)
        out[role][key] = outcome
    return out


def guard(
    guardrails: Guardrails, ready: Sequence[Prepared], answers: Mapping[str, Mapping[str, Outcome]]
) -> dict[str, dict[str, Verdict]]:
    """The verdict on every valid answer, by role and entry key; every role's answers are checked in one
    call, so a shadow run encodes the snippets champion and challenger share once."""
    keys: list[tuple[str, str]] = []
    inputs: list[GuardInput] = []
    for role, by_key in answers.items():
        for item in ready:
            outcome = by_key[item.key]
            if isinstance(outcome, SummaryOutcome):
                keys.append((role, item.key))
                inputs.append(GuardInput(outcome.summary, item.context.texts, item.entry.language))
    verdicts: dict[str, dict[str, Verdict]] = {role: {} for role in answers}
    for (role, key), verdict in zip(keys, guardrails.check(inputs) if inputs else [], strict=True):
        verdicts[role][key] = verdict
    return verdicts


def cited_reviews(summary: ReviewSummary, context: ProductContext) -> dict[str, list[list[str]]]:
    """For each pro and con, the review ids behind the snippets it cites (what a shopper clicks)."""
    ids = context.review_ids
    return {
        key: [[ids[number - 1] for number in claim.evidence] for claim in getattr(summary, key)]
        for key in ("pros", "cons")
    }


def cache_entry(
    item: Prepared,
    summary: ReviewSummary,
    model: ServedModel,
    lineage_key: str,
    generated_at: datetime,
    ttl: timedelta,
    settings: Settings,
    lineage_uri: str,
) -> CachedSummary:
    """What the storefront reads: the answer, each claim's reviews, the model and prompt behind it."""
    prompt = load_prompt()
    reviews = cited_reviews(summary, item.context)
    return CachedSummary(
        product_id=item.entry.product_id,
        language=item.entry.language,
        generated_at=generated_at,
        expires_at=generated_at + ttl,
        review_ids=frozenset(r for claims in reviews.values() for ids in claims for r in ids),
        lineage_key=lineage_key,
        body={
            "answer": summary.model_dump(mode="json"),
            "evidence_reviews": reviews,
            "model": {"name": settings.registry.model_name, "alias": model.alias, "version": model.version},
            "prompt": {"name": prompt.name, "version": prompt.version, "sha256": prompt.sha256},
            "lineage_uri": lineage_uri,
        },
    )


def run(
    settings: Settings,
    plan: Mapping[str, Any],
    *,
    guardrails: Guardrails | None = None,
    cache: SummaryCache | None = None,
) -> dict[str, Any]:
    """Summarize the plan's selection, `batch.chunk_products` entries at a time (memory stays that of one
    chunk); returns the step's result (small: counts and URIs)."""
    started = time.monotonic()
    selection = storage.read_json(plan["selection_uri"])
    entries = [QueueEntry(**entry) for entry in selection["entries"]]
    outcomes: dict[str, QueueOutcome] = {}
    result: dict[str, Any] = {"run_key": plan["run_key"], "selected": len(entries), "endpoint_down": False}
    if not entries:
        return _finish(plan, result, outcomes, started)

    models = served_models(settings)
    store = open_vector_store(settings)
    index = store.resolve_alias(settings.vector_store.alias) or settings.vector_store.alias
    retriever = Retriever(store, settings.retrieval, index)
    screen = InjectionScreen.from_file(settings.resolve_path(settings.ingestion.injection.patterns_file))
    guardrails = guardrails or Guardrails.from_settings(settings)
    own_cache = cache is None
    cache = cache or open_summary_cache(settings)
    batch = Batch(settings, plan, models, index, guardrails, cache)
    try:
        with endpoint(settings, models) as (url, api_key):
            size = settings.batch.chunk_products
            for start in range(0, len(entries), size):
                try:
                    outcomes.update(
                        batch.chunk(entries[start : start + size], url, api_key, screen, retriever)
                    )
                except WarmupError as error:
                    log.error("the summarizer endpoint did not come up: %s; the products stay pending", error)
                    for entry in entries[start:]:
                        if entry.key not in outcomes:
                            outcomes[entry.key] = QueueOutcome(
                                entry.product_id, entry.language, "pending", "endpoint_down"
                            )
                    result.update(endpoint_down=True, endpoint_error=str(error))
                    break
    finally:
        batch.close()
        if own_cache:
            cache.close()
    result.update(batch.summary())
    return _finish(plan, result, outcomes, started)


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB): what a chunk size has to bound."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Batch:
    """One run's chunks through context, generation, guardrails, cache and lineage, and its totals."""

    def __init__(
        self,
        settings: Settings,
        plan: Mapping[str, Any],
        models: Sequence[ServedModel],
        index: str,
        guardrails: Guardrails,
        cache: SummaryCache,
    ) -> None:
        self.settings, self.plan, self.models, self.index = settings, plan, models, index
        self.guardrails, self.cache = guardrails, cache
        self.champion = next(m for m in models if m.role == CHAMPION)
        self.challenger = next((m for m in models if m.role == CHALLENGER), None)
        self.generated_at = datetime.fromisoformat(plan["generated_at"])
        cache_settings = settings.summary_cache
        self.ttl = timedelta(days=cache_settings.ttl_days if cache_settings else 7)
        self.lineage = lineage.PartitionWriter(plan["lineage_uri"])
        self.shadow = (
            None if self.challenger is None else lineage.PartitionWriter(plan["shadow_uri"], shadow.SCHEMA)
        )
        self.tally = shadow.Tally()
        self.warmed = False
        self.chunks = self.cached = self.kept_newer = self.screened_out = 0
        self.seconds: dict[str, float] = defaultdict(float)  # per stage, over chunks: where the time goes

    def chunk(
        self,
        entries: Sequence[QueueEntry],
        url: str,
        api_key: str | None,
        screen: InjectionScreen,
        retriever: Retriever,
    ) -> dict[str, QueueOutcome]:
        """The outcome of each entry of one chunk; `WarmupError` when the endpoint never came up."""
        clock = time.monotonic()
        contexts = fetch_contexts(retriever, entries, self.settings.batch.products_per_search)
        ready, no_context = prepare(entries, contexts, screen)
        outcomes = {
            entry.key: QueueOutcome(entry.product_id, entry.language, "failed", no_context[entry.key])
            for entry in entries
            if entry.key in no_context
        }
        clock = self._lap("context", clock)
        if not ready:
            return outcomes
        answers = generate(self.settings, url, api_key, ready, self.models, warm_up=not self.warmed)
        self.warmed = True
        clock = self._lap("generate", clock)
        verdicts = guard(self.guardrails, ready, answers)
        clock = self._lap("guard", clock)
        records, to_cache = [], []
        for item in ready:
            outcome, verdict = answers[CHAMPION][item.key], verdicts[CHAMPION].get(item.key)
            entry = item.entry
            key = lineage.lineage_key(
                self.plan["run_key"], entry.product_id, entry.language, self.champion.version
            )
            reasons = _reasons(outcome, verdict)
            if not reasons and verdict is not None:
                to_cache.append(
                    cache_entry(
                        item,
                        verdict.summary,
                        self.champion,
                        key,
                        self.generated_at,
                        self.ttl,
                        self.settings,
                        self.plan["lineage_uri"],
                    )
                )
                outcomes[item.key] = QueueOutcome(entry.product_id, entry.language, "summarized")
            else:
                outcomes[item.key] = QueueOutcome(
                    entry.product_id, entry.language, "failed", "+".join(reasons)
                )
            records.append(
                lineage.record(
                    key,
                    self.plan,
                    item,
                    self.champion,
                    outcome,
                    verdict,
                    reasons,
                    self.index,
                    self.settings.registry.model_name,
                )
            )
        written = self.cache.put(to_cache)
        self.cached += len(written.written)
        self.kept_newer += len(written.kept_newer)
        self.screened_out += sum(len(item.screened_out) for item in ready)
        clock = self._lap("cache", clock)
        self.lineage.write(records)
        if self.shadow is not None and self.challenger is not None:
            bars = self.settings.thresholds.evaluation
            share = bars.balance_negative_share if bars else 0.4
            compared = shadow.rows(self.plan, ready, self.challenger, answers, verdicts, share)
            self.shadow.write(compared)
            self.tally.add(compared)
        self._lap("lineage", clock)
        self.chunks += 1
        log.info(
            "chunk %d: %d products, %d cached, %d failed; peak memory so far %.0f MiB",
            self.chunks,
            len(entries),
            len(written.written),
            sum(o.status == "failed" for o in outcomes.values()),
            peak_rss_mib(),
        )
        return outcomes

    def _lap(self, stage: str, since: float) -> float:
        now = time.monotonic()
        self.seconds[stage] += now - since
        return now

    def close(self) -> None:
        self.lineage.close()
        if self.shadow is not None:
            self.shadow.close()

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cached": self.cached,
            "kept_newer": self.kept_newer,
            "screened_out_snippets": self.screened_out,
            "lineage_uri": self.plan["lineage_uri"],
            "lineage_records": self.lineage.rows,
            "index": self.index,
            "stage_seconds": {stage: round(value, 2) for stage, value in self.seconds.items()},
            "models": {m.role: {"alias": m.alias, "version": m.version} for m in self.models},
        }
        if self.shadow is not None and self.challenger is not None and self.tally.prompts:
            out["shadow"] = shadow.report(
                self.settings, self.plan, self.tally, self.champion, self.challenger, self.shadow.uri
            )
        return out


def _reasons(outcome: Outcome, verdict: Verdict | None) -> list[str]:
    if isinstance(outcome, FailureOutcome):
        return [outcome.reason]
    return [] if verdict is None else list(verdict.reasons)


def _finish(
    plan: Mapping[str, Any], result: dict[str, Any], outcomes: Mapping[str, QueueOutcome], started: float
) -> dict[str, Any]:
    """Write the outcomes the `settle` task applies, and count them for the step's summary line."""
    storage.write_json(plan["outcomes_uri"], [asdict(o) for o in outcomes.values()])
    statuses = Counter(o.status for o in outcomes.values())
    reasons = Counter(reason for o in outcomes.values() if o.reason for reason in o.reason.split("+"))
    result.update(
        outcomes_uri=plan["outcomes_uri"],
        summarized=statuses["summarized"],
        failed=statuses["failed"],
        pending=statuses["pending"],
        failure_reasons=dict(sorted(reasons.items())),
        elapsed_s=round(time.monotonic() - started, 2),
    )
    if result["summarized"] + result["failed"] + result["pending"] != result["selected"]:
        raise RuntimeError(f"outcomes do not add up to the selection: {result}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("Summaries for the batch run's selected products: context, generate, guard, cache.")
    parser.add_argument("--plan-uri", required=True, help="the batch run's plan (JSON)")

    def body(args: Any) -> dict[str, Any]:
        return run(get_settings(), storage.read_json(args.plan_uri))

    return run_step(body, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
