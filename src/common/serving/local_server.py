"""The local profile's summarizer endpoint: vLLM's CPU build on loopback, as a context manager.

Production serves the base model and one LoRA adapter per registry alias with vLLM on GPU nodes. Locally
the same OpenAI-compatible server runs from `.venv-serving` (vLLM's CPU build, a version island with its
own torch and transformers, built by `make setup`), so every caller talks to the same API in both profiles:

    with LocalVllmServer(settings, {"champion": adapter_dir}) as server:
        ...  # requests to server.url, adapters picked with "model": "champion"

The server runs in its own process group (vLLM starts an engine process beside its API process), so
stopping it ends both. Its log is a file under `serving.local.log_dir`, kept after it stops: a failed
start raises with the log's tail, and the whole log stays for a person to read.

`make serve` runs `main()`: the registry's current aliases, until Ctrl-C.

Only the standard library and the settings are imported: the caller's environment needs no vLLM.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from common.settings import LocalServerSettings, Settings, get_settings

log = logging.getLogger(__name__)

UNSUPPORTED_MARKER = "UNSUPPORTED"  # written by `make setup` where this CPU cannot run vLLM's CPU build
API_SERVER_MODULE = "vllm.entrypoints.openai.api_server"  # the package's `vllm` console script is broken
# A weak model pads JSON with whitespace until max_tokens under the default grammar: allow none.
STRUCTURED_OUTPUTS_CONFIG = {"backend": "xgrammar", "disable_any_whitespace": True}
HEALTH_POLL_S = 1.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40


class ServingUnavailable(RuntimeError):
    """The local server cannot be started here: no serving environment, or a CPU that cannot run it."""


class ServerStartError(RuntimeError):
    """The server process exited, or did not answer `/health`, before it was ready."""


def serving_environment(local: LocalServerSettings) -> Path:
    """The serving interpreter, after checking that `make setup` built it for this machine."""
    python = Path(local.python)
    venv = python.parent.parent
    marker = venv / UNSUPPORTED_MARKER
    if marker.is_file():
        reason = marker.read_text(encoding="utf-8").strip()
        raise ServingUnavailable(
            f"the local vLLM server cannot run on this machine ({reason}): point LLMOPS_SERVING__BASE_URL "
            "at an OpenAI-compatible vLLM server instead, e.g. vLLM's official image on a GPU machine"
        )
    if not python.is_file():
        raise ServingUnavailable(
            f"the serving environment {venv} is missing ({python} not found): run `make setup`"
        )
    return python


def free_loopback_port(host: str) -> int:
    """A port nothing listens on now. Another process may take it before vLLM binds it; then the start
    fails with the address in use in the log."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"the local vLLM server listens only on loopback (127.0.0.1, ::1 or localhost), not {host!r}"
        )


def server_environment(local: LocalServerSettings) -> dict[str, str]:
    """The server's environment: offline, no telemetry, runtime LoRA loading, and CPU threads that share
    a small machine. The caller's Python path is dropped: the serving environment is a version island."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        {
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",  # POST /v1/load_lora_adapter, as the pods allow
            "VLLM_CPU_KVCACHE_SPACE": str(local.cpu_kvcache_gib),  # GiB of KV cache, allocated at start
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",  # the log file shows a start as it happens
        }
    )
    # Threads, unless the caller chose: vLLM's default pins its OpenMP threads to cores it assumes are its
    # own, and on two cores it pins one thread to core 0 whatever else runs there. Unpinned, one core is
    # left to the API process and the caller (as vLLM reserves one), the others compute.
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) - 1)))
    return env


class LocalVllmServer:
    """vLLM's OpenAI-compatible server on loopback, serving the base model as `serving.served_base_model`
    and each given adapter (alias -> folder) under its alias. Started by `__enter__`, stopped by
    `__exit__`; `url` and `log_path` are set once it answers `/health`."""

    def __init__(
        self,
        settings: Settings | None = None,
        adapters: Mapping[str, str | Path] | None = None,
        *,
        extra_args: Sequence[str] = (),
        port: int | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        local = self.settings.serving.local
        if local is None:
            raise ServingUnavailable(
                f"profile {self.settings.profile!r} has no local server (serving.local); it serves at "
                "serving.base_url or the Airflow connection"
            )
        _require_loopback(local.host)
        self.local = local
        self.adapters = {alias: Path(folder) for alias, folder in (adapters or {}).items()}
        self.extra_args = [*local.extra_args, *extra_args]
        self.host = local.host
        self.port = local.port if port is None else port  # 0: any free loopback port
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # ---- what is started ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The API server's process id, which is also its process group's."""
        return self._process.pid if self._process else None

    def command(self, python: Path, port: int) -> list[str]:
        """The api_server command line for `port`."""
        base_model = self.settings.training.base_model
        if "://" in base_model:
            raise ServingUnavailable(f"the local server needs a base model folder, not {base_model}")
        base_dir = self.settings.resolve_path(base_model)
        if not (base_dir / "config.json").is_file():
            raise ServingUnavailable(
                f"no base model at {base_dir} (training.base_model; `make local-models` builds the local one)"
            )
        served = self.settings.serving.served_base_model
        command = [
            str(python),
            "-m",
            API_SERVER_MODULE,
            "--host",
            self.host,
            "--port",
            str(port),
            "--model",
            str(base_dir),
            "--served-model-name",
            served,
            "--enable-lora",
            "--max-lora-rank",
            str(self.local.max_lora_rank),
            "--max-loras",
            str(self.local.max_loras),
            "--max-model-len",
            str(self.local.max_model_len),
            "--structured-outputs-config",
            json.dumps(STRUCTURED_OUTPUTS_CONFIG, separators=(",", ":")),
        ]
        if self.adapters:
            modules = []
            for alias, folder in self.adapters.items():
                if alias == served:
                    raise ValueError(f"adapter alias {alias!r} is the base model's served name")
                if not (folder / "adapter_config.json").is_file():
                    raise ValueError(f"adapter {alias!r}: {folder} holds no adapter_config.json")
                modules.append(f"{alias}={folder.resolve()}")
            command += ["--lora-modules", *modules]
        return command + list(self.extra_args)

    # ---- start and stop -------------------------------------------------------------------------

    def start(self) -> LocalVllmServer:
        """Start the server and wait until `/health` answers 200 (`startup_timeout_s` at most)."""
        if self._process is not None:
            raise RuntimeError("the server is already started")
        python = serving_environment(self.local)
        port = self.port or free_loopback_port(self.host)
        command = self.command(python, port)
        log_dir = self.settings.resolve_path(self.local.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.log_path = log_dir / f"vllm-{stamp}-{port}.log"
        self.port = port
        self._log_file = self.log_path.open("ab")
        log.info(
            "starting vLLM on %s with adapters %s (log %s)",
            self.url,
            ", ".join(self.adapters) or "none",
            self.log_path,
        )
        started = time.monotonic()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=server_environment(self.local),
            start_new_session=True,  # its own process group: stopped as one, spared the caller's Ctrl-C
        )
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        log.info("vLLM answers on %s after %.0f s", self.url, time.monotonic() - started)
        return self

    def _wait_healthy(self, started: float) -> None:
        assert self._process is not None
        deadline = started + self.local.startup_timeout_s
        while True:
            code = self._process.poll()
            if code is not None:
                raise ServerStartError(
                    f"vLLM exited with code {code} while starting; the end of {self.log_path}:\n"
                    + self.log_tail()
                )
            if self.healthy():
                return
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"vLLM did not answer {self.url}/health within {self.local.startup_timeout_s:.0f} s; "
                    f"the end of {self.log_path}:\n" + self.log_tail()
                )
            time.sleep(HEALTH_POLL_S)

    def healthy(self) -> bool:
        """Whether `GET /health` answers 200 now."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM the process group, wait, then SIGKILL what is left. The log file is kept."""
        process, self._process = self._process, None
        if process is not None:
            group = process.pid
            _signal_group(group, signal.SIGTERM)
            # The API process stops the engine process it started; both must be gone.
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while process.poll() is None or process_group_alive(group):
                if time.monotonic() > deadline:
                    log.error("vLLM did not stop within %.0f s of SIGTERM: killing it", STOP_TIMEOUT_S)
                    break
                time.sleep(0.2)
            _signal_group(group, signal.SIGKILL)
            process.wait()
            log.info("vLLM on %s stopped (log %s)", self.url, self.log_path)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def wait(self) -> int:
        """Block until the server process exits; its exit code."""
        if self._process is None:
            raise RuntimeError("the server is not started")
        return self._process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LocalVllmServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def process_group_alive(group: int) -> bool:
    """Whether a process of the group still runs. An exited process its parent has not reaped yet (a
    zombie, which signals still reach) does not count: it holds no memory and no port."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid pgrp ...": the name may hold spaces and parentheses.
            state, _ppid, pgrp = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # exited while listed
        if int(pgrp) == group and state != "Z":
            return True
    return False


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(group, sig)


def main(argv: Sequence[str] | None = None) -> int:
    """`make serve`: the base model and the registry's current aliases on loopback, until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Serve the summarizer locally with vLLM's CPU build.")
    parser.add_argument("--port", type=int, help="override serving.local.port (0: any free port)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if settings.serving.local is None:
        log.error("profile %r has no local server (serving.local)", settings.profile)
        return 2
    if args.port is not None:
        settings = settings.model_copy(
            update={
                "serving": settings.serving.model_copy(
                    update={"local": settings.serving.local.model_copy(update={"port": args.port})}
                )
            }
        )
    # The registry's client (mlflow) is heavy: imported only by the command that needs it.
    from common.serving.adapters import export_aliases

    adapters = export_aliases(settings)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM to `make serve` stops vLLM as Ctrl-C does

    signal.signal(signal.SIGTERM, _terminate)
    try:
        with LocalVllmServer(settings, adapters) as server:
            names = [settings.serving.served_base_model, *adapters]
            print(f"serving {', '.join(names)} at {server.url} (log {server.log_path}); Ctrl-C stops it")
            print(f"  export LLMOPS_SERVING__BASE_URL={server.url}", flush=True)
            code = server.wait()
            log.error("vLLM exited (code %s); the end of %s:\n%s", code, server.log_path, server.log_tail())
            return 1
    except KeyboardInterrupt:
        return 0
    except (ServingUnavailable, ServerStartError) as error:
        log.error("%s", error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
