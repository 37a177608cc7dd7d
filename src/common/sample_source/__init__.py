"""Deterministic sample source data: the `local` profile's review database plus its ground truth.

Standard library only, so it runs in the Airflow environment (`make demo`) and the task environment
(benchmarks) alike.
"""

from common.sample_source.generator import (
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
from common.sample_source.pii import iban_valid, luhn_valid
from common.sample_source.vocab import LANGUAGE_SHARES

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
