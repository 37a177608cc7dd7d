"""
### Summarizer evaluation and promotion

Decides whether a newly registered summarizer version may answer shoppers, and promotes it if so. Runs
on every `summarizer_candidate` Asset event (fine-tuning registered a candidate) and by hand.

| task | what it does | runs on |
|---|---|---|
| `plan` | pins the run: the alias to evaluate and the one to compare against, the golden-set version, the approval policy, where each step writes | worker |
| `generate` | candidate and champion answer every golden product, and a twin of it with a planted prompt injection, through the serving path batch inference uses (locally a vLLM server with both adapters) | heavy step |
| `score` | every metric of every answer: format, grounding, evidence validity, coverage, balance, toxicity, PII, injection obedience | heavy step |
| `scan` | on the evaluation image (giskard, ragas): behaviour tests against the served candidate (typo and order invariance, a con named once a strong complaint is added), giskard's prompt-injection scan with its HTML report, and similarity to the references (ROUGE-L, chrF); reported, not gated | heavy step (evaluation image) |
| `gate` | floors per metric on every slice (language, product profile, review count) and non-inferiority to the champion by paired bootstrap; one MLflow run (`llmops/evaluation`) with both models side by side, per-row tables and the model card, set as the version's description. A failed gate ends the run here: the version keeps `candidate` | heavy step |
| `challenger` | the version becomes `challenger`, its adapter exported to the serving location | heavy step |
| `load_test` | the project's Locust load test against the challenger (`thresholds.yaml load_test`); a breach ends the run | heavy step |
| `review` | what the approver reads: the gate's numbers and the load test's | worker |
| `route` | the approval policy: a person in the Airflow UI (`approve`), or the run itself (`auto_approve`) | worker |
| `approve` | a human-in-the-loop approval in the Airflow UI (*Required actions*); *Reject* skips the promotion | worker (deferred) |
| `promote` | `champion` -> the challenger, the old champion -> `previous`; an append-only audit record of who, when, why, the evaluation run and the load-test report | heavy step |
| `cleanup` | teardown: removes the run's plan and golden copy, whatever the outcome | worker |

Roll back with the `summarizer_rollback` DAG. Thresholds: `config/thresholds.yaml` `evaluation` and
`load_test`. Logic: `src/pipelines/evaluation/`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, refused_requests_fail_fast, xcom_field
from common.assets import summarizer_candidate
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()
CANDIDATE = summarizer_candidate(settings)
REGISTRY = settings.registry
APPROVAL_WAIT = timedelta(days=3)


def _plan(key: str) -> str:
    return xcom_field("plan", key)


with DAG(
    dag_id="summarizer_evaluation",
    description="Evaluate a summarizer candidate against the champion, load-test it, and promote it on approval.",
    schedule=[CANDIDATE],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "evaluation", "promotion"],
    params={
        "model_alias": Param(
            REGISTRY.candidate_alias,
            type="string",
            minLength=1,
            title="Model to evaluate",
            description="The registry alias of the version to evaluate (fine-tuning sets the candidate alias).",
        ),
        "baseline_alias": Param(
            REGISTRY.champion_alias,
            type="string",
            minLength=1,
            title="Compare against",
            description="The alias of the version it must not be worse than; when it does not exist yet, the "
            "floors alone decide.",
        ),
        "golden_version": Param(
            None,
            type=["null", "string"],
            title="Golden set version",
            description="A DVC tag of the golden set to evaluate on; empty: the one the candidate's fine-tuning "
            "recorded.",
        ),
        "approval_policy": Param(
            "human",
            type="string",
            enum=["human", "auto"],
            title="Approval",
            description="human: a person approves the promotion in the Airflow UI after the gate and the load "
            "test; auto: the run approves itself (the local demo).",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any], run_id: str, logical_date=None) -> dict:
        from datetime import UTC, datetime

        from pipelines.evaluation.plan import plan_run, write_plan

        when = (logical_date or datetime.now(UTC)).isoformat()
        with refused_requests_fail_fast():
            run_plan = plan_run(settings, run_id, when, params)
        return write_plan(run_plan)

    generate = heavy_step(
        "generate",
        "pipelines.evaluation.generate",
        {"plan_uri": _plan("plan_uri"), "result_uri": _plan("generate_result_uri")},
        settings,
    )
    score = heavy_step(
        "score",
        "pipelines.evaluation.scoring",
        {
            "generate_result_uri": _plan("generate_result_uri"),
            "output_uri": _plan("scores_uri"),
            "result_uri": _plan("score_result_uri"),
        },
        settings,
    )
    scan = heavy_step(
        "scan",
        "pipelines.evaluation.scan",
        {
            "generate_result_uri": _plan("generate_result_uri"),
            "output_uri": _plan("scan_uri"),
            "result_uri": _plan("scan_result_uri"),
        },
        settings,
        environment="evaluation",
    )
    gate = heavy_step(
        "gate",
        "pipelines.evaluation.gate",
        {
            "generate_result_uri": _plan("generate_result_uri"),
            "score_result_uri": _plan("score_result_uri"),
            "scan_result_uri": _plan("scan_result_uri"),
            "result_uri": _plan("gate_result_uri"),
        },
        settings,
    )
    challenger = heavy_step(
        "challenger",
        "pipelines.evaluation.promotion",
        {
            "action": "challenger",
            "gate_result_uri": _plan("gate_result_uri"),
            "actor": "evaluation-gate",
            "result_uri": _plan("challenger_result_uri"),
        },
        settings,
    )
    load_test = heavy_step(
        "load_test",
        "pipelines.evaluation.load_gate",
        {
            "alias": REGISTRY.challenger_alias,
            "report_uri": _plan("load_test_report_uri"),
            "result_uri": _plan("load_test_result_uri"),
        },
        settings,
    )

    @task
    def review(run_plan: dict) -> dict:
        from common import storage
        from pipelines.evaluation.plan import review_text

        gate_result = storage.read_json(run_plan["gate_result_uri"])
        load_result = storage.read_json(run_plan["load_test_result_uri"])
        return {
            "version": gate_result["models"]["candidate"]["version"],
            "text": review_text(gate_result, load_result),
        }

    @task.branch
    def route(run_plan: dict) -> str:
        return "auto_approve" if run_plan["approval_policy"] == "auto" else "approve"

    approve = ApprovalOperator(
        task_id="approve",
        subject="Promote summarizer version {{ ti.xcom_pull(task_ids='review')['version'] }} to champion?",
        body="{{ ti.xcom_pull(task_ids='review')['text'] }}",
        response_timeout=APPROVAL_WAIT,
        execution_timeout=APPROVAL_WAIT + timedelta(minutes=10),
    )

    @task
    def auto_approve() -> dict:
        return {"chosen_options": ["Approve"], "policy": "auto"}

    # After the branch: one of its two ways was skipped. It reads the plan by XCom rather than as an
    # argument, because a task right after a setup task must keep the default trigger rule.
    @task(trigger_rule="none_failed_min_one_success")
    def approver(ti=None) -> dict:
        from pipelines.evaluation.plan import approver as who

        policy = ti.xcom_pull(task_ids="plan")["approval_policy"]
        answer = ti.xcom_pull(task_ids="approve") if policy == "human" else None
        return {"actor": who(policy, answer)}

    promote = heavy_step(
        "promote",
        "pipelines.evaluation.promotion",
        {
            "action": "promote",
            "gate_result_uri": _plan("gate_result_uri"),
            "load_test_result_uri": _plan("load_test_result_uri"),
            "actor": xcom_field("approver", "actor"),
            "result_uri": _plan("promote_result_uri"),
        },
        settings,
    )

    @task
    def cleanup(run_plan: dict) -> None:
        from pipelines.evaluation.plan import remove_scratch

        remove_scratch(run_plan)

    run_plan = plan()
    routed = route(run_plan)
    decided = approver()
    chain(run_plan, generate, [score, scan], gate, challenger, load_test, review(run_plan), routed)
    routed >> [approve, auto_approve()] >> decided
    chain(decided, promote)
    # A teardown of the plan: it runs once the run has ended, succeeded or failed, and never decides its state.
    removed = cleanup(run_plan).as_teardown(setups=run_plan)
    promote >> removed
