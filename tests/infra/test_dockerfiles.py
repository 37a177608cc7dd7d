"""Rules for the images in docker/: pinned bases, an unprivileged user, no secrets, the same pinned
requirements the local environments install, cache-friendly layers, and health checks where a server
runs. Docker cannot build here; the Dockerfiles are parsed and their instructions checked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.infra.tf import REPO

DOCKER = REPO / "docker"
IMAGES = sorted(p.parent.name for p in DOCKER.glob("*/Dockerfile"))
# The requirements file each image installs, and the local environment that installs the same file.
REQUIREMENTS = {
    "tasks": "requirements-tasks.txt",  # .venv-tasks (make setup-tasks)
    "training": "requirements-training.txt",
    "evaluation": "requirements-evaluation.txt",
    "vllm": "docker/vllm/requirements.txt",  # the start script's S3 client only
}
SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def _parse(image: str) -> list[dict]:
    parser = DockerfileParser(path=str(DOCKER / image / "Dockerfile"))
    return parser.structure


def _instructions(image: str, name: str) -> list[str]:
    return [i["value"] for i in _parse(image) if i["instruction"] == name]


def test_every_image_is_known() -> None:
    assert sorted(REQUIREMENTS) == IMAGES


@pytest.mark.parametrize("image", IMAGES)
def test_base_image_is_pinned_to_a_version(image: str) -> None:
    (base,) = _instructions(image, "FROM")
    _, _, tag = base.partition(":")
    assert tag and tag != "latest" and re.search(r"\d", tag), f"{image}: FROM {base}"
    assert "@sha256:" in base or re.search(r"\d+\.\d+", tag), f"{image}: FROM {base} names no version"


@pytest.mark.parametrize("image", IMAGES)
def test_runs_as_an_unprivileged_user(image: str) -> None:
    structure = _parse(image)
    users = [i for i in structure if i["instruction"] == "USER"]
    assert users, f"{image}: no USER"
    last = users[-1]
    assert last["value"].split(":")[0] not in {"root", "0"}, image
    entry = [i for i in structure if i["instruction"] in {"ENTRYPOINT", "CMD"}]
    assert entry and all(i["startline"] > last["startline"] for i in entry), f"{image}: starts before USER"
    # Nothing after USER switches back.
    assert not [i for i in structure if i["instruction"] == "USER" and i["startline"] > last["startline"]]


@pytest.mark.parametrize("image", IMAGES)
def test_no_secret_is_baked_in(image: str) -> None:
    for instruction in _parse(image):
        if instruction["instruction"] not in {"ENV", "ARG"}:
            continue
        for name, value in re.findall(r"(\w+)[= ]\s*(\"[^\"]*\"|\S*)", instruction["value"]):
            if SECRET_NAME.search(name):
                assert value.strip('"') == "", f"{image}: {instruction['instruction']} {name} has a value"
    text = (DOCKER / image / "Dockerfile").read_text(encoding="utf-8")
    assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY", text), image


@pytest.mark.parametrize("image", IMAGES)
def test_installs_its_pinned_requirements_before_the_code(image: str) -> None:
    structure = _parse(image)
    requirements = REQUIREMENTS[image]
    filename = Path(requirements).name
    copies = [i for i in structure if i["instruction"] == "COPY" and requirements in i["value"].split()]
    installs = [
        i
        for i in structure
        if i["instruction"] == "RUN" and re.search(rf"-r \S*{re.escape(filename)}", i["value"])
    ]
    assert copies and installs, f"{image}: does not install {requirements}"
    code = [
        i
        for i in structure
        if i["instruction"] == "COPY"
        and (i["value"].startswith("src") or i["value"].split()[0] == "docker/vllm/serve.py")
    ]
    assert code, f"{image}: copies no code"
    # Dependencies first: a code change must not invalidate the dependency layers.
    assert installs[0]["startline"] < code[0]["startline"], image


@pytest.mark.parametrize("requirements", sorted(set(REQUIREMENTS.values())))
def test_every_requirement_is_pinned(requirements: str) -> None:
    lines = (REPO / requirements).read_text(encoding="utf-8").splitlines()
    entries = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert entries
    for entry in entries:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z0-9,_-]+\])?==[0-9][0-9a-zA-Z.+!-]*", entry), (
            f"{requirements}: {entry}"
        )


@pytest.mark.parametrize("image", ["tasks", "training", "evaluation"])
def test_images_copy_only_the_production_packages(image: str) -> None:
    """The sample generator and the local-model builders are tooling: no step imports them, so they are
    not in an image (copying `src` whole would ship them)."""
    sources = [s for copy in _instructions(image, "COPY") for s in copy.split()[:-1] if s.startswith("src")]
    assert sorted(sources) == ["src/common", "src/pipelines"], f"{image}: {sources}"


def test_local_task_environment_installs_the_same_file_as_the_image() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "-r requirements-tasks.txt" in makefile


def test_the_server_image_checks_its_health() -> None:
    (healthcheck,) = _instructions("vllm", "HEALTHCHECK")
    assert "/health" in healthcheck and "--start-period" in healthcheck
    assert "EXPOSE" in {i["instruction"] for i in _parse("vllm")}


@pytest.mark.parametrize("image", ["tasks", "training", "evaluation"])
def test_batch_images_declare_there_is_nothing_to_probe(image: str) -> None:
    assert _instructions(image, "HEALTHCHECK") == ["NONE"]


def _inputs(image: str) -> list[str]:
    out = subprocess.run(
        ["bash", str(DOCKER / "image-tag.sh"), "--inputs", image], check=True, capture_output=True, text=True
    ).stdout
    return out.split()


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_tag_covers_everything_the_image_copies(image: str) -> None:
    """An image's tag is the last commit touching its inputs: a file it copies but the tag ignores
    would change the image without changing its tag."""
    inputs = _inputs(image)
    for copy in _instructions(image, "COPY"):
        for source in copy.split()[:-1]:
            if source.startswith("--"):
                continue
            assert any(source == i or source.startswith(i.rstrip("/") + "/") for i in inputs), (
                f"{image}: {source}"
            )


def test_build_workflow_triggers_on_every_image_input() -> None:
    workflow = yaml.safe_load(
        (REPO / ".github" / "workflows" / "build-images.yml").read_text(encoding="utf-8")
    )
    paths = workflow[True]["push"]["paths"]  # YAML 1.1 reads the key `on` as True
    for image in IMAGES:
        for source in _inputs(image):
            assert any(
                p == source or p == f"{source}/**" or (p.endswith("/**") and source.startswith(p[:-2]))
                for p in paths
            ), f"build-images.yml does not run when {source} changes"
