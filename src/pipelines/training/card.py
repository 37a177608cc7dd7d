"""The dataset card: what an SFT dataset is and where it came from, versioned with its splits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from common.settings import Settings
from pipelines.training.accounting import Accounting
from pipelines.training.context import ContextSource
from pipelines.training.inputs import sft_settings
from pipelines.training.rows import SPLITS
from pipelines.training.split import mix


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
