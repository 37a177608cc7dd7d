"""Where Terraform and the rest of the project must agree: the variables the aws profile reads, the
thresholds the alarms use, the lake's retention days, the Airflow version, and the startup script that
carries the variables."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.tf import ENVIRONMENTS, MODULES, REPO, TERRAFORM, attr, find, locals_of, one

WORKFLOWS = REPO / ".github" / "workflows"


def _profile_variables() -> set[str]:
    text = (REPO / "config" / "profiles" / "aws.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{(\w+)\}", text))


def _terraform_env() -> dict[str, str]:
    return locals_of(MODULES / "platform")["aws_profile_env"]


def test_the_aws_profile_reads_variables() -> None:
    assert {"LLMOPS_LAKE_BUCKET", "LLMOPS_TASK_IMAGE_URI", "LLMOPS_ALERTS_TOPIC_ARN"} <= _profile_variables()


def test_terraform_sets_every_variable_the_aws_profile_reads() -> None:
    missing = _profile_variables() - set(_terraform_env())
    assert not missing, f"config/profiles/aws.yaml reads {sorted(missing)}, which Terraform never sets"


def test_terraform_sets_the_names_the_next_pipelines_read() -> None:
    planned = {
        "LLMOPS_OPENSEARCH_ENDPOINT",
        "LLMOPS_SUMMARY_CACHE_TABLE",
        "LLMOPS_VLLM_BASE_URL",
        "LLMOPS_TRAINING_IMAGE_URI",
    }
    assert planned <= set(_terraform_env())


def test_the_variables_reach_every_mwaa_container() -> None:
    """platform -> mwaa module -> deploy/startup-env.sh -> appended to startup.sh by the deploy job."""
    call = one(MODULES / "platform", "module", name="mwaa")
    assert attr(call.body, "startup_env") == "${local.aws_profile_env}"
    rendered = one(MODULES / "mwaa", "resource", "aws_s3_object", "startup_env")
    assert attr(rendered.body, "key") == "deploy/startup-env.sh"
    assert "templatefile(" in attr(rendered.body, "content")
    assert "var.startup_env" in attr(rendered.body, "content")
    deploy = (WORKFLOWS / "_mwaa-deploy.yml").read_text(encoding="utf-8")
    assert re.search(
        r'aws s3 cp "s3://\$\{MWAA_BUCKET\}/deploy/startup-env\.sh" -\n\s*\} >> build/mwaa/startup\.sh',
        deploy,
    )


def test_image_tags_the_variables_refer_to_are_exported_first() -> None:
    deploy = (WORKFLOWS / "_mwaa-deploy.yml").read_text(encoding="utf-8")
    for value in _terraform_env().values():
        for tag in re.findall(r"\$\$\{(\w+)\}", value):
            exported = re.search(rf'echo "export {tag}=\$\(docker/image-tag\.sh (\w+)\)"', deploy)
            assert exported, f"{tag} is never exported by the deploy job"
            appended = deploy.index('aws s3 cp "s3://${MWAA_BUCKET}/deploy/startup-env.sh"')
            assert exported.start() < appended, f"{tag} is exported after the lines that use it"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_startup_exports_render_and_run(tmp_path: Path) -> None:
    """Terraform renders the real template with the real keys; bash then sources the result after the
    deploy job's tag exports, and every variable holds the expected value."""
    env = _terraform_env()
    values: dict[str, str] = {}
    for key, expression in env.items():
        # Keep the shell references (written $${...} in HCL) exactly as the platform module has them.
        suffix = "".join(f":$${{{tag}}}" for tag in re.findall(r"\$\$\{(\w+)\}", expression))
        values[key] = f"value-of-{key.lower()}{suffix}"
    shutil.copy(MODULES / "mwaa" / "startup-env.sh.tftpl", tmp_path)
    hcl_map = "\n".join(f'    {k} = "{v}"' for k, v in values.items())
    (tmp_path / "main.tf").write_text(
        f'output "script" {{\n  value = templatefile("${{path.module}}/startup-env.sh.tftpl", {{\n'
        f"    env = {{\n{hcl_map}\n    }}\n  }})\n}}\n",
        encoding="utf-8",
    )
    run_env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1"}
    for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        subprocess.run(["terraform", *command], cwd=tmp_path, env=run_env, check=True, capture_output=True)
    script = subprocess.run(
        ["terraform", "output", "-raw", "script"],
        cwd=tmp_path,
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (tmp_path / "startup.sh").write_text(script, encoding="utf-8")
    tags = {tag for e in env.values() for tag in re.findall(r"\$\$\{(\w+)\}", e)}
    prelude = "".join(f"export {t}=tag-{t.lower()}; " for t in sorted(tags))
    shown = subprocess.run(
        ["bash", "-euc", f"{prelude}. ./startup.sh; env"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    exported = dict(line.split("=", 1) for line in shown.splitlines() if line.startswith("LLMOPS_"))
    for key, value in values.items():
        expected = re.sub(r"\$\$\{(\w+)\}", lambda m: f"tag-{m.group(1).lower()}", value)
        assert exported.get(key) == expected, key


# --- Thresholds ----------------------------------------------------------------------------------


def _monitoring_thresholds() -> dict[str, float]:
    return yaml.safe_load((REPO / "config" / "thresholds.yaml").read_text(encoding="utf-8"))["monitoring"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environments_feed_the_alarms_from_thresholds_yaml(environment: str) -> None:
    root = TERRAFORM / "environments" / environment
    expression = locals_of(root)["thresholds"]
    path = re.fullmatch(r'\$\{yamldecode\(file\("\$\{path\.root\}/(.+)"\)\)\}', expression)
    assert path, expression
    assert (root / path.group(1)).resolve() == (REPO / "config" / "thresholds.yaml").resolve()
    platform = one(root, "module", name="platform")
    assert attr(platform.body, "monitoring_thresholds") == "${local.thresholds.monitoring}"
    observability = one(MODULES / "platform", "module", name="observability")
    assert attr(observability.body, "thresholds") == "${var.monitoring_thresholds}"


def test_every_monitoring_threshold_drives_exactly_one_alarm() -> None:
    used: list[str] = []
    for alarm in find(MODULES / "observability", "resource", "aws_cloudwatch_metric_alarm"):
        threshold = attr(alarm.body, "threshold")
        match = re.fullmatch(r"\$\{var\.thresholds\.(\w+)\}", str(threshold))
        if alarm.name == "dag_failures":
            assert threshold == 1  # any failed task
            continue
        assert match, f"alarm {alarm.name}: threshold {threshold} is not from config/thresholds.yaml"
        used.append(match.group(1))
    assert sorted(used) == sorted(_monitoring_thresholds())


def test_threshold_variable_has_exactly_the_yaml_keys() -> None:
    type_expression = attr(one(MODULES / "observability", "variable", name="thresholds").body, "type")
    declared = set(re.findall(r"'(\w+)': '\$\{number\}'", type_expression))
    assert declared == set(_monitoring_thresholds())


def test_a_daily_quality_alarm_breaches_when_the_monitor_stops_publishing() -> None:
    """Missing data is a breach for the metrics the daily monitor publishes: a monitor that stopped
    pages someone instead of leaving the alarm quietly green."""
    daily = {"faithfulness", "toxicity_rate", "pii_rate"}
    for alarm in find(MODULES / "observability", "resource", "aws_cloudwatch_metric_alarm"):
        if alarm.name in daily:
            assert attr(alarm.body, "treat_missing_data") == "breaching", alarm.name
            assert attr(alarm.body, "period") == 86400, alarm.name
            daily.remove(alarm.name)
    assert not daily, f"no alarm for {sorted(daily)}"


def test_thresholds_are_sane() -> None:
    t = _monitoring_thresholds()
    for key in ("faithfulness_min", "toxicity_rate_max", "format_failure_rate_max", "vllm_error_rate_max"):
        assert 0 < t[key] < 1, key
    assert t["vllm_p95_latency_s_max"] > 0


# --- Retention -----------------------------------------------------------------------------------


def _configured_retention(config: Path) -> dict[str, int]:
    """`ingestion.retention` as the aws profile has it: the shared file, then the profile's overrides."""
    shared = yaml.safe_load((config / "pipeline.yaml").read_text(encoding="utf-8"))
    profile = yaml.safe_load((config / "profiles" / "aws.yaml").read_text(encoding="utf-8"))
    return {**shared["ingestion"]["retention"], **(profile.get("ingestion") or {}).get("retention", {})}


RETENTION_LOCALS = ("pipeline", "aws_profile", "retention")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environments_take_the_lake_retention_from_the_pipeline_config(environment: str) -> None:
    root = TERRAFORM / "environments" / environment
    found = locals_of(root)
    for name, file in (("pipeline", "pipeline.yaml"), ("aws_profile", "profiles/aws.yaml")):
        path = re.fullmatch(r'\$\{yamldecode\(file\("\$\{path\.root\}/(.+)"\)\)\}', found[name])
        assert path, found[name]
        assert (root / path.group(1)).resolve() == (REPO / "config" / file).resolve()
    assert found["retention"] == (
        "${merge(local.pipeline.ingestion.retention,try(local.aws_profile.ingestion.retention,{}))}"
    )
    platform = one(root, "module", name="platform")
    assert attr(platform.body, "raw_retention_days") == "${local.retention.raw_days}"
    assert attr(platform.body, "quarantine_retention_days") == "${local.retention.quarantine_days}"


def _evaluate_retention(environment: str, workdir: Path, config: Path) -> dict[str, int]:
    """The environment's own retention locals, evaluated by terraform against `config`."""
    found = locals_of(TERRAFORM / "environments" / environment)
    stack = workdir / "terraform" / "environments" / environment
    stack.mkdir(parents=True)
    shutil.copytree(config, workdir / "config")
    body = "\n".join(f"  {name} = {found[name][2:-1]}" for name in RETENTION_LOCALS)
    (stack / "main.tf").write_text(
        f'locals {{\n{body}\n}}\noutput "retention" {{\n  value = local.retention\n}}\n', encoding="utf-8"
    )
    run_env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1"}
    for command in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        subprocess.run(["terraform", *command], cwd=stack, env=run_env, check=True, capture_output=True)
    shown = subprocess.run(
        ["terraform", "output", "-json", "retention"],
        cwd=stack,
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(shown)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_terraform_computes_the_days_the_pipeline_reads(environment: str, tmp_path: Path) -> None:
    config = REPO / "config"
    retention = _evaluate_retention(environment, tmp_path / "as-is", config)
    assert retention == _configured_retention(config)
    assert set(retention) == {"raw_days", "quarantine_days"}

    # An override in the aws profile reaches the bucket too.
    changed = tmp_path / "changed-config"
    shutil.copytree(config, changed)
    profile = changed / "profiles" / "aws.yaml"
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    data.setdefault("ingestion", {})["retention"] = {"raw_days": 3}
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    overridden = _evaluate_retention(environment, tmp_path / "overridden", changed)
    assert overridden == {**retention, "raw_days": 3} == _configured_retention(changed)


# --- Versions ------------------------------------------------------------------------------------


def test_mwaa_runs_the_airflow_version_the_project_pins() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    pinned = re.search(r"^AIRFLOW_VERSION\s*:?=\s*(\S+)", makefile, re.MULTILINE).group(1)
    mwaa = one(MODULES / "mwaa", "resource", "aws_mwaa_environment")
    assert attr(mwaa.body, "airflow_version") == pinned


def test_the_quarantine_key_secret_is_one_the_steps_role_may_read() -> None:
    """The transform step reads the quarantine HMAC key itself (never from a job's environment): its
    secret must sit under the steps' prefix that the jobs' role is allowed to read, and reach the profile."""
    secret = one(MODULES / "sagemaker", "resource", "aws_secretsmanager_secret", "quarantine_hmac_key")
    assert attr(secret.body, "name") == "${var.project}-${var.environment}/steps/quarantine-hmac-key"
    readable = [
        statement
        for policy in find(MODULES / "sagemaker", "data", "aws_iam_policy_document")
        for statement in policy.body.get("statement", [])
        if attr(statement, "sid") == "StepSecrets"
    ]
    assert readable and "secretsmanager:GetSecretValue" in attr(readable[0], "actions")
    assert any(
        r.endswith(":secret:${var.project}-${var.environment}/steps/*")
        for r in attr(readable[0], "resources")
    )
    assert _terraform_env()["LLMOPS_QUARANTINE_HMAC_KEY_ARN"] == "${module.sagemaker.quarantine_hmac_key_arn}"
    assert "LLMOPS_QUARANTINE_HMAC_KEY_ARN" in _profile_variables()
