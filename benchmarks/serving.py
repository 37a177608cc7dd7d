"""`make bench-serving`: the serving client's throughput and losses, and the local vLLM's batching gain.

Simulated endpoint (a loopback chat-completions server in a child process, so its work does not share the
client's interpreter): every request takes `--latency-s` L, at most `--server-concurrency` C at once
(requests beyond C wait, as they would for a server's batch), answering a valid summary.
- `simulated`: N requests through the client at concurrency C against the reference design's baseline, a
  `ThreadPoolExecutor(10)` sending each request once, no retries; `--rounds` interleaved rounds (the order
  alternates), each ratio reported as its median with its spread. Targets: client <= 1.2 x the
  theoretical minimum ceil(N / C) x L; client >= 4 x faster than the baseline. Each round also records
  the client's CPU per request: on a busy machine that, not the server, bounds the batch.
- `faults`: the same with `--fault-rate` of the answers a 429 (`Retry-After: 1`) or a 503 instead; target:
  the client loses nothing. What the baseline lost is reported.

`local_vllm`: the local vLLM server (`common.serving.local_server.LocalVllmServer`, the tiny base model)
at concurrency 8 against 1, the same requests, interleaved: what continuous batching gives on this
machine. Skipped, with the reason, where the serving environment is missing or unsupported.

Request bodies are the summarizer's (`summary_request`) over real reviews from `../shared/data/marc` when
present, generated reviews otherwise. Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from benchmarks.common import REPO, median_spread, report_header, review_rows

SNIPPETS_PER_REQUEST = 12
BASELINE_THREADS = 10  # the reference design's pool
ANSWER = json.dumps(
    {
        "pros": [
            {"text": "long battery life", "evidence": [1, 4]},
            {"text": "bright screen", "evidence": [2]},
        ],
        "cons": [{"text": "flimsy case", "evidence": [3]}],
        "summary": "Buyers like it.",
    }
)


# ---- the simulated endpoint (child process) ----------------------------------------------------------


def _simulate(
    ready: Any, latency_s: float, cap: int, fault_rate: float, seed: int, latency_sigma: float = 0.0
) -> None:
    """Serve until terminated; put the port on `ready`. Faults are answered at once, outside the cap, as
    a gateway or a full queue rejects a request. With `latency_sigma`, each answer takes a log-normal
    draw of mean `latency_s` (an LLM's answers vary with their length); `/stats` sums what was drawn."""
    slots = threading.BoundedSemaphore(cap)
    lock = threading.Lock()
    draw = random.Random(seed)
    stats: Counter[str] = Counter()
    completion = json.dumps(
        {
            "id": "chatcmpl-sim",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 800, "completion_tokens": 30, "total_tokens": 830},
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body in two writes: no delayed-ACK stall

        def log_message(self, *_: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/stats":
                with lock:
                    self._send(200, json.dumps(stats).encode())
            else:
                self._send(200, b"{}")  # /health

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                roll = draw.random()
                stats["requests"] += 1
            if roll < fault_rate / 2:
                with lock:
                    stats["429"] += 1
                self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "1"})
                return
            if roll < fault_rate:
                with lock:
                    stats["503"] += 1
                self._send(503, b'{"error": {"message": "unavailable"}}')
                return
            with lock:
                delay = latency_s * math.exp(draw.gauss(0.0, latency_sigma) - latency_sigma**2 / 2)
                stats["latency_ms"] += round(delay * 1000)
            with slots:
                time.sleep(delay)
            self._send(200, completion)

        def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # a burst of connections must not meet a full listen backlog

    server = Server(("127.0.0.1", 0), Handler)
    ready.put(server.server_port)
    server.serve_forever()


class SimulatedEndpoint:
    def __init__(
        self, latency_s: float, cap: int, fault_rate: float = 0.0, seed: int = 0, latency_sigma: float = 0.0
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        self._process = context.Process(
            target=_simulate, args=(self._ready, latency_s, cap, fault_rate, seed, latency_sigma), daemon=True
        )
        self.url = ""

    def __enter__(self) -> SimulatedEndpoint:
        self._process.start()
        self.url = f"http://127.0.0.1:{self._ready.get(timeout=60)}"
        return self

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.url}/stats", timeout=10).json())

    def __exit__(self, *_: Any) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


# ---- the two sides -----------------------------------------------------------------------------------


def request_bodies(n: int, model: str, max_tokens: int) -> tuple[list[dict[str, Any]], str]:
    """n summarizer request bodies over distinct groups of reviews (cycled when there are fewer)."""
    from common.serving.client import summary_request

    rows, source = review_rows(min(n, 40) * SNIPPETS_PER_REQUEST)
    snippets = [{"text": r["text"], "star_rating": r["stars"]} for r in rows if r["text"].strip()]
    groups = [
        snippets[i : i + SNIPPETS_PER_REQUEST]
        for i in range(0, len(snippets) - SNIPPETS_PER_REQUEST + 1, SNIPPETS_PER_REQUEST)
    ]
    bodies = [
        summary_request(model, groups[i % len(groups)], max_tokens=max_tokens, temperature=0.0)
        for i in range(n)
    ]
    return bodies, source


class ClientRun(NamedTuple):
    seconds: float  # the whole batch through a fresh client, connections included
    outcomes: Counter[str]
    cpu_s: float  # the client's CPU: on a busy machine that, not the server, bounds the batch
    tries: Counter[int]  # requests by the tries they took
    slowest_s: float  # the longest request, retries and waits included


def client_round(settings: Any, url: str, bodies: Sequence[dict[str, Any]]) -> ClientRun:
    from common.serving.client import ServingClient, SummaryRequest, batch_counts

    async def go() -> ClientRun:
        async with ServingClient(settings, base_url=url) as client:
            requests = [SummaryRequest(f"r{i}", body) for i, body in enumerate(bodies)]
            started, cpu = time.perf_counter(), time.process_time()
            outcomes = await client.run_batch(requests, warm_up=False)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            return ClientRun(
                elapsed,
                Counter(batch_counts(outcomes)),
                cpu,
                Counter(o.stats.attempts for o in outcomes),
                max(o.stats.total_s for o in outcomes),
            )

    return asyncio.run(go())


def baseline_round(url: str, bodies: Sequence[dict[str, Any]], timeout_s: float) -> tuple[float, int]:
    """The reference design: 10 threads, each request sent once; seconds, and how many got no answer."""
    limits = httpx.Limits(max_connections=BASELINE_THREADS, max_keepalive_connections=BASELINE_THREADS)
    with httpx.Client(base_url=url, timeout=timeout_s, limits=limits) as http:

        def send(body: dict[str, Any]) -> bool:
            try:
                response = http.post("/v1/chat/completions", json=body)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        started = time.perf_counter()
        with ThreadPoolExecutor(BASELINE_THREADS) as pool:
            answered = list(pool.map(send, bodies))
        return time.perf_counter() - started, answered.count(False)


def client_settings(serving: Any, cap: int) -> Any:
    """The client as both simulated sections run it: concurrency at the endpoint's cap, short backoffs
    (a round lasts seconds) within a bounded budget."""
    return serving.model_copy(
        update={
            "concurrency": cap,
            "request_timeout_s": 30.0,
            "max_attempts": 5,
            "retry_budget_s": 60.0,
            "backoff_initial_s": 0.1,
            "backoff_max_s": 2.0,
        }
    )


def simulated(serving: Any, args: argparse.Namespace) -> dict[str, Any]:
    n, cap, latency = args.requests, args.server_concurrency, args.latency_s
    settings = client_settings(serving, cap)
    bodies, source = request_bodies(n, serving.served_base_model, serving.max_tokens)
    minimum = math.ceil(n / cap) * latency
    per_round: list[dict[str, Any]] = []
    with SimulatedEndpoint(latency, cap) as endpoint:
        client_round(settings, endpoint.url, bodies[: cap * 2])  # imports and first connections, untimed
        for round_no in range(args.rounds):
            sides = ["client", "baseline"] if round_no % 2 == 0 else ["baseline", "client"]
            seconds: dict[str, float] = {}
            for side in sides:
                if side == "client":
                    run = client_round(settings, endpoint.url, bodies)
                    seconds["client"], cpu = run.seconds, run.cpu_s
                    if run.outcomes != Counter({"summary": n}):
                        raise RuntimeError(f"a clean endpoint gave {dict(run.outcomes)}")
                else:
                    seconds["baseline"], lost = baseline_round(endpoint.url, bodies, 30.0)
                    if lost:
                        raise RuntimeError(f"the baseline lost {lost} requests to a clean endpoint")
            per_round.append(
                {
                    "client_s": round(seconds["client"], 3),
                    "baseline_s": round(seconds["baseline"], 3),
                    "client_vs_minimum": round(seconds["client"] / minimum, 3),
                    "speedup_vs_baseline": round(seconds["baseline"] / seconds["client"], 3),
                    "client_cpu_ms_per_request": round(cpu / n * 1000, 3),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                }
            )
            print(json.dumps({"round": round_no, **per_round[-1]}), flush=True)
    vs_minimum = median_spread([r["client_vs_minimum"] for r in per_round])
    cpu_ms = median_spread([r["client_cpu_ms_per_request"] for r in per_round])
    speedup = median_spread([r["speedup_vs_baseline"] for r in per_round])
    return {
        "texts": source,
        "requests": n,
        "server_concurrency": cap,
        "latency_s": latency,
        "theoretical_minimum_s": round(minimum, 3),
        "baseline_ideal_s": round(math.ceil(n / BASELINE_THREADS) * latency, 3),
        "rounds": per_round,
        "client_vs_minimum": vs_minimum,
        "speedup_vs_baseline": speedup,
        # The CPU the client needs per request, against the time the batch allows it (C / L per second).
        "client_cpu_ms_per_request": cpu_ms,
        "client_cpu_share_of_minimum": round(cpu_ms["median"] * n / 1000 / minimum, 3),
        "targets": {"client_vs_minimum_max": 1.2, "speedup_vs_baseline_min": 4.0},
        "met": {
            "client_within_1.2x_minimum": vs_minimum["median"] <= 1.2,
            "client_4x_baseline": speedup["median"] >= 4.0,
        },
    }


def faults(serving: Any, args: argparse.Namespace) -> dict[str, Any]:
    n, cap, latency = args.requests, args.server_concurrency, args.latency_s
    settings = client_settings(serving, cap)
    bodies, _ = request_bodies(n, serving.served_base_model, serving.max_tokens)
    report: dict[str, Any] = {"requests": n, "fault_rate": args.fault_rate}
    with SimulatedEndpoint(latency, cap, args.fault_rate, seed=1) as endpoint:
        run = client_round(settings, endpoint.url, bodies)
        client_stats = endpoint.stats()
    with SimulatedEndpoint(latency, cap, args.fault_rate, seed=1) as endpoint:
        baseline_s, lost = baseline_round(endpoint.url, bodies, 30.0)
        baseline_stats = endpoint.stats()
    report["client"] = {
        "seconds": round(run.seconds, 3),
        "outcomes": dict(run.outcomes),
        "lost": n - run.outcomes["summary"],
        "requests_by_tries": {str(k): v for k, v in sorted(run.tries.items())},
        "slowest_request_s": round(run.slowest_s, 3),
        "server_saw": client_stats,  # tries, 429s and 503s the client met and retried
    }
    report["baseline"] = {"seconds": round(baseline_s, 3), "lost": lost, "server_saw": baseline_stats}
    report["met"] = {"client_loses_nothing": run.outcomes["summary"] == n}
    return report


# ---- the local vLLM server ---------------------------------------------------------------------------


def local_vllm(args: argparse.Namespace) -> dict[str, Any]:
    """Requests per second and answer tokens per second at concurrency 8 against 1, same requests."""
    try:
        from common.serving.local_server import LocalVllmServer, ServerStartError, ServingUnavailable
    except ImportError as error:
        return {"skipped": f"the local server module is not available: {error}"}
    from common.settings import get_settings

    settings = get_settings("local")
    local = settings.serving.local
    if local is None:
        return {"skipped": "the local profile has no serving.local"}
    settings = settings.model_copy(
        update={
            "serving": settings.serving.model_copy(update={"local": local.model_copy(update={"port": 0})})
        }
    )
    bodies, source = request_bodies(
        args.vllm_requests, settings.serving.served_base_model, args.vllm_max_tokens
    )
    rounds: list[dict[str, Any]] = []
    try:
        with LocalVllmServer(settings) as server:
            for round_no in range(args.vllm_rounds):
                order = (1, 8) if round_no % 2 == 0 else (8, 1)
                result: dict[str, Any] = {}
                for concurrency in order:
                    serving = settings.serving.model_copy(
                        update={"concurrency": concurrency, "request_timeout_s": 300.0}
                    )
                    seconds, outcomes = _vllm_round(serving, server.url, bodies, warm_up=round_no == 0)
                    result[f"concurrency_{concurrency}"] = {"seconds": round(seconds, 3), **outcomes}
                c1, c8 = result["concurrency_1"], result["concurrency_8"]
                result["requests_per_s_8_vs_1"] = round(c1["seconds"] / c8["seconds"], 3)
                result["tokens_per_s_8_vs_1"] = round(
                    (c8["completion_tokens"] / c8["seconds"])
                    / max(c1["completion_tokens"] / c1["seconds"], 1e-9),
                    3,
                )
                rounds.append(result)
                print(json.dumps({"round": round_no, **result}), flush=True)
    except (ServingUnavailable, ServerStartError) as error:
        return {"skipped": str(error)}
    return {
        "texts": source,
        "requests": len(bodies),
        "max_tokens": args.vllm_max_tokens,
        "rounds": rounds,
        "requests_per_s_8_vs_1": median_spread([r["requests_per_s_8_vs_1"] for r in rounds]),
        "tokens_per_s_8_vs_1": median_spread([r["tokens_per_s_8_vs_1"] for r in rounds]),
    }


def _vllm_round(
    serving: Any, url: str, bodies: Sequence[dict[str, Any]], warm_up: bool
) -> tuple[float, dict[str, Any]]:
    from common.serving.client import ServingClient, SummaryRequest, batch_counts

    async def go() -> tuple[float, dict[str, Any]]:
        async with ServingClient(serving, base_url=url) as client:
            requests = [SummaryRequest(f"r{i}", body) for i, body in enumerate(bodies)]
            if warm_up:
                await client.warm_up([bodies[0]])  # grammar compiled before the clock starts
            started = time.perf_counter()
            outcomes = await client.run_batch(requests, warm_up=False)
            seconds = time.perf_counter() - started
            tokens = sum(o.stats.completion_tokens or 0 for o in outcomes)
            return seconds, {"outcomes": batch_counts(outcomes), "completion_tokens": tokens}

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "serving.json")
    parser.add_argument("--requests", type=int, default=320, help="requests per simulated round (N)")
    parser.add_argument("--server-concurrency", type=int, default=64, help="simulator's cap and client's (C)")
    # About what one summary takes on the GPU service (a few hundred tokens): the client's own work per
    # request (a few ms of CPU) is then small against it, as in production.
    parser.add_argument("--latency-s", type=float, default=1.0, help="simulator time per request (L)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved client and baseline rounds")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of answers that are 429 or 503")
    parser.add_argument("--vllm-requests", type=int, default=8, help="requests per local vLLM round")
    parser.add_argument("--vllm-rounds", type=int, default=2)
    parser.add_argument("--vllm-max-tokens", type=int, default=96)
    parser.add_argument("--skip", choices=["simulated", "faults", "vllm"], action="append", default=[])
    args = parser.parse_args()

    report = report_header("serving")
    report["machine"]["load_average_1m_at_start"] = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        os.environ.setdefault("LLMOPS_DATA_DIR", str(Path(tmp) / "data"))
        from common.settings import get_settings

        get_settings.cache_clear()
        serving = get_settings("local").serving
        if "simulated" not in args.skip:
            report["simulated"] = simulated(serving, args)
            print(json.dumps(report["simulated"], indent=2))
        if "faults" not in args.skip:
            report["faults"] = faults(serving, args)
            print(json.dumps(report["faults"], indent=2))
        if "vllm" not in args.skip:
            report["local_vllm"] = local_vllm(args)
            print(json.dumps(report["local_vllm"], indent=2))
    report["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
