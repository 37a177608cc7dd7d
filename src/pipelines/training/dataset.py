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

An example is one product in one language: the product's balanced context in that language (the most
helpful positive and negative snippets and the most recent ones, `common.retrieval`) as the input, and
its reference summary (`pros`, `cons`, a one-sentence `summary`) as the target. References come from a
curated file (`sft.references_uri`: the sample generator's `products.jsonl` locally, a human-written file
of the same format on S3); a record may name its `language`, otherwise every configured language in which
the product has reviews gives an example. Contexts come from the live index behind the `reviews` alias,
or, with `--clean-version`, from an index built in the step's scratch folder from exactly that DVC
version of the clean data, so a dataset can be rebuilt from pinned inputs.

The steps, each counted so that what went in equals what was kept plus what was removed, by reason:

1. **Decontamination** against the golden set (`--golden-version`, fetched from DVC): its products never
   appear; a snippet whose review is in the golden set, or whose text is an exact or near copy of a
   golden snippet (MinHash over word 3-shingles, the ingestion's `DuplicateIndex`, threshold
   `sft.decontamination.near_duplicate_jaccard`), is dropped; so is a snippet of a forgotten review. A
   context left with fewer than `min_context_snippets` snippets is dropped as too thin.
2. **Split** by product: a hash of the product id decides, so no product is in both splits and a product
   stays in its split as the references grow.
3. **Stratification** (the reference design's positivity-bias incident came from training on mostly
   positive products): examples of a capped profile (`max_profile_share`, mostly_positive) are removed
   from each split until the cap holds; then train examples of the rarer profiles are repeated,
   deterministically and at most `sft.max_copies` times in all, up to their `min_profile_share` floors.
4. **Quality gate** (Great Expectations, Data Docs every run): row fields, unique example ids, targets that
   parse with the prompt contract (`common.prompts`), non-empty pros and cons, snippet counts and lengths,
   snippets the prompt can render, profile and language mix in bounds (every language present), no
   product in both splits or in the golden set, and the accounting. A failure raises `QualityGateFailed`
   (exit code 3) and publishes nothing.
5. **Versioning**: the two splits and `dataset_card.json` are versioned together in the
   DVC registry at `sft.registry_path`; the tag is named after the content, so the same inputs give the
   same tag. The files are also copied to `--output-uri` (`train/train.jsonl`,
   `validation/validation.jsonl`: one folder per training channel). The result carries the version.

Row format (what the trainer reads): `example_id`, `product_id`, `language`, `profile`, `split`, `repeat`
(0 for an original, n for its n-th oversampled copy), `source`, `snippets` (`review_id`, `chunk_id`,
`star_rating`, `text`, `bucket`) and `target` (`pros`, `cons`, `summary`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import posixpath
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import storage
from common.data_versioning import DataRegistry, DataVersion
from common.ids import stable_hash
from common.retrieval import ProductContext, Retriever, Snippet
from common.settings import DedupSettings, Settings, SftDatasetThresholds, SftSettings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tombstones import forgotten_review_ids

if TYPE_CHECKING:
    import pandas as pd

    from common.expectations import SuiteBatch
    from common.vector_store import VectorStore

log = logging.getLogger(__name__)

TRAIN, VALIDATION, GOLDEN = "train", "validation", "golden"
SPLITS = (TRAIN, VALIDATION)
# Each split in a folder of its own: the training job reads them as two channels.
SPLIT_FILES = {TRAIN: "train/train.jsonl", VALIDATION: "validation/validation.jsonl"}
CARD_FILE = "dataset_card.json"
GOLDEN_FILE = "golden.jsonl"
DOCS_FOLDER = "sft_data_docs"  # beside the run's dataset folder, when a plan names no Data Docs URI
SOURCE = "reference_summary"  # where targets come from: a curated reference, not a model's output
ROW_FIELDS = (
    "example_id",
    "language",
    "product_id",
    "profile",
    "repeat",
    "snippets",
    "source",
    "split",
    "target",
)
SNIPPET_FIELDS = ("bucket", "chunk_id", "review_id", "star_rating", "text")
TARGET_FIELDS = ("cons", "pros", "summary")
DOCS_SITE = "sft_dataset"
# The index a pinned clean version is embedded into, inside the step's scratch folder.
PINNED_INDEX = "sft-context"

# Removal reasons, by what they remove.
INVALID_REFERENCE = "invalid_reference"
DUPLICATE_REFERENCE = "duplicate_reference"
GOLDEN_PRODUCT = "golden_product"
NO_USABLE_CONTEXT = "no_usable_context"
PROFILE_CAP = "profile_cap"
THIN_CONTEXT = "thin_context"
THIN_AFTER_DECONTAMINATION = "thin_after_decontamination"
FORGOTTEN_REVIEW = "forgotten_review"
GOLDEN_REVIEW = "golden_review"
GOLDEN_EXACT_DUPLICATE = "golden_exact_duplicate"
GOLDEN_NEAR_DUPLICATE = "golden_near_duplicate"
IN_REMOVED_EXAMPLES = "in_removed_examples"
_COPY_REASONS = {"duplicate_text": GOLDEN_EXACT_DUPLICATE, "near_duplicate": GOLDEN_NEAR_DUPLICATE}


def sft_settings(settings: Settings) -> tuple[SftSettings, SftDatasetThresholds]:
    """The `sft` section and the `sft_dataset` thresholds, which only these steps require."""
    if settings.sft is None or settings.thresholds.sft_dataset is None:
        raise ValueError("the configuration has no `sft` section or no `sft_dataset` thresholds")
    return settings.sft, settings.thresholds.sft_dataset


def languages_of(settings: Settings) -> list[str]:
    """The languages the data must cover: `sft.languages`, else the ingestion's supported languages."""
    sft, _ = sft_settings(settings)
    return list(sft.languages or settings.ingestion.languages)


# --- references -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A curated summary of one product: the target of its examples."""

    product_id: str
    profile: str
    target: dict[str, Any]
    language: str | None = None  # the summary's reviews' language, when the curator names one


def read_references(uri: str, profiles: Sequence[str]) -> tuple[list[Reference], Counter[str]]:
    """The usable references in file order, and the count of lines skipped by reason.

    Only the structure is checked here (a JSON object with a product id, a known profile and a
    `reference_summary` object); whether the summary itself is valid is the quality gate's question,
    so a bad one fails the run visibly instead of vanishing.
    """
    references: list[Reference] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    with storage.open_uri(uri, "r") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            reference = _parse_reference(line, profiles)
            if reference is None:
                log.warning("references line %d is not a usable reference", number)
                skipped[INVALID_REFERENCE] += 1
            elif reference.product_id in seen:
                skipped[DUPLICATE_REFERENCE] += 1
            else:
                seen.add(reference.product_id)
                references.append(reference)
    return references, skipped


def _parse_reference(line: str, profiles: Sequence[str]) -> Reference | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    product_id, profile = record.get("product_id"), record.get("profile")
    target, language = record.get("reference_summary"), record.get("language")
    if not isinstance(product_id, str) or not product_id.strip() or profile not in profiles:
        return None
    if not isinstance(target, dict) or (language is not None and not isinstance(language, str)):
        return None
    return Reference(product_id, str(profile), dict(target), language)


# --- contexts ---------------------------------------------------------------------------------


@dataclass
class ContextSource:
    """Where contexts are retrieved from, and how the dataset card describes it."""

    retriever: Retriever
    description: dict[str, Any]  # versioned with the data: what the contexts depend on, nothing run-bound
    index: str  # the concrete index (the result names it; the card does not)


def open_context_source(
    settings: Settings, clean_version: str | None, product_ids: Iterable[str], work_dir: Path
) -> ContextSource:
    """The live index behind the alias, or an index of the pinned clean data (only `product_ids`)."""
    if clean_version is None:
        retriever = Retriever.from_settings(settings)
        alias = settings.vector_store.alias
        index = retriever.store.resolve_alias(alias) or alias
        return ContextSource(retriever, {"kind": "index", "alias": alias}, index)
    store = index_clean_version(settings, clean_version, set(product_ids), work_dir)
    retriever = Retriever(store, settings.retrieval, PINNED_INDEX)
    return ContextSource(retriever, {"kind": "clean_version", "clean_version": clean_version}, PINNED_INDEX)


def index_clean_version(
    settings: Settings, clean_version: str, product_ids: set[str], work_dir: Path
) -> VectorStore:
    """Chunk and embed the reviews of `product_ids` in one DVC version of the clean data into a LanceDB
    index in `work_dir`, with the embedding pipeline's own chunker, model and writer: the same chunks
    (and chunk ids) the live index holds for that data. Forgotten reviews are left out."""
    from common.vector_store.lance import LanceVectorStore
    from pipelines.embedding.chunking import Chunker
    from pipelines.embedding.embed import REGISTRY_CLEAN_PATH, EmbeddingWriter, iter_reviews
    from pipelines.embedding.embedders import open_embedder

    registry = DataRegistry.from_settings(settings)
    local = fetch_version(registry, REGISTRY_CLEAN_PATH, clean_version, work_dir / "clean")
    partitions = sorted(str(p) for p in local.iterdir() if p.name.startswith("dt="))
    embedder = open_embedder(settings)
    overlap = settings.embedding.overlap_tokens
    chunker = Chunker.for_model(embedder.tokenizer_file, embedder.max_tokens, overlap, embedder.version)
    store = LanceVectorStore(work_dir / "vector_store")
    store.create_index(PINNED_INDEX, embedder.dimension)
    writer = EmbeddingWriter(embedder, chunker, store, PINNED_INDEX)
    forgotten = forgotten_review_ids(settings.lake_uri)
    for reviews in iter_reviews(partitions, settings.embedding.read_batch_rows):
        writer.write([r for r in reviews if r["product_id"] in product_ids], forgotten, replace=False)
    log.info("indexed clean version %s for %d product(s): %s", clean_version, len(product_ids), writer.counts)
    return store


def snippet_record(snippet: Snippet) -> dict[str, Any]:
    hit = snippet.hit
    return {
        "review_id": hit.review_id,
        "chunk_id": hit.chunk_id,
        "star_rating": hit.star_rating,
        "text": hit.text,
        "bucket": snippet.bucket,
    }


def iter_contexts(
    retriever: Retriever, references: Sequence[Reference], languages: Sequence[str], batch_products: int
) -> Iterator[tuple[Reference, str, ProductContext]]:
    """Each reference's balanced context in each of its languages (its own, or every configured one)
    that has at least one snippet, reference by reference; many products per retrieval call."""
    for start in range(0, len(references), batch_products):
        batch = references[start : start + batch_products]
        contexts: dict[str, dict[str, ProductContext]] = {}
        for language in languages:
            ids = [r.product_id for r in batch if r.language in (None, language)]
            if ids:
                contexts[language] = retriever.balanced(ids, language)
        for reference in batch:
            for language in languages:
                context = contexts.get(language, {}).get(reference.product_id)
                if context is not None and context.snippets:
                    yield reference, language, context


def example_row(
    kind: str,
    reference: Reference,
    language: str,
    snippets: list[dict[str, Any]],
    split: str,
    repeat: int = 0,
) -> dict[str, Any]:
    """One row of the trainer's format; its id is stable for the same product, language and copy."""
    return {
        "example_id": stable_hash(kind, reference.product_id, language, repeat),
        "product_id": reference.product_id,
        "language": language,
        "profile": reference.profile,
        "split": split,
        "repeat": repeat,
        "source": SOURCE,
        "snippets": snippets,
        "target": reference.target,
    }


# --- golden set -------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Rows as canonical JSON lines (sorted keys, UTF-8 as is): the same rows give the same bytes."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def fetch_version(registry: DataRegistry, path_in_registry: str, tag: str, dest: Path) -> Path:
    """One version of a registry directory in `dest`; its tag must exist."""
    if registry.tag_commit(tag) is None:
        raise ValueError(f"{registry.registry_url} has no version {tag!r}")
    return registry.fetch(path_in_registry, tag, dest)


class Decontaminator:
    """What the golden set holds, to keep it out of training data: its products, its reviews, and its
    snippets' texts indexed for exact and near copies (the ingestion's MinHash `DuplicateIndex`)."""

    def __init__(
        self, golden_rows: Sequence[Mapping[str, Any]], dedup: DedupSettings, state_path: Path
    ) -> None:
        from pipelines.ingestion.noise import DuplicateIndex

        self.products = {str(row["product_id"]) for row in golden_rows}
        self.review_ids: set[str] = set()
        self.index = DuplicateIndex(state_path, dedup)
        for row in golden_rows:
            for snippet in row["snippets"]:
                self.review_ids.add(str(snippet["review_id"]))
                self.index.add_text(str(snippet["review_id"]), str(snippet["text"]))
        self.index.commit()

    def reason(self, snippet: Mapping[str, Any]) -> str | None:
        """Why a snippet may not be trained on, or None."""
        if snippet["review_id"] in self.review_ids:
            return GOLDEN_REVIEW
        found = self.index.find_copy(str(snippet["text"]))
        return None if found is None else _COPY_REASONS[found[0]]

    def close(self) -> None:
        self.index.close()


# --- accounting -------------------------------------------------------------------------------


@dataclass
class Tally:
    """One level of the accounting: `in_ == kept + sum(removed)`, by reason."""

    in_: int = 0
    kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.in_,
            "kept": self.kept,
            "removed": dict(sorted(self.removed.items())),
            "removed_total": sum(self.removed.values()),
        }

    @property
    def balanced(self) -> bool:
        return self.in_ == self.kept + sum(self.removed.values())


@dataclass
class Accounting:
    products: Tally = field(default_factory=Tally)
    examples: Tally = field(default_factory=Tally)
    snippets: Tally = field(default_factory=Tally)
    oversampled_copies: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "products": self.products.to_dict(),
            "examples": self.examples.to_dict(),
            "snippets": self.snippets.to_dict(),
            "oversampled_copies": self.oversampled_copies,
        }


@dataclass
class Candidate:
    """A (product, language) example on its way through the builder."""

    reference: Reference
    language: str
    snippets: list[dict[str, Any]]
    split: str = TRAIN


def collect_candidates(
    contexts: Iterable[tuple[Reference, str, ProductContext]],
    decontaminator: Decontaminator,
    forgotten: frozenset[str],
    min_snippets: int,
    accounting: Accounting,
) -> list[Candidate]:
    """Drop forgotten and contaminated snippets, then contexts too thin to learn from; count both."""
    kept: list[Candidate] = []
    tally_x, tally_s = accounting.examples, accounting.snippets
    for reference, language, context in contexts:
        snippets = [snippet_record(s) for s in context.snippets]
        tally_x.in_ += 1
        tally_s.in_ += len(snippets)
        usable = []
        for snippet in snippets:
            reason = FORGOTTEN_REVIEW if snippet["review_id"] in forgotten else decontaminator.reason(snippet)
            if reason is None:
                usable.append(snippet)
            else:
                tally_s.removed[reason] += 1
        if len(usable) < min_snippets:
            tally_x.removed[THIN_CONTEXT if len(snippets) < min_snippets else THIN_AFTER_DECONTAMINATION] += 1
            tally_s.removed[IN_REMOVED_EXAMPLES] += len(usable)
            continue
        kept.append(Candidate(reference, language, usable))
    return kept


# --- split and stratification -----------------------------------------------------------------


def split_of(product_id: str, seed: str, validation_share: float) -> str:
    """`validation` for a product whose hash falls under the share: stable as other products come and go."""
    position = int(stable_hash(seed, product_id, length=15), 16) / 16**15
    return VALIDATION if position < validation_share else TRAIN


def _order(seed: str, purpose: str, candidate: Candidate) -> str:
    """A deterministic, content-free order among examples (which to copy first, which to drop first)."""
    return stable_hash(seed, purpose, candidate.reference.product_id, candidate.language)


def oversample_targets(
    counts: Mapping[str, int], floors: Mapping[str, float], max_copies: int
) -> dict[str, int]:
    """Examples per profile after oversampling: each floored profile is raised towards `floor x total`,
    where the total grows with the copies (a fixed point), never beyond `max_copies` times its count.
    A floor that would need more is left short, and the gate says so."""
    targets = dict(counts)
    total = sum(counts.values())
    while True:
        for profile, floor in floors.items():
            n = counts.get(profile, 0)
            targets[profile] = min(max(n, math.ceil(floor * total)), n * max_copies)
        new_total = sum(targets.values())
        if new_total == total:
            return targets
        total = new_total


def oversample(
    candidates: list[Candidate], floors: Mapping[str, float], max_copies: int, seed: str
) -> list[tuple[Candidate, int]]:
    """Copies (candidate, repeat number) of rarer profiles' examples, cycling through each profile's
    examples in a hashed order, so the copies are spread evenly and the same every run."""
    by_profile: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_profile[candidate.reference.profile].append(candidate)
    targets = oversample_targets({p: len(c) for p, c in by_profile.items()}, floors, max_copies)
    copies: list[tuple[Candidate, int]] = []
    for profile, members in by_profile.items():
        ordered = sorted(members, key=lambda c: _order(seed, "oversample", c))
        for i in range(targets[profile] - len(members)):
            copies.append((ordered[i % len(ordered)], 1 + i // len(ordered)))
    return copies


def cap_profiles(
    entries: list[tuple[Candidate, int]], caps: Mapping[str, float], seed: str
) -> tuple[list[tuple[Candidate, int]], list[tuple[Candidate, int]]]:
    """(kept, removed): examples of a capped profile are removed, last in hashed order first, until its
    share of the split is at most its cap. Copies go before originals."""
    kept = list(entries)
    removed: list[tuple[Candidate, int]] = []
    changed = True
    while changed:
        changed = False
        for profile, cap in caps.items():
            mine = [e for e in kept if e[0].reference.profile == profile]
            others = len(kept) - len(mine)
            allowed = len(mine) if cap >= 1 else math.floor(cap * others / (1 - cap) + 1e-9)
            if len(mine) <= allowed:
                continue
            ordered = sorted(mine, key=lambda e: (e[1], _order(seed, "cap", e[0])))
            drop = {id(e) for e in ordered[allowed:]}
            removed += [e for e in kept if id(e) in drop]
            kept = [e for e in kept if id(e) not in drop]
            changed = True
    return kept, removed


def mix(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, int]:
    return dict(sorted(Counter(str(row[key]) for row in rows).items()))


# --- the quality gate -------------------------------------------------------------------------


def target_problem(target: Any, contract: Any) -> str | None:
    """Why a target is not a valid answer of the prompt contract (as the trainer will write it), or None."""
    from common.prompts import PromptError, SummaryFormatError, canonical_json

    if not isinstance(target, dict):
        return f"the target is a {type(target).__name__}, not an object"
    try:
        contract.parse_summary(canonical_json(target))
    except (PromptError, SummaryFormatError) as error:
        return str(error)
    return None


def _snippet_problem(snippets: Any, contract: Any) -> str | None:
    """Why the prompt could not be rendered from these snippets, or None."""
    from common.prompts import PromptError

    try:
        contract.user_message(snippets)
    except (PromptError, TypeError, AttributeError) as error:
        return str(error)
    return None


def _texts(snippets: Any) -> list[str]:
    return [s["text"] for s in snippets if isinstance(s, dict) and isinstance(s.get("text"), str)]


def item_count(target: Any, key: str) -> int:
    """How many items a target lists under `key` (0 when it lists none, or is not a list)."""
    value = target.get(key) if isinstance(target, dict) else None
    return len(value) if isinstance(value, list) else 0


def examples_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per example with the columns the suite checks; snippet texts are reduced to lengths."""
    import pandas as pd

    from common.prompts import load_prompt

    contract = load_prompt()
    records = []
    for row in rows:
        snippets, target = row.get("snippets") or [], row.get("target")
        texts = _texts(snippets)
        snippet_fields = sorted({k for s in snippets if isinstance(s, dict) for k in s})
        summary = target.get("summary") if isinstance(target, dict) else None
        records.append(
            {
                "example_id": row.get("example_id"),
                "product_id": row.get("product_id"),
                "language": row.get("language"),
                "profile": row.get("profile"),
                "split": row.get("split"),
                "row_fields": ",".join(sorted(row)),
                "snippet_fields": ",".join(snippet_fields),
                "target_fields": ",".join(sorted(target)) if isinstance(target, dict) else "",
                "snippet_count": len(snippets),
                "snippet_min_chars": min((len(t) for t in texts), default=0),
                "snippet_max_chars": max((len(t) for t in texts), default=0),
                "pros_count": item_count(target, "pros"),
                "cons_count": item_count(target, "cons"),
                "summary_chars": len(summary) if isinstance(summary, str) else 0,
                "target_problem": target_problem(target, contract),
                "snippet_problem": _snippet_problem(snippets, contract),
            }
        )
    return pd.DataFrame(records, columns=list(_EXAMPLE_COLUMNS))


_EXAMPLE_COLUMNS = (
    "example_id",
    "product_id",
    "language",
    "profile",
    "split",
    "row_fields",
    "snippet_fields",
    "target_fields",
    "snippet_count",
    "snippet_min_chars",
    "snippet_max_chars",
    "pros_count",
    "cons_count",
    "summary_chars",
    "target_problem",
    "snippet_problem",
)


def examples_expectations(settings: Settings, languages: Sequence[str]) -> list[Any]:
    import great_expectations.expectations as gxe

    sft, gates = sft_settings(settings)
    retrieval = settings.retrieval
    max_snippets = retrieval.k_positive + retrieval.k_negative + retrieval.k_recent
    not_null = ("example_id", "product_id", "language", "profile", "split")
    return [
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in not_null],
        gxe.ExpectColumnValuesToBeUnique(column="example_id"),
        gxe.ExpectColumnValuesToBeInSet(
            column="row_fields", value_set=[",".join(ROW_FIELDS)], notes="Every row has exactly these fields."
        ),
        gxe.ExpectColumnValuesToBeInSet(column="snippet_fields", value_set=[",".join(SNIPPET_FIELDS)]),
        gxe.ExpectColumnValuesToBeInSet(column="target_fields", value_set=[",".join(TARGET_FIELDS)]),
        gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(languages)),
        gxe.ExpectColumnValuesToBeInSet(column="profile", value_set=list(sft.profiles)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnValuesToBeBetween(
            column="snippet_count", min_value=gates.min_context_snippets, max_value=max_snippets
        ),
        gxe.ExpectColumnValuesToBeBetween(column="snippet_min_chars", min_value=gates.min_snippet_chars),
        gxe.ExpectColumnValuesToBeBetween(column="snippet_max_chars", max_value=gates.max_snippet_chars),
        gxe.ExpectColumnValuesToBeBetween(column="pros_count", min_value=gates.min_target_items),
        gxe.ExpectColumnValuesToBeBetween(column="cons_count", min_value=gates.min_target_items),
        gxe.ExpectColumnValuesToBeBetween(column="summary_chars", min_value=1),
        gxe.ExpectColumnValuesToBeNull(
            column="target_problem",
            notes="The target, serialized as the trainer writes it, parses with the prompt contract.",
        ),
        gxe.ExpectColumnValuesToBeNull(
            column="snippet_problem", notes="The prompt contract renders the snippets (text, 1-5 stars)."
        ),
    ]


def products_frame(rows: Sequence[Mapping[str, Any]], golden_products: set[str]) -> pd.DataFrame:
    import pandas as pd

    splits: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        splits[str(row["product_id"])].add(str(row["split"]))
    records = [
        {"product_id": p, "splits": len(s), "in_golden": p in golden_products}
        for p, s in sorted(splits.items())
    ]
    return pd.DataFrame(records, columns=["product_id", "splits", "in_golden"])


def products_expectations() -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="splits", min_value=1, max_value=1, notes="No product is in both train and validation."
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="in_golden", value_set=[False], notes="No product of the golden set is trained on."
        ),
    ]


def mix_frame(
    rows: Sequence[Mapping[str, Any]], settings: Settings, languages: Sequence[str]
) -> pd.DataFrame:
    """One row per (split, profile or language) with its share and the bounds it must be within. Every
    configured language and profile has a row, present or not, so a missing one fails its floor."""
    import pandas as pd

    sft, gates = sft_settings(settings)
    records = []
    for split in SPLITS:
        members = [r for r in rows if r["split"] == split]
        profiles = Counter(str(r["profile"]) for r in members)
        for profile in sft.profiles:
            floor = gates.min_profile_share.get(profile, 0.0) if split == TRAIN else 0.0
            cap = gates.max_profile_share.get(profile, 1.0)
            records.append(
                _mix_record(split, "profile", profile, profiles[profile], len(members), floor, cap)
            )
        if split == TRAIN:
            languages_seen = Counter(str(r["language"]) for r in members)
            for language in languages:
                records.append(
                    _mix_record(
                        split,
                        "language",
                        language,
                        languages_seen[language],
                        len(members),
                        gates.min_language_share,
                        gates.max_language_share,
                    )
                )
    columns = ["split", "dimension", "value", "count", "share", "min_share", "max_share"]
    return pd.DataFrame(records, columns=columns)


def _mix_record(
    split: str, dimension: str, value: str, count: int, total: int, low: float, high: float
) -> dict:
    share = count / total if total else 0.0
    return {
        "split": split,
        "dimension": dimension,
        "value": value,
        "count": count,
        "share": share,
        "min_share": low,
        "max_share": high,
    }


def mix_expectations() -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="share",
            column_B="min_share",
            or_equal=True,
            notes="Stratification floors: polarized and negative products and every language are in.",
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="max_share",
            column_B="share",
            or_equal=True,
            notes="Caps: no profile (mostly positive above all) or language crowds out the others.",
        ),
    ]


def summary_frame(rows: Sequence[Mapping[str, Any]], accounting: Accounting) -> pd.DataFrame:
    import pandas as pd

    record: dict[str, int] = {
        "train_examples": sum(r["split"] == TRAIN for r in rows),
        "validation_examples": sum(r["split"] == VALIDATION for r in rows),
    }
    for level in ("products", "examples", "snippets"):
        tally: Tally = getattr(accounting, level)
        record[f"{level}_in"] = tally.in_
        record[f"{level}_accounted"] = tally.kept + sum(tally.removed.values())
    return pd.DataFrame([record])


def summary_expectations(gates: SftDatasetThresholds) -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(column="train_examples", min_value=gates.min_train_examples),
        gxe.ExpectColumnValuesToBeBetween(
            column="validation_examples", min_value=gates.min_validation_examples
        ),
        *[
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A=f"{level}_in",
                column_B=f"{level}_accounted",
                notes=f"Nothing lost: every {level[:-1]} in is kept or removed with a reason.",
            )
            for level in ("products", "examples", "snippets")
        ],
    ]


def gate_batches(
    rows: Sequence[Mapping[str, Any]],
    settings: Settings,
    golden_products: set[str],
    accounting: Accounting,
) -> list[SuiteBatch]:
    from common.expectations import SuiteBatch

    _, gates = sft_settings(settings)
    languages = languages_of(settings)
    return [
        SuiteBatch("sft_examples", examples_frame(rows), examples_expectations(settings, languages)),
        SuiteBatch("sft_products", products_frame(rows, golden_products), products_expectations()),
        SuiteBatch("sft_mix", mix_frame(rows, settings, languages), mix_expectations()),
        SuiteBatch("sft_summary", summary_frame(rows, accounting), summary_expectations(gates)),
    ]


# --- building -----------------------------------------------------------------------------------


def build_rows(
    settings: Settings,
    references: list[Reference],
    source: ContextSource,
    decontaminator: Decontaminator,
    accounting: Accounting,
) -> list[dict[str, Any]]:
    """References in, split and stratified rows out; every removal counted in `accounting`."""
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
    rows = [example_row("sft", c.reference, c.language, c.snippets, c.split, repeat) for c, repeat in entries]
    return sorted(rows, key=lambda r: (r["split"], r["product_id"], r["language"], r["repeat"]))


def retrieval_parameters(settings: Settings) -> dict[str, Any]:
    """The balanced strategy's parameters: contexts, and so the data, change with them."""
    return settings.retrieval.model_dump(
        include={"k_positive", "k_negative", "k_recent", "positive_min_stars", "negative_max_stars"}
    )


def dataset_card(
    rows: Sequence[Mapping[str, Any]],
    accounting: Accounting,
    settings: Settings,
    golden: Mapping[str, Any],
    clean_version: str | None,
    references_uri: str,
    source: ContextSource,
) -> dict[str, Any]:
    """What the dataset is and where it came from. Versioned with the data, so it holds nothing that
    changes between identical runs (no timestamps, run ids or index names)."""
    from common.prompts import load_prompt

    sft, gates = sft_settings(settings)
    by_split = {split: [r for r in rows if r["split"] == split] for split in SPLITS}
    return {
        "dataset": sft.registry_path,
        "counts": {
            split: {"examples": len(members), "products": len({r["product_id"] for r in members})}
            for split, members in by_split.items()
        },
        "mix": {
            split: {"profile": mix(members, "profile"), "language": mix(members, "language")}
            for split, members in by_split.items()
        },
        "accounting": accounting.to_dict(),
        "golden_version": dict(golden),
        "clean_version": clean_version,
        "references_uri": references_uri,
        "context_source": source.description,
        "retrieval": retrieval_parameters(settings),
        "prompt": load_prompt().prompt_id,
        "parameters": sft.model_dump(exclude={"references_uri", "golden", "context_batch_products"}),
        "thresholds": gates.model_dump(),
    }


def publish(
    registry: DataRegistry,
    path_in_registry: str,
    files: Mapping[str, Any],
    output_uri: str,
    message: str,
    work_dir: Path,
) -> DataVersion:
    """Version a directory of JSONL row lists and JSON documents in the registry, then copy it to
    `output_uri`. DVC first: whatever a reader finds at the output has a version to pin."""
    folder = work_dir / "publish"
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jsonl"):
            write_jsonl(folder / name, content)
        else:
            text = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False)
            (folder / name).write_text(text + "\n", encoding="utf-8")
    registry.ensure_exists()
    version = registry.version_directory(folder, path_in_registry, message)
    storage.upload_dir(str(folder), output_uri)
    return version


def version_dict(version: DataVersion) -> dict[str, Any]:
    return {k: v for k, v in version.to_dict().items() if k in ("registry_url", "path", "rev", "tag", "md5")}


def pinned_version(registry: DataRegistry, path_in_registry: str, tag: str) -> dict[str, Any]:
    """The version record of an existing tag, as `version_dict` gives one for a new version."""
    return {
        "registry_url": registry.registry_url,
        "path": path_in_registry,
        "tag": tag,
        "rev": registry.tag_commit(tag),
    }


def output_uris(output_uri: str) -> dict[str, str]:
    """Where the dataset's files are: the split folders are the training job's two channels."""
    return {
        "output_uri": output_uri,
        "train_uri": storage.join(output_uri, SPLIT_FILES[TRAIN]),
        "validation_uri": storage.join(output_uri, SPLIT_FILES[VALIDATION]),
        "train_channel_uri": storage.join(output_uri, TRAIN),
        "validation_channel_uri": storage.join(output_uri, VALIDATION),
        "card_uri": storage.join(output_uri, CARD_FILE),
    }


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
        rows = build_rows(settings, references, source, decontaminator, accounting)
    finally:
        decontaminator.close()

    batches = gate_batches(rows, settings, decontaminator.products, accounting)
    outcome = run_suites(batches, data_docs_uri, DOCS_SITE, "sft_dataset")
    card = dataset_card(rows, accounting, settings, golden, clean_version, references_uri, source)
    result: dict[str, Any] = {
        "pinned": False,
        "golden_version": golden_version,
        "clean_version": clean_version,
        "references_uri": references_uri,
        "context_source": {**source.description, "index": source.index},
        "counts": card["counts"],
        "mix": card["mix"],
        "accounting": card["accounting"],
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


def run_plan_sibling(plan: Mapping[str, Any], name: str) -> str:
    """A folder beside the run's dataset folder (`dataset_uri`), for what a plan does not name."""
    return storage.join(posixpath.dirname(str(plan["dataset_uri"]).rstrip("/")), name)


def step_inputs(args: argparse.Namespace) -> tuple[Settings, SftSettings, dict[str, Any]]:
    """The settings, their `sft` section and the run's plan (empty when none is given)."""
    settings = get_settings()
    plan = dict(storage.read_json(args.plan_uri)) if args.plan_uri else {}
    return settings, sft_settings(settings)[0], plan


def golden_version_of(plan: Mapping[str, Any]) -> str | None:
    """The run's golden version: pinned in the plan, else what the run's golden step versioned."""
    if plan.get("golden_version"):
        return str(plan["golden_version"])
    result_uri = plan.get("golden_result_uri")
    if result_uri and storage.exists(result_uri):
        return (storage.read_json(result_uri).get("dvc") or {}).get("tag")
    return None


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """The options both training-data steps take: the run's plan, and where contexts and references
    come from."""
    p.add_argument(
        "--plan-uri",
        help="a fine-tuning run's plan (pipelines.training.plan): the defaults of the other options",
    )
    p.add_argument(
        "--clean-version", help="DVC tag of the clean data to build contexts from; else the live index"
    )
    p.add_argument("--references-uri", help="reference summaries (JSONL); default: sft.references_uri")


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
