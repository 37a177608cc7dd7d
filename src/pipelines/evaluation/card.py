"""The model card: what a summarizer version is, what it was measured on, and what it cannot do.

MLflow has no model-card object; the convention is Markdown as the model version's description (what the
registry UI shows first) and the same file logged to the evaluation run. The card is written from what the
evaluation recorded, never by hand: the version's lineage tags, the metrics overall and per slice beside
the champion's, the gate's decision with every failed check, and the limits of the scorers that produced
the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.evaluation.gate import OVERALL, Decision, Row, metric_values, slices_of

LIMITATIONS = (
    "Grounding, evidence validity and coverage are judged by embedding similarity (`common.grounding`): "
    "it sees topic better than polarity, so a flipped pro or con can pass; across languages it sees only "
    "as far as the profile's grounding model does (its limits are in `common.grounding`).",
    "Toxicity and PII are checked with the ingestion models: a PII kind they do not detect, or toxicity "
    "in a language their model was not trained on, is not seen.",
    "The golden set is small; a slice with fewer rows than `evaluation.min_slice_rows` is reported but "
    "not gated.",
)


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _mean(rows: Sequence[Row], metric: str) -> float | None:
    values = metric_values(rows, metric)
    return sum(values) / len(values) if values else None


def metrics_table(
    metrics: Sequence[str],
    slices: Sequence[str],
    candidate: Sequence[Row],
    champion: Sequence[Row] | None,
) -> list[str]:
    """One Markdown row per slice and metric: candidate, champion, rows."""
    lines = ["| slice | metric | candidate | champion | rows |", "|---|---|---|---|---|"]
    theirs = slices_of(champion, slices) if champion is not None else {}
    for name, rows in slices_of(candidate, slices).items():
        for metric in metrics:
            mine = _mean(rows, metric)
            if mine is None and name != OVERALL:
                continue
            other = _mean(theirs.get(name, []), metric) if champion is not None else None
            lines.append(
                f"| {name} | {metric} | {_cell(mine)} | {_cell(other)} | {len(metric_values(rows, metric))} |"
            )
    return lines


def model_card(
    model_name: str,
    generated: Mapping[str, Any],
    tags: Mapping[str, str],
    scores: Mapping[str, Sequence[Row]],
    decision: Decision,
    metrics: Sequence[str],
    slices: Sequence[str],
    run_id: str,
    base_model_about: str | None = None,
    scanned: Mapping[str, Any] | None = None,
) -> str:
    """The card of the candidate version, as Markdown."""
    candidate = generated["models"]["candidate"]
    champion = generated["models"].get("champion")
    verdict = "passed" if decision.passed else "failed"

    def tag(name: str) -> str:
        return tags.get(name) or "unknown"

    against = (
        f"champion version {champion['version']}" if champion else "no champion (first model: floors only)"
    )
    lines = [
        f"# {model_name} version {candidate['version']}",
        "",
        "## Intended use",
        "",
        "Summarizes one product's customer reviews (English, German, French, Spanish, Italian, Dutch) as "
        "pros and cons in English, each citing the review snippets it stands on, for shoppers on a "
        "marketplace. Batch use only, on contexts retrieved and screened by the pipeline; not a chat model.",
        "",
        "## What it is",
        "",
        f"- base model: {tag('llmops.base_model_id')}",
        f"- adapter: LoRA, registered from training output {tag('llmops.content_sha256')[:12]}",
        f"- prompt: version {tag('llmops.prompt.version')}, sha256 {tag('llmops.prompt.sha256')[:12]}",
        f"- SFT dataset: {tag('llmops.dataset.dvc_tag')}",
        f"- golden set: {generated['golden_version']} ({generated['rows']} products)",
    ]
    if base_model_about:
        lines.append(f"- the base model is {base_model_about}")
    lines += [
        "",
        "## Evaluation",
        "",
        f"Gate **{verdict}** against {against}; MLflow run `{run_id}`.",
        "",
        *metrics_table(metrics, slices, scores["candidate"], scores.get("champion")),
        "",
    ]
    if decision.reasons:
        lines += ["Failed checks:", "", *(f"- {reason}" for reason in decision.reasons), ""]
    if scanned is not None:
        lines += scan_section(scanned)
    lines += ["## Known limitations", "", *(f"- {text}" for text in LIMITATIONS), ""]
    return "\n".join(lines)


def scan_section(scanned: Mapping[str, Any]) -> list[str]:
    """Behaviour, prompt-injection scan and wording against the references: reported, not gated."""
    similarity = scanned["reference_similarity"]
    lines = [
        "## Behaviour, injections and wording (reported, not gated)",
        "",
        "| test | candidate |",
        "|---|---|",
        *(
            f"| {name} (share of golden contexts passing) | {rate:.3f} |"
            for name, rate in scanned["behaviour"].items()
        ),
        f"| giskard injection scan: technique groups with failures | {scanned['injection_scan']['issues']} |",
        "",
        "| similarity to the references | candidate | champion |",
        "|---|---|---|",
    ]
    for metric in ("rouge_l", "chrf", "string_similarity"):
        mine = similarity.get("candidate", {}).get(metric)
        theirs = similarity.get("champion", {}).get(metric)
        lines.append(f"| {metric} | {_cell(mine)} | {_cell(theirs)} |")
    return [
        *lines,
        "",
        f"The giskard report: `{scanned['report_uri']}` and the run's `giskard_scan.html`.",
        "",
    ]


def cost_per_thousand(requests_per_s: float | None, hour_price_usd: float) -> float | None:
    """What 1,000 summaries cost on one serving node at the rate the load test sustained (a request is one
    summary); None when nothing completed."""
    if not requests_per_s:
        return None
    return hour_price_usd / (requests_per_s * 3600) * 1000


def load_test_section(result: Mapping[str, Any], hour_price_usd: float, local: bool) -> str:
    """The card's load-test section, appended after the load test ran (the gate wrote the rest)."""
    cost = cost_per_thousand(result.get("requests_per_s"), hour_price_usd)
    latency = result.get("p95_latency_s")
    lines = [
        "## Load test and cost",
        "",
        f"Load test ({result.get('profile')} profile): {'passed' if result.get('passed') else 'FAILED'}, "
        f"{result.get('requests')} requests, error rate {_cell(result.get('error_rate'))}, "
        f"{_cell(result.get('requests_per_s'))} summaries/s, p95 latency "
        f"{'n/a' if latency is None else f'{latency:.2f} s'}; report `{result.get('report_uri')}`.",
        "",
        f"Cost per 1,000 summaries: {'n/a' if cost is None else f'{cost:.3f} USD'} "
        f"(one serving node at {hour_price_usd:.3f} USD an hour, `serving.gpu_hour_price_usd`, "
        "kept busy at the load test's rate).",
    ]
    if local:
        lines += [
            "",
            "Measured on the local profile's CPU server: the rate, and so the cost, say nothing about the "
            "GPU node the price is for.",
        ]
    return "\n".join([*lines, ""])
