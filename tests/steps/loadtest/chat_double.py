"""A test double of an OpenAI-compatible chat-completions server, on 127.0.0.1, for the load-test tests.

It answers `POST /v1/chat/completions` with a canned summary after a configurable delay, fails on
purpose when told to (every n-th request with a status, or the first n with 503 like a service that is
still scaled to zero), and records every request it received: headers, JSON body and the status it
answered. Standard library only; threads, so slow answers overlap like a real server's.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = {
    "pros": [{"text": "long battery life", "evidence": [1]}],
    "cons": [{"text": "flimsy case", "evidence": [2]}],
    "summary": "Buyers like it overall.",
}


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class ChatCompletionsDouble:
    latency_s: float = 0.0
    fail_every: int = 0  # every n-th request (1-based) answers fail_status; 0: never
    fail_status: int = 500
    unavailable_first: int = 0  # the first n requests answer 503, like a service warming up
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def statuses(self) -> list[int]:
        with self._lock:
            return [r.status for r in self.received]

    def _status_of(self, number: int) -> int:
        if number <= self.unavailable_first:
            return 503
        if self.fail_every and number % self.fail_every == 0:
            return self.fail_status
        return 200

    def __enter__(self) -> ChatCompletionsDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Locust's client expects

            def log_message(self, *_: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/chat/completions":
                    self._reply(404, {"error": "not found"})
                    return
                body = json.loads(raw)
                with double._lock:
                    status = double._status_of(len(double.received) + 1)
                    double.received.append(Received(dict(self.headers.items()), body, status))
                time.sleep(double.latency_s)
                if status != 200:
                    self._reply(status, {"error": {"message": "injected", "code": status}})
                    return
                self._reply(
                    200,
                    {
                        "id": "chatcmpl-double",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": json.dumps(ANSWER)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960},
                    },
                )

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
