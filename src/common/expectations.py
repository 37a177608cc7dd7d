"""Great Expectations 1.x suites as a quality gate: validate in-memory batches, write Data Docs, report.

The gates of the heavy steps (the ingestion run, the SFT dataset) work the same way: each batch is a
small pandas DataFrame built for checking (derived columns, counts, never raw text that must not leak),
validated by its own suite through a checkpoint that updates one Data Docs site. The site is written for
every run, pass or fail, so a failed gate can be read in the browser; the step decides what a failure
means (`QualityGateFailed`, nothing published).

Great Expectations is imported here at module level: only heavy steps in the task image import this
module, never a DAG file or an MWAA worker.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import ProgressBarsConfig

from common import storage

STATISTICS = ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations")
RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_counts")


@dataclass(frozen=True)
class SuiteBatch:
    """One batch to validate: its name (suite, asset and checkpoint are named after it), the data, and
    the expectations it must meet."""

    name: str
    frame: pd.DataFrame
    expectations: list[gxe.Expectation]


@dataclass(frozen=True)
class GateOutcome:
    """What a gate run found: per-suite counts, the failed expectations (JSON-ready), the Data Docs."""

    success: bool
    statistics: dict[str, int]
    suites: dict[str, dict[str, Any]]
    failed_expectations: list[dict[str, Any]] = field(default_factory=list)
    data_docs_index_uri: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "statistics": self.statistics,
            "suites": self.suites,
            "failed_expectations": self.failed_expectations,
            "data_docs_index_uri": self.data_docs_index_uri,
        }

    def failed_names(self) -> list[str]:
        """`suite.expectation_type` of every failure, sorted and without repeats: the one-line reason."""
        return sorted({f"{f['suite']}.{f['expectation']}" for f in self.failed_expectations})


def json_safe(value: Any) -> Any:
    """GX reports missing values as NaN, which is not JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def exception_messages(info: dict[str, Any] | None) -> list[str]:
    """GX reports an expectation that could not be computed either flat or keyed by metric."""
    if not info:
        return []
    entries = [info] if "raised_exception" in info else list(info.values())
    return [
        str(e.get("exception_message")) for e in entries if isinstance(e, dict) and e.get("raised_exception")
    ]


def failure_record(suite: str, outcome: Any) -> dict[str, Any]:
    """One failed expectation as JSON: its type, its arguments and what was observed."""
    config = outcome.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    result = outcome.result or {}
    observed = (
        {"observed_value": result["observed_value"]}
        if "observed_value" in result
        else {k: result[k] for k in RESULT_KEYS if k in result}
    )
    errors = exception_messages(outcome.exception_info)
    if errors:
        observed["exceptions"] = errors
    failure = {"suite": suite, "expectation": config.type, "kwargs": kwargs, "observed": observed}
    # Round-trip through JSON: kwargs hold GX objects (row conditions) and observed values numpy scalars.
    return json.loads(json.dumps(json_safe(failure), default=str))


def ephemeral_context(docs_dir: str, site_name: str) -> Any:
    """An ephemeral context whose only Data Docs site is `docs_dir`: nothing else is written."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    for site in list(context.get_site_names()):
        context.delete_data_docs_site(site)
    context.add_data_docs_site(
        site_name,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def run_suites(
    batches: Sequence[SuiteBatch], data_docs_uri: str, site_name: str, source_name: str
) -> GateOutcome:
    """Validate every batch with its suite and publish the Data Docs site to `data_docs_uri`."""
    suites: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="data-docs-") as docs_dir:
        context = ephemeral_context(docs_dir, site_name)
        source = context.data_sources.add_pandas(source_name)
        for batch_spec in batches:
            name, frame = batch_spec.name, batch_spec.frame
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("run")
            suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=batch_spec.expectations))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            # One checkpoint per batch: a checkpoint passes the same DataFrame to all its validations.
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[definition],
                    actions=[UpdateDataDocsAction(name="data_docs", site_names=[site_name])],
                    result_format="SUMMARY",
                )
            )
            for outcome in checkpoint.run(batch_parameters={"dataframe": frame}).run_results.values():
                counts = {k: int(outcome.statistics[k]) for k in STATISTICS}
                suites[name] = {"success": bool(outcome.success), "rows": len(frame), **counts}
                failures += [failure_record(name, r) for r in outcome.results if not r.success]
        storage.upload_dir(docs_dir, data_docs_uri)
    return GateOutcome(
        success=all(s["success"] for s in suites.values()),
        statistics={key: sum(s[key] for s in suites.values()) for key in STATISTICS},
        suites=suites,
        failed_expectations=failures,
        data_docs_index_uri=storage.join(data_docs_uri, "index.html"),
    )
