"""What one evaluation run compares and where each step writes, decided once on the worker.

The trigger form (or the `summarizer_candidate` Asset event, with the form's defaults) names the alias to
evaluate, the alias to compare against, a golden-set version to pin (empty: the candidate's own) and the
approval policy. The heavy steps read this plan from a URI and write their results beside it; the answers,
scores and load-test report stay in the lake (`evaluation/<run>/`) for audit, the plan and the golden
copy are scratch, removed by the run's teardown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common import storage
from common.ids import stable_hash
from common.settings import Settings

APPROVAL_POLICIES = ("human", "auto")  # a person approves in the Airflow UI, or the run approves itself


def plan_run(settings: Settings, run_id: str, logical_date: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's plan; raises ValueError on a trigger form that cannot be honoured."""
    policy = params.get("approval_policy") or "human"
    if policy not in APPROVAL_POLICIES:
        raise ValueError(f"approval policy {policy!r} is none of {APPROVAL_POLICIES}")
    candidate = (params.get("model_alias") or "").strip() or settings.registry.candidate_alias
    baseline = (params.get("baseline_alias") or "").strip() or settings.registry.champion_alias
    if candidate == baseline:
        raise ValueError(f"the model to evaluate and the one to compare against are both @{candidate}")
    stamp = "".join(ch for ch in logical_date[:19] if ch.isdigit())
    run_key = f"{stamp}-{stable_hash(run_id, length=8)}"
    scratch = storage.join(settings.lake_uri, "staging", "evaluation", run_key)
    work = storage.join(settings.lake_uri, "evaluation", run_key)
    results = storage.join(work, "results")
    return {
        "run_key": run_key,
        "run_id": run_id,
        "candidate_alias": candidate,
        "baseline_alias": baseline,
        "golden_version": (params.get("golden_version") or "").strip() or None,
        "approval_policy": policy,
        "plan_uri": storage.join(scratch, "plan.json"),
        "golden_uri": storage.join(scratch, "golden"),
        "answers_uri": storage.join(work, "answers"),
        "scores_uri": storage.join(work, "scores"),
        "scan_uri": storage.join(work, "scan"),
        "load_test_report_uri": storage.join(work, "load-test"),
        "generate_result_uri": storage.join(results, "generate.json"),
        "score_result_uri": storage.join(results, "score.json"),
        "scan_result_uri": storage.join(results, "scan.json"),
        "gate_result_uri": storage.join(results, "gate.json"),
        "challenger_result_uri": storage.join(results, "challenger.json"),
        "load_test_result_uri": storage.join(results, "load_test.json"),
        "promote_result_uri": storage.join(results, "promote.json"),
    }


def write_plan(plan: dict[str, Any]) -> dict[str, Any]:
    storage.write_json(plan["plan_uri"], plan)
    return plan


def remove_scratch(plan: Mapping[str, Any]) -> list[str]:
    """The plan file and the run's copy of the golden set (a DVC version); results and answers stay."""
    uris = [plan["plan_uri"], plan["golden_uri"]]
    for uri in uris:
        storage.remove(uri)
    return uris


def approver(policy: str, approval: Mapping[str, Any] | None) -> str:
    """Who approved the promotion: the Airflow user who answered the approval, or the policy."""
    if policy == "auto":
        return "policy:auto-approve"
    if not approval or approval.get("chosen_options") != ["Approve"]:
        raise ValueError("the promotion was not approved")
    user = approval.get("responded_by_user") or {}
    return f"user:{user.get('name') or user.get('id') or 'unknown'}"


def review_text(gate: Mapping[str, Any], load_test: Mapping[str, Any]) -> str:
    """What the approver reads in the Airflow UI: which versions, the gate's checks, the load test."""
    models = gate["models"]
    candidate = models["candidate"]
    against = (
        f"champion version {models['champion']['version']}" if "champion" in models else "no champion yet"
    )
    checks = [c for c in gate["checks"] if c["slice"] == "overall" and c["value"] is not None]
    lines = [
        f"Version {candidate['version']} passed the evaluation gate against {against} on golden set "
        f"{gate['golden_version']} (MLflow run `{gate['mlflow_run_id']}`; the model card is the version's "
        "description).",
        "",
        "| check | metric | value | bar | verdict |",
        "|---|---|---|---|---|",
        *(
            f"| {c['kind']} | {c['metric']} | {c['value']:.3f} | {c['bound']:g} | {c['detail']} |"
            for c in checks
        ),
        "",
        f"Load test ({load_test.get('profile')}): {load_test.get('requests')} requests, error rate "
        f"{load_test.get('error_rate')}, p95 {load_test.get('p95_latency_s')} s, "
        f"{load_test.get('requests_per_s')} requests/s; report {load_test.get('report_uri')}.",
    ]
    return "\n".join(lines)
