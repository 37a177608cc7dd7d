"""The SFT dataset builder: balanced review contexts paired with curated reference summaries.

    python -m pipelines.training.dataset --golden-version TAG [--clean-version TAG] [--references-uri URI]
        --output-uri URI --data-docs-uri URI --result-uri URI
    python -m pipelines.training.dataset --dataset-version TAG [--golden-version TAG] --output-uri URI
        --result-uri URI
    python -m pipelines.training.dataset --plan-uri URI --result-uri URI

The second form fetches an existing version instead of building one; it must have been decontaminated
against the golden version given, if any (else exit code 3). The third is how the fine-tuning DAG calls
it: the run's plan (`pipelines.training.plan`) gives the golden version (pinned, or the one its golden
step versioned), a pinned dataset version if any, and the output folder; options given override it.

An example is one product in one language (the row format: `pipelines.training.rows`): the product's
balanced context in that language (`pipelines.training.context`: the live index behind the `reviews`
alias or, with `--clean-version`, an index of exactly that DVC version of the clean data) as the input,
and as the target a summary grounded in that context (`pipelines.training.targets`: computed from the
snippets' labelled aspect mentions, or the product's reference summary, `pipelines.training.references`,
cut to what the snippets support), each pro and con citing the snippets that say it.

This module composes the steps, each counted so that what went in equals what was kept plus what was
removed, by reason (`pipelines.training.accounting`):

1. **Decontamination** against the golden set (`--golden-version`, fetched from DVC): its products,
   reviews and copies of its snippets are dropped (`pipelines.training.decontamination`); so is a snippet
   of a forgotten review, and a context left too thin (`pipelines.training.split`).
2. **Split** by product and 3. **stratification** of the profiles (`pipelines.training.split`).
4. **Quality gate** (`pipelines.training.quality_gate`): a failure raises `QualityGateFailed` (exit
   code 3) and publishes nothing.
5. **Versioning**: the two splits and `dataset_card.json` (`pipelines.training.card`) are versioned
   together in the DVC registry at `sft.registry_path` and copied to `--output-uri`
   (`pipelines.training.publishing`). The result carries the version.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common import storage
from common.data_versioning import DataRegistry
from common.settings import Settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tombstones import forgotten_review_ids
from pipelines.training.accounting import (
    GOLDEN_PRODUCT,
    IN_REMOVED_EXAMPLES,
    NO_USABLE_CONTEXT,
    PROFILE_CAP,
    Accounting,
)
from pipelines.training.card import dataset_card
from pipelines.training.context import ContextSource, iter_contexts, open_context_source
from pipelines.training.decontamination import Decontaminator
from pipelines.training.inputs import (
    add_source_arguments,
    languages_of,
    run_plan_sibling,
    sft_settings,
    step_inputs,
)
from pipelines.training.publishing import (
    CARD_FILE,
    GOLDEN_FILE,
    SPLIT_FILES,
    fetch_version,
    output_uris,
    pinned_version,
    publish,
    read_jsonl,
    version_dict,
)
from pipelines.training.quality_gate import gate_batches
from pipelines.training.references import Reference, read_references
from pipelines.training.rows import SPLITS, TRAIN, VALIDATION, example_row
from pipelines.training.split import Candidate, cap_profiles, collect_candidates, oversample, split_of
from pipelines.training.targets import TargetBuilder, target_builder

log = logging.getLogger(__name__)

DOCS_FOLDER = "sft_data_docs"  # beside the run's dataset folder, when a plan names no Data Docs URI
DOCS_SITE = "sft_dataset"


def build_rows(
    settings: Settings,
    references: list[Reference],
    source: ContextSource,
    decontaminator: Decontaminator,
    accounting: Accounting,
    targets: TargetBuilder,
) -> list[dict[str, Any]]:
    """References in, split, grounded and stratified rows out; every removal counted in `accounting`,
    what the targets hold in `targets.stats`."""
    sft, gates = sft_settings(settings)
    eligible = []
    for reference in references:
        if reference.product_id in decontaminator.products:
            accounting.products.removed[GOLDEN_PRODUCT] += 1
        else:
            eligible.append(reference)
    contexts = iter_contexts(source.retriever, eligible, languages_of(settings), sft.context_batch_products)
    forgotten = forgotten_review_ids(settings.lake_uri)
    candidates = collect_candidates(
        contexts, decontaminator, forgotten, gates.min_context_snippets, accounting
    )
    for candidate in candidates:
        candidate.split = split_of(candidate.reference.product_id, sft.split_seed, sft.validation_share)

    entries: list[tuple[Candidate, int]] = []
    for split in SPLITS:
        members = [(c, 0) for c in candidates if c.split == split]
        # Cap first, so the floors are measured against the capped majority; copies of floored profiles
        # only lower a capped profile's share, and the second cap covers a profile with both.
        kept, removed = cap_profiles(members, gates.max_profile_share, sft.split_seed)
        if split == TRAIN:
            originals = [c for c, _ in kept]
            kept += oversample(originals, gates.min_profile_share, sft.max_copies, sft.split_seed)
            kept, removed_again = cap_profiles(kept, gates.max_profile_share, sft.split_seed)
            removed += removed_again
        for candidate, repeat in removed:
            if repeat == 0:
                accounting.examples.removed[PROFILE_CAP] += 1
                accounting.snippets.removed[IN_REMOVED_EXAMPLES] += len(candidate.snippets)
        entries += kept
    accounting.oversampled_copies = sum(repeat > 0 for _, repeat in entries)
    originals = [c for c, repeat in entries if repeat == 0]
    accounting.examples.kept = len(originals)
    accounting.snippets.kept = sum(len(c.snippets) for c in originals)

    kept_products = {c.reference.product_id for c in originals}
    capped_products = {c.reference.product_id for c in candidates} - kept_products
    accounting.products.kept = len(kept_products)
    accounting.products.removed[PROFILE_CAP] += len(capped_products)
    accounting.products.removed[NO_USABLE_CONTEXT] += len(
        {r.product_id for r in eligible} - {c.reference.product_id for c in candidates}
    )
    # Grounded once per kept example; its oversampled copies share the target.
    grounded = {id(c): targets.build(c.reference, c.snippets) for c in originals}
    rows = [
        example_row("sft", c.reference, c.language, grounded[id(c)], targets.source, c.split, repeat)
        for c, repeat in entries
    ]
    return sorted(rows, key=lambda r: (r["split"], r["product_id"], r["language"], r["repeat"]))


def build_dataset(
    settings: Settings,
    golden_version: str,
    clean_version: str | None,
    references_uri: str,
    output_uri: str,
    data_docs_uri: str,
    work_dir: Path,
) -> dict[str, Any]:
    """Build, gate, version and copy out the SFT dataset; the result names the version to pin."""
    from common.expectations import run_suites

    sft, _ = sft_settings(settings)
    registry = DataRegistry.from_settings(settings)
    golden_dir = fetch_version(registry, sft.golden.registry_path, golden_version, work_dir / "golden")
    golden_rows = read_jsonl(golden_dir / GOLDEN_FILE)
    golden = pinned_version(registry, sft.golden.registry_path, golden_version)

    accounting = Accounting()
    references, skipped = read_references(references_uri, sft.profiles)
    accounting.products.in_ = len(references) + sum(skipped.values())
    accounting.products.removed.update(skipped)
    decontaminator = Decontaminator(golden_rows, sft.decontamination, work_dir / "decontamination.sqlite")
    try:
        product_ids = [r.product_id for r in references if r.product_id not in decontaminator.products]
        source = open_context_source(settings, clean_version, product_ids, work_dir)
        targets = target_builder(settings)
        rows = build_rows(settings, references, source, decontaminator, accounting, targets)
    finally:
        decontaminator.close()

    batches = gate_batches(rows, settings, decontaminator.products, accounting)
    outcome = run_suites(batches, data_docs_uri, DOCS_SITE, "sft_dataset")
    card = dataset_card(rows, accounting, settings, golden, clean_version, references_uri, source)
    card["targets"] = targets.stats.to_dict()
    result: dict[str, Any] = {
        "pinned": False,
        "golden_version": golden_version,
        "clean_version": clean_version,
        "references_uri": references_uri,
        "context_source": {**source.description, "index": source.index},
        "counts": card["counts"],
        "mix": card["mix"],
        "accounting": card["accounting"],
        "targets": card["targets"],
        "quality_gate": outcome.to_dict(),
        "data_docs_index_uri": outcome.data_docs_index_uri,
    }
    stats = outcome.statistics
    log.info(
        "SFT gate: %d of %d expectations met; Data Docs at %s",
        stats["successful_expectations"],
        stats["evaluated_expectations"],
        outcome.data_docs_index_uri,
    )
    if not outcome.success:
        failed = ", ".join(outcome.failed_names())
        raise QualityGateFailed(
            f"{stats['unsuccessful_expectations']} expectation(s) failed: {failed}",
            {**result, "published": False},
        )

    counts = card["counts"]
    message = (
        f"SFT dataset: {counts[TRAIN]['examples']} train, {counts[VALIDATION]['examples']} validation "
        f"examples; decontaminated against {golden_version}"
    )
    files: dict[str, Any] = {SPLIT_FILES[s]: [r for r in rows if r["split"] == s] for s in SPLITS}
    files[CARD_FILE] = card
    version = publish(registry, sft.registry_path, files, output_uri, message, work_dir)
    log.info("versioned the SFT dataset as %s (%s)", version.tag, version.rev)
    return {
        **result,
        **output_uris(output_uri),
        "published": True,
        "dvc": version_dict(version),
        "dataset_version": version.tag,
    }


def fetch_dataset(
    settings: Settings, dataset_version: str, golden_version: str | None, output_uri: str, work_dir: Path
) -> dict[str, Any]:
    """A pinned SFT dataset, copied to the output as it is versioned. When the run evaluates on a golden
    set, the dataset must have been decontaminated against exactly that one: anything else may leak
    evaluation products into training, so it fails the gate."""
    sft, _ = sft_settings(settings)
    registry = DataRegistry.from_settings(settings)
    local = fetch_version(registry, sft.registry_path, dataset_version, work_dir / "dataset")
    card = json.loads((local / CARD_FILE).read_text(encoding="utf-8"))
    against = (card.get("golden_version") or {}).get("tag")
    result = {
        "pinned": True,
        "dvc": pinned_version(registry, sft.registry_path, dataset_version),
        "dataset_version": dataset_version,
        "golden_version": against,
        "clean_version": card.get("clean_version"),
        "references_uri": card.get("references_uri"),
        "counts": card.get("counts"),
        "mix": card.get("mix"),
        "accounting": card.get("accounting"),
    }
    if golden_version is not None and against != golden_version:
        raise QualityGateFailed(
            f"SFT dataset {dataset_version} was decontaminated against golden set {against}, "
            f"not {golden_version}: pin that golden version, or build a new dataset",
            {**result, "published": False},
        )
    storage.upload_dir(str(local), output_uri)
    log.info("fetched the pinned SFT dataset %s", dataset_version)
    return {**result, **output_uris(output_uri), "published": True}


# --- the step ---------------------------------------------------------------------------------


def golden_version_of(plan: Mapping[str, Any]) -> str | None:
    """The run's golden version: pinned in the plan, else what the run's golden step versioned."""
    if plan.get("golden_version"):
        return str(plan["golden_version"])
    result_uri = plan.get("golden_result_uri")
    if result_uri and storage.exists(result_uri):
        return (storage.read_json(result_uri).get("dvc") or {}).get("tag")
    return None


def parser() -> argparse.ArgumentParser:
    p = step_parser("Build, validate and version the SFT dataset, decontaminated against the golden set.")
    add_source_arguments(p)
    p.add_argument("--golden-version", help="DVC tag of the golden set to decontaminate against")
    p.add_argument(
        "--dataset-version", help="DVC tag of an existing SFT dataset to fetch instead of building"
    )
    p.add_argument("--output-uri", help="where train/, validation/ and the dataset card go")
    p.add_argument("--data-docs-uri", help="where the Data Docs site is written")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()

    def body(args: argparse.Namespace) -> dict[str, Any]:
        settings, sft, plan = step_inputs(args)
        golden_version = args.golden_version or golden_version_of(plan)
        dataset_version = args.dataset_version or plan.get("dataset_version")
        output_uri = args.output_uri or plan.get("dataset_uri")
        if not output_uri:
            p.error("--output-uri (or a plan with dataset_uri) is required")
        with tempfile.TemporaryDirectory(prefix="sft-dataset-") as tmp:
            if dataset_version:
                return fetch_dataset(settings, dataset_version, golden_version, output_uri, Path(tmp))
            docs = args.data_docs_uri or plan.get("dataset_docs_uri")
            docs = docs or (run_plan_sibling(plan, DOCS_FOLDER) if plan else None)
            if not golden_version or not docs:
                p.error("--golden-version and --data-docs-uri (or a plan that gives them) are required")
            return build_dataset(
                settings,
                golden_version,
                args.clean_version or plan.get("clean_version"),
                args.references_uri or sft.references_uri,
                output_uri,
                docs,
                Path(tmp),
            )

    return run_step(body, p, argv)


if __name__ == "__main__":
    sys.exit(main())
