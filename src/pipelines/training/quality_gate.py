"""The SFT dataset's quality gate (Great Expectations, Data Docs every run).

It checks row fields, unique example ids, targets that parse with the prompt contract (`common.prompts`),
non-empty pros and cons, snippet counts and lengths, snippets the prompt can render, profile and
language mix in bounds (every language present), no product in both splits or in the golden set, and
the accounting (`pipelines.training.accounting`). A dataset that fails it is not published.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from common.settings import Settings, SftDatasetThresholds
from pipelines.training.accounting import Accounting, Tally
from pipelines.training.inputs import languages_of, sft_settings
from pipelines.training.rows import ROW_FIELDS, SNIPPET_FIELDS, SPLITS, TARGET_FIELDS, TRAIN, VALIDATION

if TYPE_CHECKING:
    import pandas as pd

    from common.expectations import SuiteBatch


def target_problem(target: Any, contract: Any, snippet_count: int | None = None) -> str | None:
    """Why a target is not a valid answer of the prompt contract (as the trainer will write it), or None;
    with `snippet_count`, citing a snippet the example does not show is a problem too."""
    from common.prompts import PromptError, SummaryFormatError, canonical_json

    if not isinstance(target, dict):
        return f"the target is a {type(target).__name__}, not an object"
    try:
        contract.parse_summary(canonical_json(target), snippet_count)
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
                "claims_count": item_count(target, "pros") + item_count(target, "cons"),
                "summary_chars": len(summary) if isinstance(summary, str) else 0,
                "target_problem": target_problem(target, contract, len(snippets)),
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
    "claims_count",
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
        # A grounded target lists no cons when its snippets blame nothing (and says so): what it must
        # name is something its snippets say, on either side.
        gxe.ExpectColumnValuesToBeBetween(column="claims_count", min_value=gates.min_target_items),
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
