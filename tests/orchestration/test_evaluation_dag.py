"""The evaluation DAG's worker-side logic: its plan, the approver's identity, and what the approver reads."""

from __future__ import annotations

import pytest

from common.settings import get_settings
from pipelines.evaluation.plan import approver, plan_run, review_text


def test_the_form_as_it_opens_evaluates_the_candidate_against_the_champion():
    settings = get_settings()
    plan = plan_run(settings, "asset_triggered__1", "2026-12-01T03:00:00+00:00", {})

    assert (plan["candidate_alias"], plan["baseline_alias"]) == ("candidate", "champion")
    assert plan["approval_policy"] == "human" and plan["golden_version"] is None
    assert plan["plan_uri"].startswith(settings.lake_uri) and "/staging/evaluation/" in plan["plan_uri"]
    assert plan_run(settings, "asset_triggered__1", "2026-12-01T03:00:00+00:00", {}) == plan


def test_an_unknown_approval_policy_is_refused():
    with pytest.raises(ValueError, match="approval policy 'maybe'"):
        plan_run(get_settings(), "manual__x", "2026-12-01T03:00:00", {"approval_policy": "maybe"})


def test_the_approver_is_the_user_who_approved_or_the_policy():
    approved = {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "anna"}}

    assert approver("human", approved) == "user:anna"
    assert approver("auto", None) == "policy:auto-approve"
    with pytest.raises(ValueError, match="not approved"):
        approver("human", {"chosen_options": ["Reject"], "responded_by_user": {"id": "7", "name": "anna"}})
    with pytest.raises(ValueError, match="not approved"):
        approver("human", None)


def test_the_approver_reads_the_gate_and_the_load_test():
    gate = {
        "models": {"candidate": {"version": "4"}, "champion": {"version": "3"}},
        "golden_version": "golden/summaries/abc",
        "mlflow_run_id": "r1",
        "checks": [
            {
                "kind": "floor",
                "metric": "grounding",
                "slice": "overall",
                "value": 0.81,
                "bound": 0.6,
                "detail": "met",
            },
            {
                "kind": "floor",
                "metric": "pii",
                "slice": "language:de",
                "value": 0.0,
                "bound": 0.0,
                "detail": "met",
            },
        ],
    }
    load = {
        "profile": "staging",
        "requests": 500,
        "error_rate": 0.0,
        "p95_latency_s": 2.5,
        "requests_per_s": 3.1,
    }
    text = review_text(gate, load)

    assert text.startswith("Version 4 passed the evaluation gate against champion version 3")
    assert "| floor | grounding | 0.810 | 0.6 | met |" in text and "language:de" not in text
    assert "500 requests" in text and "p95 2.5 s" in text


def test_the_scan_runs_in_the_evaluation_environment_and_the_gate_waits_for_it_and_the_scores():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    dags = Path(__file__).resolve().parents[2] / "dags" / "summarizer_evaluation.py"
    dag = DagBag(dag_folder=str(dags)).dags["summarizer_evaluation"]
    scan, gate = dag.get_task("scan"), dag.get_task("gate")
    assert scan.op_kwargs["environment"] == "evaluation"  # giskard's numpy<2: not the task environment
    assert dag.get_task("score").op_kwargs["environment"] == "tasks"
    assert {"score", "scan"} <= gate.upstream_task_ids and scan.upstream_task_ids == {"generate"}
    assert "scan_result_uri" in gate.op_kwargs["args"]
