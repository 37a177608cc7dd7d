"""The golden evaluation set: products held out of fine-tuning, with their contexts and reference summaries.

    python -m pipelines.training.golden [--golden-version TAG] [--clean-version TAG] [--references-uri URI]
        --output-uri URI --result-uri URI
    python -m pipelines.training.golden --plan-uri URI --result-uri URI

With a fine-tuning run's plan (how the DAG calls it), the plan's pinned golden version, if any, is
fetched, and the output goes beside the run's dataset folder (`<run>/golden`) unless an option says
otherwise.

Every candidate model is judged on the same products, and no SFT dataset may train on them
(`pipelines.training.dataset` decontaminates against a pinned version of this set). The selection is
deterministic and stratified, because an evaluation of mostly positive products cannot catch the
reference design's positivity-bias failure:

- products are ordered within each profile by a salted hash of their id (`sft.golden.seed`), and taken
  round-robin across profiles, so every profile, polarized and mostly negative included, gets an even
  share of `sft.golden.size`; no profile gives up more than `sft.golden.max_profile_holdout` of its
  references, so fine-tuning keeps most of the rare profiles' products;
- each product is held out in one language: its balanced context (`common.retrieval`, the live index
  behind the `reviews` alias, or a pinned clean version) restricted to that language, with at least
  `min_context_snippets` snippets. A first pass finds every configured language a product, then the
  rest go to the language with the fewest products so far;
- a reference whose summary does not parse with the prompt contract, or names no pros or no cons, is
  never selected: it would be a broken yardstick.

The set is written as `golden.jsonl` (the trainer's row format, `split: "golden"`, plus the product's
`review_count` in its language, for evaluation's review-count slice) with a
`golden_card.json`, and versioned in the DVC registry at `sft.golden.registry_path`; the tag is named after
the content, so re-running with the same inputs returns the same version. A missing profile or language
fails the step (exit code 3) and versions nothing. With `--golden-version` the pinned version is fetched
instead, and copied to the output as it is.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import storage
from common.data_versioning import DataRegistry
from common.ids import stable_hash
from common.prompts import load_prompt
from common.retrieval import Retriever
from common.settings import Settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tombstones import forgotten_review_ids
from common.vector_store.base import Filters, TopQuery
from pipelines.training.card import retrieval_parameters
from pipelines.training.context import iter_contexts, open_context_source
from pipelines.training.inputs import (
    add_source_arguments,
    languages_of,
    run_plan_sibling,
    sft_settings,
    step_inputs,
)
from pipelines.training.publishing import (
    GOLDEN_FILE,
    fetch_version,
    pinned_version,
    publish,
    read_jsonl,
    version_dict,
)
from pipelines.training.quality_gate import item_count, target_problem
from pipelines.training.references import Reference, read_references
from pipelines.training.rows import GOLDEN, example_row, snippet_record
from pipelines.training.split import mix
from pipelines.training.targets import target_builder

log = logging.getLogger(__name__)

CARD_FILE = "golden_card.json"
OUTPUT_FOLDER = "golden"  # beside the run's dataset folder, when a plan names no golden URI
INVALID_TARGET = "invalid_target"


@dataclass
class LazyContexts:
    """Each candidate's usable snippets per language, retrieved in batches along a profile's queue when
    the selection first needs them: a large references file is not retrieved whole for a small set."""

    retriever: Retriever
    languages: list[str]
    forgotten: frozenset[str]
    batch: int
    cache: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def of(self, queue: Sequence[Reference], position: int) -> dict[str, list[dict[str, Any]]]:
        product_id = queue[position].product_id
        if product_id not in self.cache:
            ahead = [r for r in queue[position : position + self.batch] if r.product_id not in self.cache]
            for reference in ahead:
                self.cache[reference.product_id] = {}
            for reference, language, context in iter_contexts(
                self.retriever, ahead, self.languages, len(ahead)
            ):
                self.cache[reference.product_id][language] = [
                    snippet_record(s) for s in context.snippets if s.hit.review_id not in self.forgotten
                ]
        return self.cache[product_id]


REVIEW_COUNT_CAP = 1000  # reviews counted per golden product: far above any review-count bucket edge


def review_count(retriever: Retriever, product_id: str, language: str, forgotten: frozenset[str]) -> int:
    """Reviews of the product in `language` in the index (at most `REVIEW_COUNT_CAP`): evaluation's
    review-count slice, since a product with few reviews gets a thin context."""
    query = TopQuery(
        Filters(product_ids=product_id, languages=language),
        sort=(("created_at", "desc"),),
        k=REVIEW_COUNT_CAP,
        distinct_reviews=True,
    )
    hits = retriever.store.top_by(retriever.index, query)
    return sum(hit.review_id not in forgotten for hit in hits)


@dataclass
class Selection:
    """The golden products in selection order, each with the language it is held out in."""

    chosen: dict[str, tuple[Reference, str]] = field(default_factory=dict)
    per_profile: Counter[str] = field(default_factory=Counter)
    per_language: Counter[str] = field(default_factory=Counter)

    def take(self, reference: Reference, language: str) -> None:
        self.chosen[reference.product_id] = (reference, language)
        self.per_profile[reference.profile] += 1
        self.per_language[language] += 1


def select_golden(
    references: Sequence[Reference],
    contexts: LazyContexts,
    profiles: Sequence[str],
    size: int,
    max_profile_holdout: float,
    seed: str,
    min_snippets: int,
) -> Selection:
    """The stratified, deterministic selection described in the module docstring."""
    languages = contexts.languages
    queues = {
        p: sorted((r for r in references if r.profile == p), key=lambda r: stable_hash(seed, r.product_id))
        for p in profiles
    }
    capacity = {p: max(1, math.floor(max_profile_holdout * len(q))) if q else 0 for p, q in queues.items()}
    even = math.ceil(size / max(len(profiles), 1))
    selection = Selection()

    def qualifying(profile: str, position: int) -> list[str]:
        found = contexts.of(queues[profile], position)
        return [language for language in languages if len(found.get(language, [])) >= min_snippets]

    def room(profile: str, limit: Callable[[str], int]) -> bool:
        return len(selection.chosen) < size and selection.per_profile[profile] < limit(profile)

    def balanced_limit(profile: str) -> int:
        return min(capacity[profile], even)

    def capacity_limit(profile: str) -> int:
        return capacity[profile]

    longest = max((len(q) for q in queues.values()), default=0)
    interleaved = [(p, i) for i in range(longest) for p in profiles if i < len(queues[p])]
    # Every language first, from the earliest product (across profiles) that can stand for it.
    for language in languages:
        for profile, position in interleaved:
            reference = queues[profile][position]
            if reference.product_id in selection.chosen or not room(profile, balanced_limit):
                continue
            if language in qualifying(profile, position):
                selection.take(reference, language)
                break
    # Then round-robin over profiles: an even share each, then whatever capacity is left.
    for limit in (balanced_limit, capacity_limit):
        cursor = dict.fromkeys(profiles, 0)
        progress = True
        while progress:
            progress = False
            for profile in profiles:
                while room(profile, limit) and cursor[profile] < len(queues[profile]):
                    position = cursor[profile]
                    cursor[profile] += 1
                    if queues[profile][position].product_id in selection.chosen:
                        continue
                    usable = qualifying(profile, position)
                    if usable:
                        fewest = min(usable, key=lambda x: (selection.per_language[x], languages.index(x)))
                        selection.take(queues[profile][position], fewest)
                        progress = True
                        break
    return selection


def usable_references(
    references: Sequence[Reference], min_items: int
) -> tuple[list[Reference], Counter[str]]:
    """References fit to be a yardstick: a summary with pros and cons in the references' format (plain
    phrases, the shape of the prompt contract's version 1: a product-level summary cites no snippets;
    each golden row's target is its grounded, cited form)."""
    contract = load_prompt(version=1)
    usable, skipped = [], Counter[str]()
    for reference in references:
        target = reference.target
        too_few = min(item_count(target, "pros"), item_count(target, "cons")) < min_items
        if too_few or target_problem(target, contract) is not None:
            skipped[INVALID_TARGET] += 1
        else:
            usable.append(reference)
    return usable, skipped


def build_golden(
    settings: Settings, references_uri: str, clean_version: str | None, output_uri: str, work_dir: Path
) -> dict[str, Any]:
    """Select, version and copy out the golden set; the result names the version to pin."""
    sft, gates = sft_settings(settings)
    golden = sft.golden
    languages = languages_of(settings)
    references, skipped = read_references(references_uri, sft.profiles)
    references, invalid = usable_references(references, gates.min_target_items)
    skipped.update(invalid)

    source = open_context_source(settings, clean_version, [r.product_id for r in references], work_dir)
    contexts = LazyContexts(
        source.retriever,
        languages,
        forgotten_review_ids(settings.lake_uri),
        min(golden.size, sft.context_batch_products),
    )
    selection = select_golden(
        references,
        contexts,
        sft.profiles,
        golden.size,
        golden.max_profile_holdout,
        golden.seed,
        gates.min_context_snippets,
    )
    targets = target_builder(settings)
    rows = sorted(
        (
            {
                **example_row(
                    GOLDEN,
                    reference,
                    language,
                    targets.build(reference, contexts.cache[product_id][language]),
                    targets.source,
                    GOLDEN,
                ),
                "review_count": review_count(source.retriever, product_id, language, contexts.forgotten),
            }
            for product_id, (reference, language) in selection.chosen.items()
        ),
        key=lambda row: row["product_id"],
    )
    summary = {
        "references_uri": references_uri,
        "clean_version": clean_version,
        "context_source": {**source.description, "index": source.index},
        "size_requested": golden.size,
        "rows": len(rows),
        "mix": {"profile": mix(rows, "profile"), "language": mix(rows, "language")},
        "references_skipped": dict(sorted(skipped.items())),
    }
    missing = {
        "missing_profiles": [p for p in sft.profiles if not selection.per_profile[p]],
        "missing_languages": [x for x in languages if not selection.per_language[x]],
    }
    if any(missing.values()):
        raise QualityGateFailed(
            f"the golden set cannot represent every profile and language: {missing}",
            {**summary, **missing, "published": False},
        )
    if len(rows) < golden.size:
        log.warning("only %d of %d golden products could be selected", len(rows), golden.size)

    card = {
        "dataset": golden.registry_path,
        "rows": len(rows),
        "mix": summary["mix"],
        "selection": {
            "size": golden.size,
            "seed": golden.seed,
            "max_profile_holdout": golden.max_profile_holdout,
            "min_context_snippets": gates.min_context_snippets,
            "languages": languages,
            "profiles": sft.profiles,
        },
        "references_uri": references_uri,
        "references_skipped": summary["references_skipped"],
        "clean_version": clean_version,
        "context_source": source.description,
        "retrieval": retrieval_parameters(settings),
        "prompt": load_prompt().prompt_id,  # the contract the targets are answers of
        "targets": targets.stats.to_dict(),
    }
    registry = DataRegistry.from_settings(settings)
    message = f"Golden set: {len(rows)} products, {summary['mix']}"
    version = publish(
        registry, golden.registry_path, {GOLDEN_FILE: rows, CARD_FILE: card}, output_uri, message, work_dir
    )
    log.info("versioned the golden set as %s (%s)", version.tag, version.rev)
    return {
        **summary,
        **_outputs(output_uri),
        "pinned": False,
        "dvc": version_dict(version),
        "golden_version": version.tag,
    }


def fetch_golden(settings: Settings, tag: str, output_uri: str, work_dir: Path) -> dict[str, Any]:
    """A pinned golden version, copied to the output as it is versioned."""
    sft, _ = sft_settings(settings)
    registry = DataRegistry.from_settings(settings)
    local = fetch_version(registry, sft.golden.registry_path, tag, work_dir / "golden")
    rows = read_jsonl(local / GOLDEN_FILE)
    storage.upload_dir(str(local), output_uri)
    dvc = pinned_version(registry, sft.golden.registry_path, tag)
    log.info("fetched the pinned golden set %s: %d rows", tag, len(rows))
    return {
        **_outputs(output_uri),
        "pinned": True,
        "dvc": dvc,
        "golden_version": tag,
        "rows": len(rows),
        "mix": {"profile": mix(rows, "profile"), "language": mix(rows, "language")},
    }


def _outputs(output_uri: str) -> dict[str, str]:
    return {
        "output_uri": output_uri,
        "golden_uri": storage.join(output_uri, GOLDEN_FILE),
        "card_uri": storage.join(output_uri, CARD_FILE),
    }


def parser() -> argparse.ArgumentParser:
    p = step_parser("Select and version the golden evaluation set, or fetch a pinned version of it.")
    add_source_arguments(p)
    p.add_argument("--golden-version", help="DVC tag of a golden set to fetch instead of building one")
    p.add_argument("--output-uri", help="where golden.jsonl and golden_card.json go")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()

    def body(args: argparse.Namespace) -> dict[str, Any]:
        settings, sft, plan = step_inputs(args)
        output_uri = args.output_uri or plan.get("golden_uri")
        output_uri = output_uri or (run_plan_sibling(plan, OUTPUT_FOLDER) if plan else None)
        if not output_uri:
            p.error("--output-uri (or a plan) is required")
        golden_version = args.golden_version or plan.get("golden_version")
        with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
            if golden_version:
                return fetch_golden(settings, golden_version, output_uri, Path(tmp))
            references_uri = args.references_uri or sft.references_uri
            clean_version = args.clean_version or plan.get("clean_version")
            return build_golden(settings, references_uri, clean_version, output_uri, Path(tmp))

    return run_step(body, p, argv)


if __name__ == "__main__":
    sys.exit(main())
