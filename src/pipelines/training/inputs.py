"""What the golden-set and SFT-dataset steps both take: the `sft` configuration, a fine-tuning run's plan
(`pipelines.training.plan`) and the options that name where contexts and references come from."""

from __future__ import annotations

import argparse
import posixpath
from collections.abc import Mapping
from typing import Any

from common import storage
from common.settings import Settings, SftDatasetThresholds, SftSettings, get_settings


def sft_settings(settings: Settings) -> tuple[SftSettings, SftDatasetThresholds]:
    """The `sft` section and the `sft_dataset` thresholds, which only these steps require."""
    if settings.sft is None or settings.thresholds.sft_dataset is None:
        raise ValueError("the configuration has no `sft` section or no `sft_dataset` thresholds")
    return settings.sft, settings.thresholds.sft_dataset


def languages_of(settings: Settings) -> list[str]:
    """The languages the data must cover: `sft.languages`, else the ingestion's supported languages."""
    sft, _ = sft_settings(settings)
    return list(sft.languages or settings.ingestion.languages)


def run_plan_sibling(plan: Mapping[str, Any], name: str) -> str:
    """A folder beside the run's dataset folder (`dataset_uri`), for what a plan does not name."""
    return storage.join(posixpath.dirname(str(plan["dataset_uri"]).rstrip("/")), name)


def step_inputs(args: argparse.Namespace) -> tuple[Settings, SftSettings, dict[str, Any]]:
    """The settings, their `sft` section and the run's plan (empty when none is given)."""
    settings = get_settings()
    plan = dict(storage.read_json(args.plan_uri)) if args.plan_uri else {}
    return settings, sft_settings(settings)[0], plan


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
