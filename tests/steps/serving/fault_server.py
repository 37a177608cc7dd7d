"""A fault-injecting stand-in for vLLM's OpenAI-compatible server, on 127.0.0.1, for the serving client's
tests.

Each chat request carries its id in `X-Request-Id`; `plans` maps an id to the fault of each of its tries
(the last one repeats; ids without a plan are answered well). Faults:

- `ok`: a valid summary (`control_chars`: one whose strings hold a raw tab, which strict JSON rejects);
- `429`, `500`, `503`, `400`: that status, with `retry-after=S` (seconds) or `retry-after-date=S` (an HTTP
  date S seconds ahead) when given, e.g. `"429 retry-after=0.5"`;
- `hang`: no answer until the client gives up (or `hang_s`, or the server stops);
- `reset`: the connection is reset after the request is read; `cut`: the body stops halfway;
- `length`: a cut-off answer with `finish_reason: length`; `not_json`, `not_an_object`, `schema`:
  answers that break the contract; `no_content`: a 200 without `choices`;
- streamed requests (`"stream": true`) get server-sent events; `stream_cut` ends them before `[DONE]`.

`/health` answers `health` statuses in order (the last repeats). Every try and poll is recorded, with the
most requests in flight at once. Standard library only; threads, so slow answers overlap; `hang` waits
on an event that stopping the server sets, so nothing outlives the test.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = {
    "pros": [{"text": "long battery life", "evidence": [1]}, {"text": "bright screen", "evidence": [1]}],
    "cons": [{"text": "flimsy case", "evidence": [2]}],
    "summary": "Buyers like it.",
}
USAGE = {"prompt_tokens": 700, "completion_tokens": 30, "total_tokens": 730}

_CONTENT = {
    "ok": json.dumps(ANSWER),
    "control_chars": '{"pros": [{"text": "long\tbattery", "evidence": [1]}], "cons": [], '
    '"summary": "Buyers like it."}',
    "length": '{"pros": [{"text": "long battery life", "evidence": [1, 2]}, {"text": "bri',
    "not_json": '{"pros": [{"text": "long battery life", "evidence": [1]}], "cons": [], '
    '"summary": "Buyers like it."',
    "not_an_object": json.dumps([ANSWER]),
    "schema": json.dumps({"pros": [{"text": "ok", "evidence": [1]}], "cons": []}),
    # A claim citing a snippet the prompt did not show (requests carry fewer than 99 snippets).
    "evidence": json.dumps({**ANSWER, "cons": [{"text": "flimsy case", "evidence": [99]}]}),
}


@dataclass(frozen=True)
class Try:
    request_id: str
    fault: str
    at: float  # time.monotonic() when the request was read
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FaultServer:
    plans: dict[str, list[str]] = field(default_factory=dict)
    health: list[int] = field(default_factory=lambda: [200])
    latency_s: float = 0.0  # of every answered chat request
    hang_s: float = 10.0
    port: int = 0
    tries: list[Try] = field(default_factory=list)
    polls: list[tuple[float, int]] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def tries_of(self, request_id: str) -> list[Try]:
        with self._lock:
            return [t for t in self.tries if t.request_id == request_id]

    def _fault(self, request_id: str) -> str:
        plan = self.plans.get(request_id, ["ok"])
        with self._lock:
            number = sum(1 for t in self.tries if t.request_id == request_id)
        return plan[min(number, len(plan) - 1)]

    def _health_status(self) -> int:
        with self._lock:
            status = self.health[min(len(self.polls), len(self.health) - 1)]
            self.polls.append((time.monotonic(), status))
        return status

    def __enter__(self) -> FaultServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/health":
                    self._json(404, {"error": "not found"})
                    return
                self._json(server._health_status(), {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                request_id = self.headers.get("X-Request-Id", "")
                fault = server._fault(request_id)
                with server._lock:
                    server.tries.append(Try(request_id, fault, time.monotonic(), dict(self.headers), body))
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    self._answer(fault, body)
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _answer(self, fault: str, body: dict[str, Any]) -> None:
                name, _, option = fault.partition(" ")
                if name.isdigit():
                    headers = {}
                    if option.startswith("retry-after="):
                        headers["Retry-After"] = option.split("=", 1)[1]
                    elif option.startswith("retry-after-date="):
                        ahead = float(option.split("=", 1)[1])
                        headers["Retry-After"] = formatdate(time.time() + ahead, usegmt=True)
                    self._json(
                        int(name), {"error": {"message": f"injected {name}", "code": int(name)}}, headers
                    )
                elif name == "hang":
                    server._stopping.wait(server.hang_s)
                    self.close_connection = True
                elif name == "reset":
                    # SO_LINGER 0: close() sends RST instead of FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                elif name == "cut":
                    data = self._completion("ok")
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif name == "no_content":
                    self._json(200, {"id": "x", "object": "chat.completion", "choices": []})
                else:
                    time.sleep(server.latency_s)
                    if body.get("stream"):
                        self._stream(name, body)
                    else:
                        data = self._completion(name)
                        self._send(200, data, {"Content-Type": "application/json"})

            def _completion(self, name: str) -> bytes:
                finish = "length" if name == "length" else "stop"
                choice = {"index": 0, "message": {"role": "assistant", "content": _CONTENT[name]}}
                payload = {
                    "id": "chatcmpl-x",
                    "object": "chat.completion",
                    "choices": [{**choice, "finish_reason": finish}],
                    "usage": USAGE,
                }
                return json.dumps(payload).encode()

            def _stream(self, name: str, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                content = _CONTENT["length" if name == "length" else "ok"]
                pieces = [content[i : i + 12] for i in range(0, len(content), 12)]
                for number, piece in enumerate(pieces):
                    last = number == len(pieces) - 1
                    finish = ("length" if name == "length" else "stop") if last else None
                    delta = {"index": 0, "delta": {"content": piece}, "finish_reason": finish}
                    self._event({"object": "chat.completion.chunk", "choices": [delta]})
                    time.sleep(0.01)
                    if name == "stream_cut" and number == 1:
                        self.wfile.write(b"0\r\n\r\n")
                        self.close_connection = True
                        return
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._event({"object": "chat.completion.chunk", "choices": [], "usage": USAGE})
                self._chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

            def _event(self, payload: dict[str, Any]) -> None:
                self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send(
                    status,
                    json.dumps(payload).encode(),
                    {"Content-Type": "application/json", **(headers or {})},
                )

            def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # resets and cut bodies are on purpose

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._server is not None
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
