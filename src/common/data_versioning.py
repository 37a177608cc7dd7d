"""A DVC data registry: a git repository of `.dvc` files whose content lives in a DVC remote.

Versions are the durable contract between pipelines: ingestion records which commit holds each published
partition, fine-tuning pins the dataset it trained on, and anyone can materialize exactly that version
later. A version is a git commit plus an annotated tag named after the data and its content md5, so the
same content always maps to the same tag and versioning it again changes nothing.

Data goes through DVC's Python API (`dvc.repo.Repo`), never a `dvc` command. Git goes through the
system `git` binary: the push of a commit and its tag must be atomic (`git push --atomic`), and
authentication must follow the environment's own git configuration (credential helpers, SSH), which the
pure-Python git backends do not all honour.

Every write happens in a throw-away shallow clone. When another run pushed first, our change is replayed
on top of the new tip (fetch, reset, `dvc add` again: the content is already hashed, so this is cheap)
instead of a textual `git rebase`, which would conflict whenever two runs add lines to the same
`.gitignore`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc.repo import Repo

    from common.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "main"
REMOTE_NAME = "storage"
# Each try fetches the new tip and replays one change; more than a few in a row means something is wrong.
DEFAULT_PUSH_ATTEMPTS = 5


class RegistryError(RuntimeError):
    """The registry could not be read or written."""


class RegistryNotFound(RegistryError):
    """The registry repository does not exist (or cannot be reached) and may not be created here."""


@dataclass(frozen=True)
class DataVersion:
    """One directory as stored at one commit of the registry."""

    registry_url: str
    path: str  # the directory's path inside the registry
    rev: str  # commit sha
    tag: str  # annotated tag on that commit
    md5: str  # DVC's content hash of the directory
    files: int
    size: int  # bytes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Member:
    path: str
    md5: str
    files: int
    size: int


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    # A job has no terminal: a missing credential must fail, not wait for a password prompt.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if check and result.returncode != 0:
        raise RegistryError(f"git {' '.join(args)} failed: {(result.stderr or result.stdout).strip()}")
    return result


def registry_path(path_in_registry: str) -> str:
    """A path inside the registry, normalized; one that could escape it or hit git/DVC internals is an
    error."""
    path = PurePosixPath(path_in_registry.strip("/"))
    if not path.parts or path.is_absolute() or ".." in path.parts or path.parts[0] in (".git", ".dvc"):
        raise ValueError(f"not a usable path inside the registry: {path_in_registry!r}")
    return str(path)


def tag_name(name: str, md5: str) -> str:
    """`<name>/<first 12 hex of md5>`, made a valid git ref name (`git check-ref-format` rules)."""
    safe = re.sub(r"[^A-Za-z0-9._=/-]+", "-", name)
    safe = re.sub(r"\.{2,}", ".", safe)
    parts = [p.strip(".").removesuffix(".lock") or "_" for p in safe.split("/") if p]
    tag = "/".join([*parts, md5[:12]])
    if _git("check-ref-format", f"refs/tags/{tag}", check=False).returncode != 0:
        raise ValueError(f"cannot make a git tag name from {name!r}")
    return tag


def _digest(members: list[_Member]) -> str:
    """The content md5 a tag is named after: DVC's own md5 for one directory, else an md5 over every
    (path, md5) pair, so a set is the same version exactly when every member is."""
    if len(members) == 1:
        return members[0].md5
    lines = "\n".join(f"{m.path} {m.md5}" for m in sorted(members, key=lambda m: m.path))
    return hashlib.md5(lines.encode(), usedforsecurity=False).hexdigest()


class DataRegistry:
    """Versions directories into the registry and materializes them back.

    `remote_options` are extra settings of the DVC remote for this process only (such as `endpointurl`
    for an S3-compatible endpoint); they are never committed to the registry.
    """

    def __init__(
        self,
        registry_url: str,
        remote_url: str,
        git_user_name: str,
        git_user_email: str,
        *,
        allow_create: bool = False,
        remote_options: Mapping[str, str] | None = None,
        max_push_attempts: int = DEFAULT_PUSH_ATTEMPTS,
    ) -> None:
        self.registry_url = registry_url
        self.remote_url = remote_url
        self.git_user_name = git_user_name
        self.git_user_email = git_user_email
        self.allow_create = allow_create
        self.remote_options = dict(remote_options or {})
        self.max_push_attempts = max_push_attempts

    @classmethod
    def from_settings(
        cls, settings: Settings, remote_options: Mapping[str, str] | None = None
    ) -> DataRegistry:
        """`dvc.create_registry` says whether a missing registry may be created (local) or is an error
        (aws, where it is infrastructure)."""
        return cls(
            settings.dvc.registry_url,
            settings.dvc.remote_url,
            settings.dvc.git_user_name,
            settings.dvc.git_user_email,
            allow_create=settings.dvc.create_registry,
            remote_options=remote_options,
        )

    # --- creation -------------------------------------------------------------------------------

    def ensure_exists(self) -> None:
        """Make sure the registry is usable: a git repository whose default branch holds `dvc init` and
        the default remote.

        Where creation is allowed (the local profile, a local path) a missing registry is created as a
        bare repository; elsewhere a missing one is an error. An existing but empty repository (a fresh
        CodeCommit or GitHub repository) is initialized in both cases. Safe to call every run.
        """
        listing = _git("ls-remote", "--heads", self._git_url(), check=False)
        if listing.returncode == 0 and listing.stdout.strip():
            return
        if listing.returncode != 0:
            if not (self.allow_create and self._is_local()):
                raise RegistryNotFound(
                    f"DVC registry {self.registry_url} does not exist or cannot be reached "
                    f"({listing.stderr.strip()}); outside the local profile it must be created beforehand"
                )
            path = self._local_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            _git("init", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(path))
            log.info("created the DVC registry repository at %s", path)
        self._initialize()

    def _initialize(self) -> None:
        from dvc.repo import Repo

        with tempfile.TemporaryDirectory(prefix="dvc-registry-") as tmp:
            clone = Path(tmp) / "registry"
            _git("clone", self._git_url(), str(clone))
            self._configure_clone(clone)
            repo = Repo.init(str(clone))
            try:
                with repo.config.edit() as conf:
                    conf["remote"][REMOTE_NAME] = {"url": self.remote_url}
                    conf["core"]["remote"] = REMOTE_NAME
                    conf["core"]["analytics"] = False
            finally:
                repo.close()
                # The clone is thrown away, and so is the state DVC keeps for it in the machine-wide cache.
                shutil.rmtree(repo.site_cache_dir, ignore_errors=True)
            _git("add", "-A", cwd=clone)
            _git("commit", "-m", "Initialize the DVC data registry", cwd=clone)
            pushed = _git("push", "origin", f"HEAD:refs/heads/{DEFAULT_BRANCH}", cwd=clone, check=False)
            if pushed.returncode != 0:
                # Another run may have initialized it at the same moment: that is as good as ours.
                again = _git("ls-remote", "--heads", self._git_url(), check=False)
                if not again.stdout.strip():
                    raise RegistryError(f"could not initialize {self.registry_url}: {pushed.stderr.strip()}")
        log.info("initialized the DVC registry %s with remote %s", self.registry_url, self.remote_url)

    # --- versioning -----------------------------------------------------------------------------

    def version_directory(self, local_dir: Path, path_in_registry: str, message: str) -> DataVersion:
        """Version one directory at `path_in_registry`; its tag is `<path>/<md5 prefix>`."""
        path = registry_path(path_in_registry)
        return self.version_directories({path: local_dir}, name=path, message=message)[0]

    def version_directories(
        self, directories: Mapping[str, Path], name: str, message: str
    ) -> list[DataVersion]:
        """Version several directories in one commit and one tag (`<name>/<md5 prefix>`).

        Each key is the path inside the registry, each value the local directory whose content goes
        there (replacing what that path held). The content is pushed to the DVC remote before the commit
        that references it, so no commit ever points at missing data. If the tag already exists the
        content is already versioned, and the existing version is returned without a new commit.
        """
        if not directories:
            raise ValueError("nothing to version")
        sources = {registry_path(p): Path(d) for p, d in directories.items()}
        for source in sources.values():
            if not source.is_dir():
                raise NotADirectoryError(f"not a directory: {source}")
        paths = list(sources)
        with tempfile.TemporaryDirectory(prefix="dvc-registry-") as tmp:
            workdir = Path(tmp)
            clone = workdir / "registry"
            _git("clone", "--depth", "1", self._git_url(), str(clone))
            self._configure_clone(clone)
            branch = _git("symbolic-ref", "--short", "HEAD", cwd=clone).stdout.strip()
            for path, source in sources.items():
                # The data folder itself is gitignored, so a fresh clone has only its `.dvc` file.
                shutil.copytree(source, clone / path)
            members = self._dvc_add(clone, workdir, paths)
            tag = tag_name(name, _digest(members))
            data_pushed = False
            for attempt in range(1, self.max_push_attempts + 1):
                existing = self._remote_tag_commit(tag)
                if existing:
                    log.info("%s is already versioned as %s (%s): nothing to do", name, tag, existing)
                    return self._versions(members, existing, tag)
                if not data_pushed:
                    self._dvc_push(clone, workdir, paths)
                    data_pushed = True
                self._commit_and_tag(clone, paths, tag, message)
                if self._push(clone, branch, tag):
                    rev = _git("rev-parse", "HEAD", cwd=clone).stdout.strip()
                    log.info("versioned %s as %s at %s", name, tag, rev)
                    return self._versions(members, rev, tag)
                log.warning(
                    "the registry moved on (attempt %d): replaying the change on its new tip", attempt
                )
                _git("fetch", "--depth", "1", "origin", branch, cwd=clone)
                _git("reset", "--hard", "FETCH_HEAD", cwd=clone)
                _git("tag", "-d", tag, cwd=clone)
                members = self._dvc_add(clone, workdir, paths)
        raise RegistryError(
            f"could not push {tag} to {self.registry_url} after {self.max_push_attempts} attempts: "
            "other runs kept pushing first"
        )

    def _versions(self, members: list[_Member], rev: str, tag: str) -> list[DataVersion]:
        return [DataVersion(self.registry_url, m.path, rev, tag, m.md5, m.files, m.size) for m in members]

    @contextmanager
    def _repo(self, clone: Path, workdir: Path) -> Iterator[Repo]:
        """DVC's view of a clone. Its state database goes into the temp folder (not the machine-wide
        site cache), so the many throw-away clones leave nothing behind."""
        from dvc.repo import Repo

        repo = Repo(
            str(clone),
            config={"core": {"site_cache_dir": str(workdir / "dvc-site-cache")}},
            remote_config=self.remote_options or None,
        )
        repo.scm_context.quiet = True  # we stage and commit ourselves; DVC's hint would only mislead
        try:
            yield repo
        finally:
            repo.close()

    def _dvc_add(self, clone: Path, workdir: Path, paths: list[str]) -> list[_Member]:
        with self._repo(clone, workdir) as repo:
            self._check_remote(repo)
            stages = repo.add([str(clone / p) for p in paths])
        members = []
        for path, stage in zip(paths, stages, strict=True):
            out = stage.outs[0]
            members.append(
                _Member(
                    path, out.hash_info.value.removesuffix(".dir"), out.meta.nfiles or 0, out.meta.size or 0
                )
            )
        return members

    def _dvc_push(self, clone: Path, workdir: Path, paths: list[str]) -> None:
        with self._repo(clone, workdir) as repo:
            pushed = repo.push(targets=[str(clone / p) for p in paths])
        log.info("pushed %d new objects to the DVC remote", pushed)

    def _check_remote(self, repo: Repo) -> None:
        """The registry's committed default remote is what every reader uses, so writing anywhere else
        (a settings typo, a registry shared across environments) would publish unreadable versions."""
        name = repo.config["core"].get("remote")
        if not name:
            raise RegistryError(
                f"{self.registry_url} is not a DVC registry: its DVC config names no default remote"
            )
        committed = repo.config["remote"][name]["url"]
        if _normalize_url(committed) != _normalize_url(self.remote_url):
            raise RegistryError(
                f"{self.registry_url} pushes to {committed}, but the settings name {self.remote_url}"
            )

    def _commit_and_tag(self, clone: Path, paths: list[str], tag: str, message: str) -> None:
        tracked: list[str] = []
        for path in paths:
            parent = PurePosixPath(path).parent
            tracked.append(f"{path}.dvc")
            if (clone / parent / ".gitignore").exists():
                tracked.append(str(parent / ".gitignore"))
        _git("add", "--", *tracked, cwd=clone)
        if _git("diff", "--cached", "--quiet", cwd=clone, check=False).returncode != 0:
            _git("commit", "-m", message, cwd=clone)
        # else: the tip already holds exactly this content (a version whose tag push was lost): tag it.
        _git("tag", "-a", tag, "-m", message, cwd=clone)

    def _push(self, clone: Path, branch: str, tag: str) -> bool:
        """Push the commit and its tag together; False when another run pushed first."""
        refspecs = [f"HEAD:refs/heads/{branch}", f"refs/tags/{tag}"]
        result = _git("push", "--atomic", "--porcelain", "origin", *refspecs, cwd=clone, check=False)
        if result.returncode == 0:
            return True
        if "[rejected]" in result.stdout + result.stderr:
            return False
        raise RegistryError(
            f"git push to {self.registry_url} failed: {(result.stderr or result.stdout).strip()}"
        )

    def _remote_tag_commit(self, tag: str) -> str | None:
        """The commit an existing tag of the registry points to, or None."""
        ref = f"refs/tags/{tag}"
        listing = _git("ls-remote", "--tags", self._git_url(), ref, f"{ref}^{{}}").stdout
        refs: dict[str, str] = {}
        for line in listing.splitlines():
            sha, _, ref = line.partition("\t")
            refs[ref] = sha
        # An annotated tag is an object of its own; `^{}` is the commit it points to.
        return refs.get(f"{ref}^{{}}") or refs.get(ref)

    def tag_commit(self, tag: str) -> str | None:
        """The commit a tag of the registry points to, or None when the registry has no such tag."""
        return self._remote_tag_commit(tag)

    # --- reading --------------------------------------------------------------------------------

    def fetch(self, path_in_registry: str, rev: str, dest_dir: Path) -> Path:
        """Materialize the directory `path_in_registry` exactly as it was at `rev` (a tag or a commit)
        into `dest_dir`, which must not exist or be empty. Returns `dest_dir`."""
        from dvc.repo import Repo
        from dvc.repo.open_repo import clean_repos

        path = registry_path(path_in_registry)
        dest = Path(dest_dir)
        if dest.exists():
            if any(dest.iterdir()):
                raise FileExistsError(f"{dest} is not empty")
            dest.rmdir()  # DVC would otherwise put the data in a subfolder of an existing one
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="dvc-fetch-") as tmp:
            try:
                Repo.get(
                    self.registry_url,
                    path,
                    out=str(dest),
                    rev=rev,
                    config={"core": {"site_cache_dir": str(Path(tmp) / "dvc-site-cache")}},
                    remote_config=self.remote_options or None,
                )
            finally:
                clean_repos()  # the temporary clones and caches DVC made for the external repository
        return dest

    # --- helpers --------------------------------------------------------------------------------

    def _is_local(self) -> bool:
        return self.registry_url.startswith("file://") or Path(self.registry_url).is_absolute()

    def _local_path(self) -> Path:
        return Path(self.registry_url.removeprefix("file://"))

    def _git_url(self) -> str:
        """Local registries as `file://` URLs: git ignores `--depth` for plain local paths."""
        return f"file://{self._local_path()}" if self._is_local() else self.registry_url

    def _configure_clone(self, clone: Path) -> None:
        _git("config", "user.name", self.git_user_name, cwd=clone)
        _git("config", "user.email", self.git_user_email, cwd=clone)


def _normalize_url(url: str) -> str:
    if "://" in url and not url.startswith("file://"):
        return url.rstrip("/")
    return os.path.normpath(url.removeprefix("file://"))
