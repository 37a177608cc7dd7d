"""Served adapters follow the registry: alias -> exported adapter folder -> loaded into a running server.

The MLflow registry's aliases (`serving.aliases` of `registry.model_name`) say which version answers
under which name. Each alias is exported to the serving location (`serving.adapters_uri`: a folder
locally, `s3://<models bucket>/serving` in aws) as

    <alias>/serving.json     the manifest: which version, from which training output, exported when
    <alias>/v<version>/      the version's LoRA adapter folder (its pyfunc artifact `adapter`), nothing else

The adapter folder is named by version so that loading is idempotent and observable: vLLM's `/v1/models`
lists each adapter with the path it was loaded from (`root`), which therefore says which version a server
answers with. The manifest is written last, so an interrupted export never looks complete, and a reader
(the vLLM image's start script, `make serve`) starts from it; older `v*/` folders are deleted only after
the manifest names the new one. An alias that no longer exists loses its manifest first, then its files,
so a restarted server stops serving it. One writer per alias at a time: the pipelines move different
aliases (fine-tuning `candidate`, evaluation and promotion the others).

A running server is brought in line through vLLM's runtime LoRA endpoints (`sync_server`). The server
must be able to read the path it is given: locally it reads the exported folder itself. In aws the pods
read S3 only through their start script (vLLM's `load_lora_adapter` takes local paths), so a version
moved there reaches the pods when they start next (a rollout restart, or the next scale-up from zero);
`move_alias` refuses to sync a server from a remote serving location rather than pretend it did.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from common import storage
from common.settings import Settings
from common.tracking import (
    ADAPTER_ARTIFACT,
    BASE_MODEL_ID_TAG,
    CONTENT_TAG,
    PROMPT_SHA256_TAG,
    PROMPT_VERSION_TAG,
    mlflow_for,
)

log = logging.getLogger(__name__)

MANIFEST = "serving.json"
# Version tags copied into the manifest, by manifest key.
MANIFEST_TAGS = {
    "content_sha256": CONTENT_TAG,
    "prompt_sha256": PROMPT_SHA256_TAG,
    "prompt_version": PROMPT_VERSION_TAG,
    "base_model_id": BASE_MODEL_ID_TAG,
}


@dataclass(frozen=True)
class ExportedAdapter:
    """An alias's adapter at the serving location; `copied` is False when it was already there."""

    alias: str
    model_name: str
    version: str
    uri: str  # the version's adapter folder: <adapters_uri>/<alias>/v<version>
    manifest: dict[str, Any]
    copied: bool

    @property
    def local_path(self) -> Path:
        """The adapter folder as a local path (local serving location only)."""
        return _local_folder(self.uri)


class AdapterServerError(RuntimeError):
    """A running server refused an adapter request; the message is the server's own."""

    def __init__(self, action: str, status_code: int, message: str) -> None:
        super().__init__(f"{action} failed with HTTP {status_code}: {message}")
        self.action = action
        self.status_code = status_code
        self.message = message


class RuntimeLoadingUnavailable(RuntimeError):
    """The server cannot read the serving location (S3): it picks the aliases up when it starts."""


class RunningServer(Protocol):
    """What `move_alias` needs of a server: where it listens and its bearer key (None: no key)."""

    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str | None: ...


@dataclass(frozen=True)
class ServerAddress:
    base_url: str
    api_key: str | None = None


@dataclass
class SyncResult:
    loaded: list[str] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


# --- export -------------------------------------------------------------------------------------------


def alias_uri(settings: Settings, alias: str) -> str:
    return storage.join(settings.serving.adapters_uri, alias)


def read_manifest(settings: Settings, alias: str) -> dict[str, Any] | None:
    """The alias's manifest at the serving location, or None when the alias is not exported."""
    uri = storage.join(alias_uri(settings, alias), MANIFEST)
    if not storage.exists(uri):
        return None
    return dict(storage.read_json(uri))


def export_alias(settings: Settings, alias: str) -> ExportedAdapter | None:
    """Make the serving location hold the version `alias` points to; None (and nothing there) when the
    alias does not exist. Only the version's adapter folder is downloaded, and only when the serving
    location does not already hold it."""
    from mlflow import MlflowClient

    mlflow_for(settings)
    client = MlflowClient()
    name = settings.registry.model_name
    folder = alias_uri(settings, alias)
    manifest_uri = storage.join(folder, MANIFEST)

    version = _aliased_version(client, name, alias)
    if version is None:
        if storage.exists(folder):
            log.info("%s has no alias %s: withdrawing its exported adapter", name, alias)
            storage.remove(manifest_uri)  # first: what remains is no longer served by a restart
            storage.remove(folder)
        return None

    tags = client.get_model_version(name, version).tags
    wanted = {
        "model_name": name,
        "alias": alias,
        "version": version,
        **{key: tags.get(tag) for key, tag in MANIFEST_TAGS.items()},
    }
    target_name = f"v{version}"
    target = storage.join(folder, target_name)
    current = read_manifest(settings, alias)
    if current is not None and _same_export(current, wanted) and _holds(target, current.get("files", [])):
        log.info("%s@%s (version %s) is already exported at %s", name, alias, version, target)
        _prune(folder, keep=target_name)  # what an export that died before its pruning left
        return ExportedAdapter(alias, name, version, target, current, copied=False)
    if current is not None and current.get("version") == version:
        storage.remove(manifest_uri)  # it names the folder about to be rewritten

    local = storage.is_local(folder)
    if local:
        Path(storage.local_path(folder)).mkdir(parents=True, exist_ok=True)
    # Locally the download lands beside its destination, so that putting it in place is one rename.
    with tempfile.TemporaryDirectory(
        prefix=".staging-", dir=storage.local_path(folder) if local else None
    ) as tmp:
        adapter = _download_adapter(client, name, version, Path(tmp))
        files = sorted(p.relative_to(adapter).as_posix() for p in adapter.rglob("*") if p.is_file())
        if not files:
            raise FileNotFoundError(f"version {version} of {name} has an empty {ADAPTER_ARTIFACT!r} artifact")
        storage.remove(target)
        if local:
            adapter.rename(storage.local_path(target))
        else:
            storage.upload_dir(str(adapter), target)
    manifest = {**wanted, "files": files, "exported_at": datetime.now(UTC).isoformat()}
    _write_manifest(manifest_uri, manifest)
    _prune(folder, keep=target_name)
    log.info("exported %s@%s (version %s, %d files) to %s", name, alias, version, len(files), target)
    return ExportedAdapter(alias, name, version, target, manifest, copied=True)


def export_aliases(settings: Settings) -> dict[str, Path]:
    """Export every serving alias to the local serving location; alias -> adapter folder for those
    that exist (what a local server is started with)."""
    if not storage.is_local(settings.serving.adapters_uri):
        raise ValueError(f"adapters_uri {settings.serving.adapters_uri} is not a local folder")
    exported = {}
    for alias in settings.serving.aliases:
        adapter = export_alias(settings, alias)
        if adapter is not None:
            exported[alias] = adapter.local_path
    return exported


def served_paths(settings: Settings) -> dict[str, str]:
    """alias -> adapter folder, from the manifests at a local serving location (no registry call): the
    paths a local server is to serve."""
    if not storage.is_local(settings.serving.adapters_uri):
        raise RuntimeLoadingUnavailable(
            f"a server cannot load adapters from {settings.serving.adapters_uri}: it loads them at start"
        )
    paths = {}
    for alias in settings.serving.aliases:
        manifest = read_manifest(settings, alias)
        if manifest is not None:
            folder = storage.join(alias_uri(settings, alias), f"v{manifest['version']}")
            paths[alias] = str(_local_folder(folder))
    return paths


def move_alias(
    settings: Settings, alias: str, version: str | int, *, server: RunningServer | None = None
) -> ExportedAdapter:
    """Point `alias` at `version` in the registry, export it, and bring a running server in line."""
    from mlflow import MlflowClient

    if server is not None and not storage.is_local(settings.serving.adapters_uri):
        raise RuntimeLoadingUnavailable(
            f"a running server cannot load adapters from {settings.serving.adapters_uri}: "
            "it loads the aliases' versions when it starts"
        )
    mlflow_for(settings)
    name = settings.registry.model_name
    MlflowClient().set_registered_model_alias(name, alias, str(version))
    log.info("%s@%s now points to version %s", name, alias, version)
    exported = export_alias(settings, alias)
    if exported is None:
        raise RuntimeError(f"{name}@{alias} vanished from the registry right after it was set")
    if server is not None:
        sync_server(server.base_url, server.api_key, served_paths(settings), managed=settings.serving.aliases)
    return exported


def _local_folder(uri: str) -> Path:
    """The absolute path a local server is given, and lists back as the adapter's `root`: one spelling,
    so that comparing them tells whether it serves this folder."""
    return Path(storage.local_path(uri)).resolve()


def _aliased_version(client: Any, name: str, alias: str) -> str | None:
    """The version `alias` points to; None when neither the alias nor the model exists."""
    from mlflow.exceptions import MlflowException

    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = aliases.get(alias)
    return None if version is None else str(version)


def _download_adapter(client: Any, name: str, version: str, workdir: Path) -> Path:
    """Only the version's adapter folder, found through its MLmodel file (the model's other
    artifacts, e.g. the pickled model and its environment files, are not needed to serve it)."""
    import mlflow
    from mlflow.models import Model

    root = client.get_model_version_download_uri(name, version).rstrip("/")
    mlmodel = mlflow.artifacts.download_artifacts(f"{root}/MLmodel", dst_path=str(workdir / "meta"))
    artifacts = Model.load(mlmodel).flavors["python_function"].get("artifacts", {})
    if ADAPTER_ARTIFACT not in artifacts:
        raise KeyError(f"version {version} of {name} has no {ADAPTER_ARTIFACT!r} artifact")
    path = artifacts[ADAPTER_ARTIFACT]["path"]
    return Path(mlflow.artifacts.download_artifacts(f"{root}/{path}", dst_path=str(workdir / "adapter")))


def _same_export(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """The same version of the same training output (a recreated registry reuses version numbers)."""
    return all(current.get(key) == value for key, value in wanted.items())


def _holds(folder: str, files: list[str]) -> bool:
    prefix = folder.rstrip("/") + "/"
    return bool(files) and {f[len(prefix) :] for f in storage.list_files(folder)} == set(files)


def _write_manifest(uri: str, manifest: dict[str, Any]) -> None:
    """Replaced in one step: an S3 put is atomic; a local file is written aside and renamed."""
    if not storage.is_local(uri):
        storage.write_json(uri, manifest)
        return
    path = Path(storage.local_path(uri))
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(aside, path)


def _prune(folder: str, keep: str) -> None:
    """Delete the alias's other `v*` folders, once the manifest names `keep`."""
    prefix = folder.rstrip("/") + "/"
    children = {uri[len(prefix) :].split("/", 1)[0] for uri in storage.list_files(folder)}
    for child in sorted(children):
        if child.startswith("v") and child != keep:
            log.info("deleting the superseded adapter folder %s", storage.join(folder, child))
            storage.remove(storage.join(folder, child))


# --- runtime loading ----------------------------------------------------------------------------------


def sync_server(
    base_url: str,
    api_key: str | None,
    adapters: Mapping[str, str],
    *,
    managed: Iterable[str] | None = None,
    timeout_s: float = 120.0,
) -> SyncResult:
    """Make a running vLLM server serve exactly `adapters` (name -> path as the server sees it).

    An adapter already served from that path is left alone; one served from another path is unloaded
    and loaded again from the new one (vLLM refuses to load a name twice). Served adapters that are not
    wanted are unloaded when they are `managed` (default: every adapter the server lists), so adapters
    someone else loaded by hand can be left alone. Needs VLLM_ALLOW_RUNTIME_LORA_UPDATING on the server.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    result = SyncResult()
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s) as http:
        served = _served_adapters(http)
        for name, path in adapters.items():
            if served.get(name) == path:
                result.unchanged.append(name)
                continue
            if name in served:
                _post(http, "/v1/unload_lora_adapter", {"lora_name": name}, f"unloading adapter {name!r}")
                log.info("unloaded adapter %s (was %s)", name, served[name])
            body = {"lora_name": name, "lora_path": path}
            _post(http, "/v1/load_lora_adapter", body, f"loading adapter {name!r} from {path}")
            log.info("loaded adapter %s from %s", name, path)
            result.loaded.append(name)
        removable = set(served) if managed is None else set(managed) & set(served)
        for name in sorted(removable - set(adapters)):
            _post(http, "/v1/unload_lora_adapter", {"lora_name": name}, f"unloading adapter {name!r}")
            log.info("unloaded adapter %s (no longer wanted)", name)
            result.unloaded.append(name)
    return result


def _served_adapters(http: httpx.Client) -> dict[str, str]:
    """name -> path of the LoRA adapters a server lists (those with a `parent`: the base model has none)."""
    response = http.get("/v1/models")
    if response.status_code != 200:
        raise AdapterServerError("listing the served models", response.status_code, _server_message(response))
    return {card["id"]: card.get("root") for card in response.json().get("data", []) if card.get("parent")}


def _post(http: httpx.Client, path: str, body: dict[str, str], action: str) -> None:
    response = http.post(path, json=body)
    if response.status_code != 200:
        error = AdapterServerError(action, response.status_code, _server_message(response))
        log.error("%s", error)
        raise error


def _server_message(response: httpx.Response) -> str:
    """vLLM's error text: `{"error": {"message"}}`, older `{"message"}`, FastAPI's `{"detail"}`."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return response.text.strip()
