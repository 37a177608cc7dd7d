"""The Locust side of the load test: one user class and the bursty traffic shape.

`python -m pipelines.loadtest` runs `locust -f <this file> --run-config <spec.json> --totals-file <json>`;
the spec says which model to ask for, which environment variable holds the bearer key, and the traffic
profile. A user sends summarizer-shaped chat completions one after another with a pause between them;
every answer that is not HTTP 200 with a chat completion in it is a failure, 503 from a service that is
still scaled to zero included (it is named as such in the failure report). Users finish the request in
flight when the shape lowers the load or ends the run (the runner sets Locust's stop timeout), so every
request the endpoint received is in the statistics.

When the test stops, the totals are written from Locust's own aggregated statistics (`--totals-file`):
its CSV files are refreshed once a second and may miss the last requests, the totals never do.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

from locust import HttpUser, LoadTestShape, events, task
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.stats import StatsError

from pipelines.loadtest import traffic
from pipelines.loadtest.payloads import CHAT_COMPLETIONS_PATH, RequestFactory, response_problem
from pipelines.loadtest.spec import RunSpec

# One process, one gevent thread: plain counters number requests and users without locks.
_SEQUENCE = itertools.count()
_USERS = itertools.count()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any, **_: Any) -> None:
    parser.add_argument(
        "--run-config",
        default="",
        include_in_web_ui=False,
        help="the run's JSON spec, written by `python -m pipelines.loadtest`",
    )
    parser.add_argument(
        "--totals-file", default="", include_in_web_ui=False, help="where the run's totals are written"
    )


@functools.cache
def _spec(path: str) -> RunSpec:
    if not path:
        raise ValueError("no --run-config: run the load test with `python -m pipelines.loadtest`")
    return RunSpec.read(path)


@functools.cache
def _factory(path: str) -> RequestFactory:
    spec = _spec(path)
    return RequestFactory(
        spec.model,
        seed=spec.seed,
        payloads_file=spec.payloads_file,
        corpus_products=spec.corpus_products,
        snippets=spec.snippets,
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
    )


class SummarizerUser(HttpUser):
    """A caller of the summarizer endpoint: the batch client's request shape, one request at a time."""

    def on_start(self) -> None:
        path = self.environment.parsed_options.run_config
        self.spec = _spec(path)
        self.factory = _factory(path)
        self.pauses = random.Random(f"{self.spec.seed}:pauses:{next(_USERS)}")
        key = os.environ.get(self.spec.api_key_env, "")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def wait_time(self) -> float:
        return self.pauses.uniform(*self.spec.traffic.wait_s)

    @task
    def summarize(self) -> None:
        with self.client.post(
            CHAT_COMPLETIONS_PATH,
            json=self.factory.body(next(_SEQUENCE)),
            headers=self.headers,
            name=CHAT_COMPLETIONS_PATH,
            timeout=self.spec.request_timeout_s,
            catch_response=True,
        ) as response:
            problem = response_problem(response.status_code, response.content or b"", response.error)
            if problem:
                response.failure(problem)
            else:
                response.success()


class BurstyShape(LoadTestShape):
    """Warm-up, steady load and bursts from the run's profile (`pipelines.loadtest.traffic`)."""

    def tick(self) -> tuple[int, float] | None:
        if self.runner is None:  # not attached to a run: nothing to shape
            return None
        options = self.runner.environment.parsed_options
        assert options is not None  # a run's shape is attached by locust's command line, which parses them
        spec = _spec(options.run_config)
        return traffic.target(spec.traffic, self.get_run_time())


def _failure_message(error: StatsError) -> str:
    if isinstance(error.error, CatchResponseError) and error.error.args:
        return str(error.error.args[0])  # the message SummarizerUser gave
    return StatsError.parse_error(error.error)


def totals(environment: Environment) -> dict[str, Any]:
    """Requests, failures, latency (s) and throughput of the whole run, from Locust's aggregated entry."""
    total = environment.stats.total
    measured = total.num_requests > 0
    failures: dict[str, int] = {}
    for error in environment.stats.errors.values():
        message = _failure_message(error)
        failures[message] = failures.get(message, 0) + error.occurrences
    exceptions = environment.runner.exceptions.values() if environment.runner else []
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "error_rate": total.fail_ratio if measured else None,
        "requests_per_s": round(total.total_rps, 4),
        "latency_s": {
            **{
                name: total.get_response_time_percentile(q) / 1000 if measured else None
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            },
            "mean": round(total.avg_response_time / 1000, 4) if measured else None,
            "max": round(total.max_response_time / 1000, 4) if measured else None,
        },
        "failures_by_error": failures,
        "exceptions": [f"{row['count']} x {row['msg']}" for row in exceptions],
    }


@events.test_stop.add_listener
def _write_totals(environment: Environment, **_: Any) -> None:
    """After every user stopped, so the totals hold every request the endpoint received."""
    path = environment.parsed_options.totals_file if environment.parsed_options else ""
    if path:
        Path(path).write_text(json.dumps(totals(environment), indent=2) + "\n", encoding="utf-8")
