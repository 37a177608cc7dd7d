"""The DVC data registry against real git repositories and real DVC remotes: a local folder, and S3 on
moto's server on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from common.data_versioning import DataRegistry, RegistryError, RegistryNotFound, registry_path, tag_name
from tests.aws_server import create_bucket, moto_server


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def commits(bare: Path) -> int:
    return int(git("--git-dir", str(bare), "rev-list", "--count", "main"))


def make_registry(tmp_path: Path, **kwargs) -> DataRegistry:
    return DataRegistry(
        str(tmp_path / "registry.git"),
        kwargs.pop("remote_url", str(tmp_path / "remote")),
        "llmops-tests",
        "llmops-tests@localhost",
        allow_create=kwargs.pop("allow_create", True),
        **kwargs,
    )


@pytest.fixture
def registry(tmp_path: Path) -> DataRegistry:
    created = make_registry(tmp_path)
    created.ensure_exists()
    return created


V1 = {"part-00000.parquet": b"first version " * 50, "nested/notes.txt": b"\xf0\x9f\x94\x8b bytes as they are"}
V2 = {"part-00000.parquet": b"second version " * 50}


def test_registry_is_created_once_with_dvc_and_its_remote(tmp_path: Path, registry: DataRegistry):
    bare = tmp_path / "registry.git"
    assert git("--git-dir", str(bare), "rev-parse", "--is-bare-repository") == "true"
    tree = git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "main").split()
    assert ".dvc/config" in tree and ".dvcignore" in tree
    config = git("--git-dir", str(bare), "show", "main:.dvc/config")
    assert str(tmp_path / "remote") in config and "remote = storage" in config

    registry.ensure_exists()  # idempotent
    assert commits(bare) == 1


def test_a_registry_that_may_not_be_created_must_exist(tmp_path: Path):
    with pytest.raises(RegistryNotFound, match="must be created beforehand"):
        make_registry(tmp_path, allow_create=False).ensure_exists()
    assert not (tmp_path / "registry.git").exists()


def test_an_empty_existing_repository_is_initialized_even_where_creation_is_not_allowed(tmp_path: Path):
    git("init", "--bare", "--initial-branch=main", str(tmp_path / "registry.git"))
    make_registry(tmp_path, allow_create=False).ensure_exists()
    assert commits(tmp_path / "registry.git") == 1


def test_version_then_fetch_returns_identical_bytes(tmp_path: Path, registry: DataRegistry):
    source = write_tree(tmp_path / "v1", V1)
    version = registry.version_directory(source, "reviews/clean/dt=2026-11-18", "clean reviews 2026-11-18")

    assert version.path == "reviews/clean/dt=2026-11-18"
    assert version.tag == f"reviews/clean/dt=2026-11-18/{version.md5[:12]}"
    assert (version.files, version.size) == (2, sum(len(v) for v in V1.values()))
    bare = tmp_path / "registry.git"
    assert git("--git-dir", str(bare), "rev-parse", f"{version.tag}^{{commit}}") == version.rev
    assert git("--git-dir", str(bare), "cat-file", "-t", version.tag) == "tag"  # annotated
    assert git("--git-dir", str(bare), "rev-parse", "main") == version.rev

    fetched = registry.fetch(version.path, version.rev, tmp_path / "fetched")
    assert read_tree(fetched) == V1
    by_tag = registry.fetch(version.path, version.tag, tmp_path / "by-tag")
    assert read_tree(by_tag) == V1


def test_changed_content_is_a_new_version_and_the_old_one_still_fetches(
    tmp_path: Path, registry: DataRegistry
):
    path = "reviews/clean/dt=2026-11-18"
    first = registry.version_directory(write_tree(tmp_path / "v1", V1), path, "v1")
    second = registry.version_directory(write_tree(tmp_path / "v2", V2), path, "v2")

    assert second.tag != first.tag and second.rev != first.rev and second.md5 != first.md5
    assert read_tree(registry.fetch(path, first.rev, tmp_path / "old")) == V1
    assert read_tree(registry.fetch(path, second.rev, tmp_path / "new")) == V2


def test_identical_content_is_a_no_op(tmp_path: Path, registry: DataRegistry):
    path = "reviews/clean/dt=2026-11-18"
    first = registry.version_directory(write_tree(tmp_path / "a", V1), path, "v1")
    again = registry.version_directory(write_tree(tmp_path / "b", V1), path, "v1 again")
    assert again == first
    assert commits(tmp_path / "registry.git") == 2  # the initial commit and one version


def test_a_set_is_one_commit_and_one_tag(tmp_path: Path, registry: DataRegistry):
    dirs = {
        "reviews/clean/dt=2026-11-18": write_tree(tmp_path / "c", V1),
        "reviews/quarantine/dt=2026-11-18": write_tree(tmp_path / "q", V2),
    }
    versions = registry.version_directories(dirs, name="reviews/dt=2026-11-18", message="run 1")
    assert [v.path for v in versions] == list(dirs)
    assert len({v.rev for v in versions}) == 1 and len({v.tag for v in versions}) == 1
    assert versions[0].tag.startswith("reviews/dt=2026-11-18/")
    assert commits(tmp_path / "registry.git") == 2
    assert registry.version_directories(dirs, name="reviews/dt=2026-11-18", message="run 2") == versions
    assert read_tree(registry.fetch(versions[1].path, versions[1].tag, tmp_path / "q-out")) == V2


def test_a_push_race_is_replayed_on_the_new_tip(tmp_path: Path, registry: DataRegistry, monkeypatch):
    """Another run pushes a version of a sibling folder (same `.gitignore`) between our clone and our
    push: ours must land on top of it, and both must stay fetchable."""
    rival = make_registry(tmp_path)
    original_add = DataRegistry._dvc_add
    raced = []

    def add_then_someone_else_pushes(self, clone, workdir, paths):
        members = original_add(self, clone, workdir, paths)
        if self is registry and not raced:
            raced.append(
                rival.version_directory(write_tree(tmp_path / "rival", V2), "reviews/clean/dt=1", "r")
            )
        return members

    monkeypatch.setattr(DataRegistry, "_dvc_add", add_then_someone_else_pushes)
    ours = registry.version_directory(write_tree(tmp_path / "ours", V1), "reviews/clean/dt=2", "ours")

    bare = tmp_path / "registry.git"
    assert raced and commits(bare) == 3
    assert git("--git-dir", str(bare), "rev-parse", "main") == ours.rev
    assert git("--git-dir", str(bare), "rev-parse", f"{ours.rev}~1") == raced[0].rev
    gitignore = git("--git-dir", str(bare), "show", "main:reviews/clean/.gitignore").split()
    assert sorted(gitignore) == ["/dt=1", "/dt=2"]
    assert read_tree(registry.fetch("reviews/clean/dt=1", "main", tmp_path / "theirs")) == V2
    assert read_tree(registry.fetch("reviews/clean/dt=2", ours.tag, tmp_path / "mine")) == V1


def test_a_push_that_keeps_losing_gives_up(tmp_path: Path, registry: DataRegistry, monkeypatch):
    monkeypatch.setattr(DataRegistry, "_push", lambda self, clone, branch, tag: False)
    bounded = make_registry(tmp_path, max_push_attempts=2)
    with pytest.raises(RegistryError, match="after 2 attempts"):
        bounded.version_directory(write_tree(tmp_path / "x", V1), "reviews/x", "x")


def test_the_remote_in_the_settings_must_be_the_registry_remote(tmp_path: Path, registry: DataRegistry):
    elsewhere = make_registry(tmp_path, remote_url=str(tmp_path / "another-remote"))
    with pytest.raises(RegistryError, match="pushes to"):
        elsewhere.version_directory(write_tree(tmp_path / "x", V1), "reviews/x", "x")


def test_fetch_refuses_to_overwrite(tmp_path: Path, registry: DataRegistry):
    version = registry.version_directory(write_tree(tmp_path / "v1", V1), "reviews/x", "x")
    occupied = write_tree(tmp_path / "occupied", {"keep.txt": b"mine"})
    with pytest.raises(FileExistsError):
        registry.fetch(version.path, version.rev, occupied)
    assert read_tree(occupied) == {"keep.txt": b"mine"}


@pytest.mark.parametrize("bad", ["", "/", "../outside", "a/../../b", ".git/hooks", ".dvc/config"])
def test_paths_outside_the_data_are_refused(bad: str):
    with pytest.raises(ValueError):
        registry_path(bad)


def test_tag_names_are_valid_git_refs():
    md5 = "0123456789abcdef0123456789abcdef"
    assert tag_name("reviews/clean/dt=2026-11-18", md5) == "reviews/clean/dt=2026-11-18/0123456789ab"
    tag = tag_name("sft data: v1..v2 [en]/.hidden/x.lock", md5)
    assert git("check-ref-format", f"refs/tags/{tag}") == ""
    assert tag.endswith("/0123456789ab")


# --- S3 remote on moto's server ------------------------------------------------------------------


@pytest.fixture
def s3_endpoint():
    """The server alone, with no AWS_ENDPOINT_URL: the registry must be given its endpoint."""
    with moto_server() as endpoint:
        yield endpoint


def test_versions_round_trip_through_an_s3_remote(tmp_path: Path, s3_endpoint: str, monkeypatch):
    # tests/conftest.py gives fake credentials; dvc-s3 reads the AWS config file itself and needs a
    # regular file there (conftest's /dev/null is not one): an empty one names nothing real either.
    (tmp_path / "aws-config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    s3 = create_bucket(s3_endpoint, "dvc-test")
    registry = make_registry(
        tmp_path, remote_url="s3://dvc-test/dvc", remote_options={"endpointurl": s3_endpoint}
    )
    registry.ensure_exists()

    first = registry.version_directory(write_tree(tmp_path / "v1", V1), "reviews/clean/dt=2026-11-18", "v1")
    second = registry.version_directory(write_tree(tmp_path / "v2", V2), "reviews/clean/dt=2026-11-18", "v2")

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="dvc-test", Prefix="dvc/")["Contents"]]
    assert any(k.endswith(first.md5[2:] + ".dir") for k in keys)  # DVC's directory listing object
    assert all(k.startswith("dvc/files/md5/") for k in keys)
    assert read_tree(registry.fetch(first.path, first.rev, tmp_path / "old")) == V1
    assert read_tree(registry.fetch(second.path, second.tag, tmp_path / "new")) == V2
    config = git("--git-dir", str(tmp_path / "registry.git"), "show", "main:.dvc/config")
    assert s3_endpoint not in config  # the endpoint is this process's setting, never the registry's
