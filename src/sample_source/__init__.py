"""Deterministic sample source data: the `local` profile's review database plus its ground truth.

Tooling, not pipeline code: it seeds the local source (`python -m sample_source`), feeds the local-model
builders (`local_models`), tests and benchmarks, and writes the load test's snippets
(`python -m sample_source.payloads`). It is in neither the MWAA bundle nor the images. Its vocabulary is
JSON data beside `vocab.py`, and its only libraries (python-stdnum, Faker) are dev requirements, so it
runs in the Airflow environment (`make demo`) and the task environment (benchmarks) alike.
"""

from sample_source.generator import (
    DEFAULT_END_DATE,
    DEFECT_KINDS,
    DEFECT_WEIGHTS,
    QUARANTINE_REASON,
    GenerationSummary,
    generate,
    iter_labelled_reviews,
    iter_reviews,
    reference_summary,
    sample_products,
)
from sample_source.pii import iban_valid, luhn_valid
from sample_source.vocab import LANGUAGE_SHARES

__all__ = [
    "DEFAULT_END_DATE",
    "DEFECT_KINDS",
    "DEFECT_WEIGHTS",
    "LANGUAGE_SHARES",
    "QUARANTINE_REASON",
    "GenerationSummary",
    "generate",
    "iban_valid",
    "iter_labelled_reviews",
    "iter_reviews",
    "luhn_valid",
    "reference_summary",
    "sample_products",
]
