"""A loopback HTTP server that answers vLLM's runtime LoRA endpoints, for the decision logic of
`common.serving.adapters.sync_server` only (what to load, unload or leave alone, and how refusals
surface). It is a stand-in, not vLLM: it loads no weights and checks only that an adapter path is a
folder. That the real server accepts the same calls is tested against vLLM itself.

It implements what vLLM documents for these endpoints: `GET /v1/models` lists the base model (no
`parent`) and each adapter with the path it was loaded from (`root`) and the base model as `parent`;
`POST /v1/load_lora_adapter {"lora_name", "lora_path"}` answers 200, or 400 when the name is already
loaded or the path cannot be loaded; `POST /v1/unload_lora_adapter {"lora_name"}` answers 200, or 404
when no adapter has that name; `/v1` paths answer 401 without the server's API key. Errors have
vLLM's body, `{"error": {"message", "type", "code"}}`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BASE_MODEL = "base"


@dataclass
class LoraState:
    api_key: str | None
    adapters: dict[str, str] = field(default_factory=dict)  # name -> path
    calls: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, adapter name) of every POST


class _Handler(BaseHTTPRequestHandler):
    state: LoraState

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures anyway
        pass

    def _authorized(self) -> bool:
        if self.state.api_key and self.headers.get("Authorization") != f"Bearer {self.state.api_key}":
            self._error(401, "Unauthorized", "AuthenticationError")
            return False
        return True

    def _send(self, status: int, body: Any) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path != "/v1/models":
            self._error(404, "Not Found", "NotFoundError")
            return
        cards = [{"id": BASE_MODEL, "object": "model", "root": "/models/base", "parent": None}]
        cards += [
            {"id": name, "object": "model", "root": path, "parent": BASE_MODEL}
            for name, path in self.state.adapters.items()
        ]
        self._send(200, {"object": "list", "data": cards})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        name = body.get("lora_name", "")
        self.state.calls.append((self.path, name))
        adapters = self.state.adapters
        if self.path == "/v1/load_lora_adapter":
            path = body.get("lora_path", "")
            if not name or not path:
                self._error(400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput")
            elif name in adapters:
                self._error(400, f"The lora adapter '{name}' has already been loaded.", "InvalidUserInput")
            elif not Path(path).is_dir():
                self._error(
                    400, f"Loading lora {name} failed: No adapter found for {path}", "BadRequestError"
                )
            else:
                adapters[name] = path
                self._send(200, f"Success: LoRA adapter '{name}' added successfully.")
        elif self.path == "/v1/unload_lora_adapter":
            if name not in adapters:
                self._error(404, f"The lora adapter '{name}' cannot be found.", "NotFoundError")
            else:
                del adapters[name]
                self._send(200, f"Success: LoRA adapter '{name}' removed successfully.")
        else:
            self._error(404, "Not Found", "NotFoundError")


@contextmanager
def lora_stand_in(api_key: str | None = "test-key") -> Iterator[tuple[str, LoraState]]:
    """The stand-in on a free loopback port: yields its base URL and state; stopped on exit."""
    state = LoraState(api_key)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
