"""Conventions every DAG file keeps. New DAG files are picked up automatically (one test per file)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
# MWAA's DAG processor gives a file 30 s and re-parses every 30 s. Heavy imports and Variable/Connection
# lookups are caught exactly here; how long a parse takes is measured by `make bench-dag-parse`, since a
# wall-clock limit in a test fails on a loaded machine, not on a slow file.
PROBE = Path(__file__).with_name("dag_probe.py")


def probe(dag_file: Path, env: dict[str, str] | None = None) -> dict:
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(dag_file)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_there_are_dag_files():
    assert DAG_FILES, "no DAG files found in dags/"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_light(dag_file):
    report = probe(dag_file)
    assert report["error"] is None, report["error"]
    assert report["dag_ids"], "the file defines no DAG"
    assert len(report["dag_ids"]) == 1, "one DAG per file"
    assert report["heavy_modules"] == [], f"heavy modules imported at parse time: {report['heavy_modules']}"
    assert report["lookups"] == [], f"Variable/Connection lookups at parse time: {report['lookups']}"


def parse_time_imports(dag_file: Path) -> set[str]:
    """The project modules a DAG file imports when it is parsed: module level, `with DAG(...)` blocks
    included; not inside functions (tasks import at run time) nor under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(nodes: list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "common")
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit([n for n in getattr(node, field, []) if isinstance(n, ast.stmt | ast.ExceptHandler)])

    visit(ast.parse(dag_file.read_text(encoding="utf-8")).body)
    return {name for name in found if name.split(".")[0] in ("common", "pipelines")} - {"common"}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_only_what_the_import_contract_keeps_light(dag_file):
    """`make lint-imports` proves that the modules of the `dag-imports-light` contract (pyproject.toml)
    import nothing heavy, even inside functions; a DAG file is no package import-linter can analyse, so
    this holds the DAG files to those modules, and the probe above checks what a parse really loads."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}
    light = set(contracts["dag-imports-light"]["source_modules"])
    outside = sorted(parse_time_imports(dag_file) - light)
    assert not outside, f"imported at parse time, outside the dag-imports-light contract: {outside}"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES)


def test_every_dag_follows_the_conventions(dagbag):
    from common.alerts import on_task_failure

    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id}: doc_md missing or too thin"
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.catchup is False, f"{dag_id}: catchup must be off"
        assert dag.owner not in ("", "airflow"), f"{dag_id}: no owner"
        for name in dag.params:
            param = dag.params.get_param(name)
            assert param.schema.get("title") and param.description, f"{dag_id}.{name}: title/description"
        for t in dag.tasks:
            where = f"{dag_id}.{t.task_id}"
            assert t.retries >= 1, f"{where}: no retries"
            assert t.retry_exponential_backoff, f"{where}: retries without exponential backoff"
            assert t.max_retry_delay and t.max_retry_delay <= timedelta(hours=1), (
                f"{where}: unbounded backoff"
            )
            callbacks = (
                t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            )
            assert on_task_failure in callbacks, f"{where}: failure callback missing"


def test_every_task_has_an_execution_timeout_longer_for_heavy_steps(dagbag):
    """A hung task must not hold a worker slot forever; a heavy step's task outlasts the runner's own
    timeout, so the runner stops the step first and the task fails with the step's reason."""
    from common.settings import get_settings

    step_limit = timedelta(seconds=get_settings().steps.timeout_s)
    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            assert t.execution_timeout, f"{dag_id}.{t.task_id}: no execution_timeout"
            callable_name = getattr(getattr(t, "python_callable", None), "__name__", "")
            if callable_name in ("run_local_step", "run_local_training"):
                assert t.execution_timeout > step_limit, f"{dag_id}.{t.task_id}: ends before its step"


def test_a_scheduled_ingestion_run_ingests_the_whole_day_before(dagbag):
    """The window of the run the scheduler makes: the data interval it gets from the DAG's own timetable
    (converted as the scheduler converts it), through the plan task's `resolve_window`."""
    from datetime import UTC, datetime, timedelta

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    from pipelines.ingestion.plan import resolve_window

    timetable = coerce_to_core_timetable(dagbag.dags["review_ingestion"].timetable)
    restriction = TimeRestriction(earliest=datetime(2026, 11, 19, 12, tzinfo=UTC), latest=None, catchup=True)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info is not None and (info.run_after.hour, info.run_after.minute) == (1, 0)
    midnight = info.run_after.replace(hour=0)
    interval = info.data_interval
    assert resolve_window(interval.start, interval.end) == (midnight - timedelta(days=1), midnight)


def test_every_dag_that_plans_scratch_tears_it_down(dagbag):
    """A `plan` task decides where its run writes, scratch included (`<lake>/staging/...`, the raw
    extract): a teardown of the plan removes it after every other task, whether the run succeeded or
    failed, and its own outcome never decides the run's."""
    planned = [dag for dag in dagbag.dags.values() if "plan" in dag.task_dict]
    assert planned
    for dag in planned:
        teardowns = [t for t in dag.tasks if t.is_teardown]
        assert teardowns, f"{dag.dag_id}: its plan writes scratch and no teardown removes it"
        assert dag.task_dict["plan"].is_setup, f"{dag.dag_id}: plan is not the teardown's setup"
        for teardown in teardowns:
            where = f"{dag.dag_id}.{teardown.task_id}"
            assert "plan" in teardown.upstream_task_ids, f"{where}: not a teardown of plan"
            assert not teardown.on_failure_fail_dagrun, f"{where}: its failure would fail a good run"
            others = set(dag.task_dict) - {teardown.task_id}
            assert others <= teardown.get_flat_relative_ids(upstream=True), f"{where}: runs before the end"


def form_value(value):
    """What Airflow 3's trigger form sends for a field left as it is: an empty text field is null."""
    return None if value == "" else value


def schema_errors(value, param) -> str | None:
    """Why `value` fails the Param's schema, checked as Airflow checks a run's params; None if it passes."""
    from jsonschema import FormatChecker, ValidationError, validate

    try:
        validate(value, param.schema, format_checker=FormatChecker())
    except ValidationError as error:
        return error.message
    return None


def test_every_trigger_form_can_be_submitted_as_it_opens(dagbag):
    """A DAG that also runs on its own (a schedule, an Asset) needs no input, so its form must be valid
    as it opens. In any DAG, a field whose default is valid is optional, and must stay valid as the form
    sends it; a field whose default is invalid (an empty list of review IDs) is one the user must fill."""
    for dag_id, dag in dagbag.dags.items():
        runs_unattended = dag.schedule is not None
        for name in dag.params:
            param = dag.params.get_param(name)
            optional = runs_unattended or schema_errors(param.value, param) is None
            if optional:
                error = schema_errors(form_value(param.value), param)
                assert error is None, f"{dag_id}.{name}: the form as it opens is refused: {error}"


def test_param_descriptions_are_plain_text(dagbag):
    """The trigger form shows `description` as it is: markdown would show as literal marks."""
    for dag_id, dag in dagbag.dags.items():
        for name in dag.params:
            description = dag.params.get_param(name).description or ""
            assert not set("*`") & set(description), f"{dag_id}.{name}: markdown in {description!r}"


@pytest.mark.parametrize(
    ("dag_id", "kwargs", "reason"),
    [
        (
            "review_ingestion",
            {"params": {"backfill_start": "2026-11-05", "backfill_end": "2026-11-01"}},
            "backfill_end 2026-11-01 is before backfill_start 2026-11-05",
        ),
        ("review_embedding", {"params": {"full_rebuild": False, "partitions": []}}, "nothing to embed"),
        ("summarizer_finetuning", {"params": {"lora_rank": 0}}, "lora_rank"),
        (
            "summarizer_evaluation",
            {"params": {"model_alias": "champion", "baseline_alias": "champion", "approval_policy": "auto"}},
            "both @champion",
        ),
    ],
)
def test_a_plan_refuses_an_impossible_request_without_retries(dagbag, dag_id, kwargs, reason):
    """Retrying a request that cannot be honoured only delays the answer: the plan fails for good, with
    the reason as its message."""
    from airflow.sdk.exceptions import AirflowFailException

    plan = dagbag.dags[dag_id].task_dict["plan"]
    with pytest.raises(AirflowFailException, match=reason):
        plan.python_callable(run_id="manual__refused", **kwargs)


def test_the_finetuning_form_as_it_opens_plans_the_profiles_defaults(dagbag):
    """Empty fields arrive as null: the plan reads them as the profile's values."""
    from common.settings import get_settings

    dag = dagbag.dags["summarizer_finetuning"]
    sent = {name: form_value(dag.params.get_param(name).value) for name in dag.params}
    assert sent["base_model"] is None
    plan = dag.task_dict["plan"].python_callable(params=sent, run_id="manual__form_defaults")
    training = get_settings().training
    assert plan["base_model"] == training.base_model and plan["base_model_id"] == training.base_model_id
    assert plan["hyperparameters"] == training.hyperparameters.as_hyperparameters()
    # The plan staged its file as a run's plan does; no run follows, so take it away again.
    from pipelines.training.plan import remove_scratch

    remove_scratch(plan)
