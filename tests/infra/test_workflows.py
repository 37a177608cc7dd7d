"""The CI/CD workflows: the CI contract (make setup, then make test), how DAGs reach MWAA (OIDC,
staging before an approved prod, sync --delete, versioned uploads), and shell steps that parse."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.infra.tf import REPO

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as True
    return workflow


def _steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def _runs(step: dict) -> str:
    return step.get("run", "")


def test_the_expected_workflows_exist() -> None:
    names = {p.name for p in FILES}
    assert {"ci.yml", "deploy-dags.yml", "build-images.yml", "terraform.yml", "load-test.yml"} <= names


def test_ci_sets_up_then_runs_make_test() -> None:
    ci = _load("ci.yml")
    assert {"pull_request", "push"} <= set(ci["on"])
    runs = [_runs(step).strip() for _, step in _steps(ci)]
    assert "make setup" in runs and "make test" in runs
    assert runs.index("make setup") < runs.index("make test")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_permissions_are_read_only_by_default(path: Path) -> None:
    workflow = _load(path.name)
    assert (
        workflow.get("permissions") == {"contents": "read"}
        or workflow["permissions"].get("contents") == "read"
    )
    for job_id, job in workflow["jobs"].items():
        granted = job.get("permissions", workflow["permissions"])
        assert granted != "write-all", job_id
        writes = {k for k, v in granted.items() if v == "write"}
        assert writes <= {"id-token"}, f"{path.name} {job_id}: writes {writes}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_aws_credentials_come_from_oidc_roles(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for _, step in _steps(_load(path.name)):
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
            assert step["with"]["role-to-assume"].startswith("${{ vars."), path.name


def test_actions_are_pinned_to_a_version() -> None:
    for path in FILES:
        for _, step in _steps(_load(path.name)):
            if "uses" in step:
                assert re.search(r"@v\d+$|@[0-9a-f]{40}$", step["uses"]), f"{path.name}: {step['uses']}"


def _chain(name: str) -> tuple[dict, dict]:
    workflow = _load(name)
    return workflow["jobs"]["staging"], workflow["jobs"]["prod"]


@pytest.mark.parametrize("name", ["deploy-dags.yml", "build-images.yml", "terraform.yml"])
def test_prod_follows_staging(name: str) -> None:
    staging, prod = _chain(name)
    assert prod["needs"] == "staging"
    assert staging["with"]["environment"] == "staging" and prod["with"]["environment"] == "prod"
    called = _load(Path(staging["uses"]).name)
    (job,) = called["jobs"].values()
    # The GitHub environment gates the job: prod's required reviewers approve before it gets credentials.
    assert job["environment"] == "${{ inputs.environment }}"


def test_deploy_builds_the_bundle_with_the_make_target() -> None:
    deploy = _load("deploy-dags.yml")
    runs = " ".join(_runs(step) for _, step in _steps(deploy))
    assert "make mwaa-bundle" in runs
    upload = [s for _, s in _steps(deploy) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["include-hidden-files"] is True  # dags/.airflowignore
    assert {"dags/**", "src/**", "config/**", "requirements.txt"} <= set(deploy["on"]["push"]["paths"])


def test_deploy_syncs_dags_and_pins_versioned_objects() -> None:
    text = (WORKFLOWS / "_mwaa-deploy.yml").read_text(encoding="utf-8")
    assert re.search(r"aws s3 sync --delete .*build/mwaa/dags \"s3://\$\{MWAA_BUCKET\}/dags\"", text)
    assert "s3api put-object" in text and "--query VersionId" in text
    for flag in ("requirements", "startup-script"):
        assert f"pin build/mwaa/{'requirements.txt' if flag == 'requirements' else 'startup.sh'}" in text
    assert '"--${flag}-s3-object-version" "$version"' in text
    # update-environment only runs when a version changed.
    update = text.index("aws mwaa update-environment --name")
    assert text.rindex("if [ ${#args[@]} -eq 0 ]", 0, update) < update
    # requirements and startup script first, DAGs after: new DAG code never meets old libraries.
    assert update < text.index("aws s3 sync --delete --no-progress")


def _image_inputs(image: str) -> list[str]:
    out = subprocess.run(
        ["bash", str(REPO / "docker" / "image-tag.sh"), "--inputs", image],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def _triggered(paths: list[str], source: str) -> bool:
    return any(
        p in (source, f"{source}/**") or (p.endswith("/**") and source.startswith(p[:-2])) for p in paths
    )


@pytest.mark.parametrize(
    "workflow,images",
    [("deploy-dags.yml", ["tasks", "training", "evaluation"]), ("terraform.yml", ["vllm"])],
)
def test_a_new_image_tag_is_deployed(workflow: str, images: list[str]) -> None:
    """MWAA's startup script names the task images' tags, the serving stack the vLLM image's: the
    workflow that deploys a tag must run whenever an input of that image changes."""
    paths = _load(workflow)["on"]["push"]["paths"]
    for image in images:
        for source in _image_inputs(image):
            assert _triggered(paths, source), f"{workflow} does not run when {source} changes"


def _load_test_run_step(workflow: dict) -> dict:
    (step,) = [s for _, s in _steps(workflow) if "python -m pipelines.loadtest" in _runs(s)]
    return step


def test_load_test_is_reusable_with_its_inputs_and_key() -> None:
    workflow = _load("load-test.yml")
    assert set(workflow["on"]) == {"workflow_call"}
    call = workflow["on"]["workflow_call"]
    inputs = call["inputs"]
    assert {"endpoint", "model", "duration", "users", "profile", "python-version"} <= set(inputs)
    assert inputs["endpoint"]["required"] is True and inputs["model"]["required"] is True
    assert set(call["secrets"]) == {"LOADTEST_API_KEY"} and call["secrets"]["LOADTEST_API_KEY"]["required"]
    steps = [step for _, step in _steps(workflow)]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"


def test_load_test_key_is_an_environment_variable_of_one_step_and_never_in_a_script() -> None:
    workflow = _load("load-test.yml")
    text = (WORKFLOWS / "load-test.yml").read_text(encoding="utf-8")
    assert text.count("secrets.") == 1
    run = _load_test_run_step(workflow)
    assert run["env"]["LOADTEST_API_KEY"] == "${{ secrets.LOADTEST_API_KEY }}"
    # Not at workflow or job level, where every step (the upload included) would see it.
    assert "secrets." not in str(workflow.get("env", {}))
    assert all("secrets." not in str(job.get("env", {})) for job in workflow["jobs"].values())
    for _, step in _steps(workflow):
        script = _runs(step)
        assert "secrets." not in script and "LOADTEST_API_KEY" not in script and "set -x" not in script
        # Caller-supplied text reaches the shell as variables, never spliced into the script.
        assert "${{ inputs." not in script


def test_load_test_runs_the_projects_runner_and_always_uploads_the_report() -> None:
    workflow = _load("load-test.yml")
    runs = "\n".join(_runs(step) for _, step in _steps(workflow))
    assert "pip install -r requirements-loadtest.txt" in runs and "pip install --no-deps -e ." in runs
    # The snippets file the load test reads is written before the run (load_test.payloads_file), by the
    # sample generator, whose libraries are installed first.
    assert runs.index("pip install -r requirements-sample.txt") < runs.index(
        "python -m sample_source.payloads"
    )
    assert runs.index("python -m sample_source.payloads") < runs.index("python -m pipelines.loadtest")
    pinned = [
        line.strip()
        for line in (REPO / "requirements-loadtest.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "locust==2.47.0" in pinned and all("==" in line for line in pinned)

    script = _runs(_load_test_run_step(workflow))
    runner = (REPO / "src" / "pipelines" / "loadtest" / "runner.py").read_text(encoding="utf-8")
    for flag in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", script)):
        assert f'"{flag}"' in runner, f"the runner has no {flag}"
    (job,) = workflow["jobs"].values()
    report_dir = job["env"]["REPORT_DIR"]
    assert '--report-dir "$REPORT_DIR"' in script
    (upload,) = [s for _, s in _steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["if"] == "always()" and upload["with"]["path"] in (report_dir, "${{ env.REPORT_DIR }}")


def _shell_steps() -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        for job_id, step in _steps(_load(path.name)):
            if "run" in step:
                found.append((f"{path.name}:{job_id}:{step.get('name', '')}", step["run"]))
    return found


@pytest.mark.parametrize("label,script", _shell_steps(), ids=[label for label, _ in _shell_steps()])
def test_shell_steps_parse(label: str, script: str) -> None:
    # Expressions are substituted by GitHub before the shell sees the script.
    script = re.sub(r"\$\{\{[^}]*\}\}", "placeholder", script)
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, f"{label}: {result.stderr}"


# Import name -> distribution, for the libraries the sample generator may use.
SAMPLE_DISTRIBUTIONS = {"faker": "Faker", "stdnum": "python-stdnum"}


def test_every_library_the_sample_generator_imports_is_pinned_in_its_requirements() -> None:
    """The load-test runner installs requirements-sample.txt and nothing else of the dev tooling: a
    library the generator starts importing must be pinned there, or writing the snippets fails."""
    pinned = {
        line.split("==")[0].strip()
        for line in (REPO / "requirements-sample.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    imported = set()
    for path in (REPO / "src" / "sample_source").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    project = {"sample_source", "common", "pipelines", "local_models"}  # installed with --no-deps
    third_party = imported - set(sys.stdlib_module_names) - project - {"__future__"}
    unknown = third_party - set(SAMPLE_DISTRIBUTIONS)
    assert not unknown, f"map {sorted(unknown)} to their distributions in SAMPLE_DISTRIBUTIONS"
    assert {SAMPLE_DISTRIBUTIONS[name] for name in third_party} <= pinned
