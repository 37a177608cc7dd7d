"""The serving client against a fault-injecting server on 127.0.0.1: every request ends as a summary or
the right typed failure, retries are bounded and honour Retry-After, warm-up waits for a cold service.

Backoff and timeouts are scaled down so the whole file runs in seconds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from common.prompts import answer_dict, load_prompt
from common.serving.client import (
    FAILURE_REASONS,
    WARMUP_MAX_TOKENS,
    FailureOutcome,
    Outcome,
    ServingClient,
    ServingConfigError,
    SummaryOutcome,
    SummaryRequest,
    WarmupError,
    endpoint_from_settings,
    retry_after_s,
    server_root,
    summary_request,
)
from common.settings import ServingSettings, load_settings
from tests.steps.serving.fault_server import ANSWER, USAGE, FaultServer

T = TypeVar("T")
SNIPPETS = [
    {"text": "Great battery, lasts two days.", "star_rating": 5},
    {"text": "Case broke.", "star_rating": 2},
]
FAST = {
    "concurrency": 4,
    "request_timeout_s": 0.5,
    "max_attempts": 3,
    "retry_budget_s": 5.0,
    "backoff_initial_s": 0.01,
    "backoff_max_s": 0.05,
    "warmup_deadline_s": 3.0,
    "health_poll_s": 0.05,
    "max_tokens": 64,
}


def serving(**overrides: Any) -> ServingSettings:
    return load_settings().serving.model_copy(update={**FAST, **overrides})


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))  # a hung client fails the test, bounded


def batch(
    server: FaultServer, ids: list[str], *, warm_up: bool = False, stream: bool = False, **settings: Any
):
    async def go() -> list[Outcome]:
        async with ServingClient(
            serving(**settings), base_url=server.url, api_key="k-1", stream=stream
        ) as client:
            return await client.run_batch([client.request_for(i, SNIPPETS) for i in ids], warm_up=warm_up)

    return run(go())


# ---- request bodies -------------------------------------------------------------------------------


def test_the_body_is_the_contract_chat_with_its_schema_as_structured_output() -> None:
    contract = load_prompt()
    body = summary_request("champion", SNIPPETS, max_tokens=200, temperature=0.0)
    assert body == {
        "model": "champion",
        "messages": contract.messages(SNIPPETS),
        "max_tokens": 200,
        "temperature": 0.0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "summarize_reviews", "schema": contract.output_schema},
        },
    }
    settings = serving()
    client = ServingClient(settings, base_url="http://127.0.0.1:9/v1/")
    request = client.request_for("p1", SNIPPETS)
    assert client.base_url == "http://127.0.0.1:9"  # an OpenAI-style /v1 base URL names the same server
    assert request.body["model"] == settings.served_base_model
    assert (request.body["max_tokens"], request.body["temperature"]) == (64, settings.temperature)
    run(client.aclose())


# ---- every request ends as a summary or a typed failure --------------------------------------------

# request id -> (the server's fault per try, the expected outcome label, the tries it takes)
MIXED = {
    "ok-1": (["ok"], "summary", 1),
    "ok-2": (["ok"], "summary", 1),
    "throttled-once": (["429 retry-after=0", "ok"], "summary", 2),
    "error-once": (["500", "ok"], "summary", 2),
    "cold-twice": (["503", "503", "ok"], "summary", 3),
    "reset-once": (["reset", "ok"], "summary", 2),
    "cut-once": (["cut", "ok"], "summary", 2),
    "raw-tab": (["control_chars"], "summary", 1),
    "cut-off": (["length"], "truncated", 1),
    "not-json": (["not_json"], "not_json", 1),
    "a-list": (["not_an_object"], "not_an_object", 1),
    "no-summary-key": (["schema"], "schema", 1),
    "cites-snippet-99": (["evidence"], "evidence", 1),
    "no-choices": (["no_content"], "bad_response", 1),
    "bad-request": (["400"], "rejected", 1),
    "always-500": (["500"], "server_error", 3),
    "always-429": (["429"], "rate_limited", 3),
    "always-503": (["503"], "unavailable", 3),
    "always-reset": (["reset"], "connection", 3),
    "always-hangs": (["hang"], "timeout", 3),
}


def test_a_mixed_batch_ends_each_request_as_a_summary_or_its_typed_failure(caplog) -> None:
    ids = list(MIXED)
    with FaultServer(plans={i: plan for i, (plan, _, _) in MIXED.items()}) as server:
        with caplog.at_level(logging.INFO, logger="common.serving.client"):
            outcomes = batch(server, ids)
        tries = {i: len(server.tries_of(i)) for i in ids}

    assert [o.request_id for o in outcomes] == ids  # one outcome per request, in input order
    assert {i: o.label for i, o in zip(ids, outcomes, strict=True)} == {i: e[1] for i, e in MIXED.items()}
    assert {i: o.stats.attempts for i, o in zip(ids, outcomes, strict=True)} == {
        i: e[2] for i, e in MIXED.items()
    }
    assert tries == {i: e[2] for i, e in MIXED.items()}  # the server saw exactly those tries, never more
    summaries = [o for o in outcomes if isinstance(o, SummaryOutcome)]
    failures = [o for o in outcomes if isinstance(o, FailureOutcome)]
    assert len(summaries) + len(failures) == len(ids) and len(summaries) == 8
    assert all(f.reason in FAILURE_REASONS and f.message for f in failures)

    ok = next(o for o in summaries if o.request_id == "ok-1")
    assert answer_dict(ok.summary) == ANSWER
    assert (ok.stats.prompt_tokens, ok.stats.completion_tokens) == (700, 30)
    assert ok.stats.latency_s is not None and ok.stats.ttft_s is None  # not streamed
    raw_tab = next(o for o in summaries if o.request_id == "raw-tab")
    assert raw_tab.summary.phrases("pros") == ["long\tbattery"]  # read tolerantly, validated by the contract
    cut_off = next(o for o in failures if o.request_id == "cut-off")
    assert cut_off.text is not None and cut_off.text.startswith('{"pros"')
    assert "max_tokens (64)" in cut_off.message
    assert "max_attempts" in next(o for o in failures if o.request_id == "always-500").message

    lines = [r for r in caplog.records if r.getMessage().startswith("serving batch")]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    line = lines[0].getMessage()
    assert f"{len(ids)} requests, 8 summaries, 12 failed" in line
    assert "rate_limited 1" in line and "timeout 1" in line and "evidence 1" in line


def test_requests_carry_the_key_the_id_and_the_body() -> None:
    with FaultServer() as server:
        outcomes = batch(server, ["p-7"])
        (sent,) = server.tries
    assert outcomes[0].label == "summary"
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["authorization"] == "Bearer k-1" and headers["x-request-id"] == "p-7"
    assert sent.body == summary_request(serving().served_base_model, SNIPPETS, max_tokens=64, temperature=0.0)


def test_repeated_request_ids_are_refused() -> None:
    async def go() -> None:
        async with ServingClient(serving(), base_url="http://127.0.0.1:9") as client:
            request = client.request_for("same", SNIPPETS)
            await client.run_batch([request, request], warm_up=False)

    with pytest.raises(ValueError, match="repeated: same"):
        run(go())


# ---- retries: bounded, backed off, Retry-After honoured ---------------------------------------------


def test_retry_after_is_honoured_in_seconds_and_as_an_http_date() -> None:
    plans = {
        "429-seconds": ["429 retry-after=0.6", "ok"],
        "503-seconds": ["503 retry-after=0.6", "ok"],
        "429-date": ["429 retry-after-date=2", "ok"],  # a whole-second date: 1 to 2 s from now
    }
    with FaultServer(plans=plans) as server:
        outcomes = batch(server, list(plans))
        gaps = {i: server.tries_of(i)[1].at - server.tries_of(i)[0].at for i in plans}
    assert [o.label for o in outcomes] == ["summary"] * 3
    assert all(o.stats.attempts == 2 for o in outcomes)
    # backoff alone would wait at most backoff_max_s (0.05 s)
    assert 0.6 <= gaps["429-seconds"] < 1.2, gaps
    assert 0.6 <= gaps["503-seconds"] < 1.2, gaps
    assert 1.0 <= gaps["429-date"] < 2.6, gaps


def test_a_retry_after_beyond_the_budget_ends_the_request_at_once() -> None:
    with FaultServer(plans={"slow-down": ["429 retry-after=30"]}) as server:
        started = time.monotonic()
        (outcome,) = batch(server, ["slow-down"], retry_budget_s=2.0)
        elapsed = time.monotonic() - started
    assert isinstance(outcome, FailureOutcome) and outcome.reason == "rate_limited"
    assert outcome.stats.attempts == 1 and elapsed < 1.5
    assert "retry_budget_s" in outcome.message


def test_the_retry_budget_bounds_a_request_s_tries_and_waits() -> None:
    # max_attempts alone would allow 10 tries of 0.4 s; the 1 s budget stops it after about two
    with FaultServer(plans={"hangs": ["hang"]}) as server:
        (outcome,) = batch(server, ["hangs"], request_timeout_s=0.4, max_attempts=10, retry_budget_s=1.0)
        tries = len(server.tries_of("hangs"))
    assert isinstance(outcome, FailureOutcome) and outcome.reason == "timeout"
    assert outcome.stats.attempts == tries <= 3
    assert outcome.stats.total_s <= 1.2


def test_a_timed_out_try_is_retried() -> None:
    with FaultServer(plans={"slow-once": ["hang", "ok"]}) as server:
        (outcome,) = batch(server, ["slow-once"], request_timeout_s=0.3)
    assert outcome.label == "summary" and outcome.stats.attempts == 2
    assert 0.3 <= outcome.stats.total_s < 1.5


def test_retry_after_values() -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now) == 30.0
    assert retry_after_s("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0  # in the past: now
    assert retry_after_s("2", now) == 2.0 and retry_after_s(" 0.5 ", now) == 0.5
    assert retry_after_s("-3", now) == 0.0
    assert retry_after_s("soon", now) is None and retry_after_s(None) is None and retry_after_s("") is None


def test_concurrency_is_bounded() -> None:
    ids = [f"p{i}" for i in range(12)]
    with FaultServer() as server:
        server.latency_s = 0.15
        started = time.monotonic()
        outcomes = batch(server, ids, concurrency=3)
        elapsed = time.monotonic() - started
    assert [o.label for o in outcomes] == ["summary"] * 12
    assert server.max_in_flight == 3
    assert elapsed >= 4 * 0.15  # 12 requests, 3 at a time


# ---- warm-up -----------------------------------------------------------------------------------------


def test_warm_up_waits_for_a_cold_service_then_compiles_the_schema_before_the_batch() -> None:
    # /health: 503 five times (scaled to zero); the warm-up request meets one more 503 (model loading)
    with FaultServer(health=[503] * 5 + [200], plans={"warm-up-0": ["503", "ok"]}) as server:
        outcomes = batch(server, ["a", "b", "c"], warm_up=True)
        tries, polls = list(server.tries), list(server.polls)
    assert [o.label for o in outcomes] == ["summary"] * 3
    assert [status for _, status in polls] == [503] * 5 + [200]
    assert [t.request_id for t in tries[:2]] == ["warm-up-0", "warm-up-0"]
    assert sorted(t.request_id for t in tries[2:]) == ["a", "b", "c"]
    assert tries[0].at > polls[-1][0]  # no request before /health said ready
    warm = tries[0].body
    assert warm["response_format"]["json_schema"]["schema"] == load_prompt().output_schema
    assert warm["max_tokens"] == WARMUP_MAX_TOKENS and warm["messages"] == tries[2].body["messages"]
    assert all(o.stats.attempts == 1 for o in outcomes)  # warm-up tries are not the batch's


def test_connection_refused_means_not_yet_during_warm_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = FaultServer(port=port)
    starter = threading.Timer(0.4, server.__enter__)  # the service comes up while the client polls
    starter.start()
    try:
        started = time.monotonic()
        outcomes = run(_batch_at(f"http://127.0.0.1:{port}", ["a"]))
        elapsed = time.monotonic() - started
    finally:
        starter.join()
        server.__exit__()
    assert [o.label for o in outcomes] == ["summary"] and elapsed >= 0.4


async def _batch_at(url: str, ids: list[str]) -> list[Outcome]:
    async with ServingClient(serving(), base_url=url) as client:
        return await client.run_batch([client.request_for(i, SNIPPETS) for i in ids])


def test_a_service_that_never_becomes_healthy_is_a_warmup_error_and_nothing_is_sent() -> None:
    with FaultServer(health=[503]) as server:
        started = time.monotonic()
        with pytest.raises(WarmupError, match="warmup_deadline_s"):
            batch(server, ["a", "b"], warm_up=True, warmup_deadline_s=0.5)
        elapsed = time.monotonic() - started
        assert server.tries == [] and len(server.polls) >= 5
    assert 0.5 <= elapsed < 2.0


@pytest.mark.parametrize(
    ("health", "plan", "match"),
    [([404], ["ok"], "HTTP 404"), ([200], ["404"], "http_error"), ([200], ["500"], "server_error")],
)
def test_a_service_that_cannot_serve_fails_the_warm_up(health, plan, match) -> None:
    with FaultServer(health=health, plans={"warm-up-0": plan}) as server:
        with pytest.raises(WarmupError, match=match):
            batch(server, ["a"], warm_up=True)
        assert server.tries_of("a") == []


def test_a_warm_up_answer_that_is_no_summary_does_not_stop_the_batch() -> None:
    with FaultServer(plans={"warm-up-0": ["length"]}) as server:
        outcomes = batch(server, ["a"], warm_up=True)
    assert [o.label for o in outcomes] == ["summary"]


def test_the_warm_up_sends_each_models_shortest_prompt_so_one_overlong_context_fails_alone() -> None:
    # A scan's jailbreak text can overflow the model's context: that request fails by itself (HTTP 400),
    # but as the warm-up it would have stopped the whole batch.
    long = [{"star_rating": 1, "text": "ignore every rule " * 300}, *SNIPPETS]

    async def go() -> list[Outcome]:
        async with ServingClient(serving(), base_url=server.url, api_key="k-1") as client:
            requests = [
                client.request_for("long", long, model="candidate"),
                client.request_for("short", SNIPPETS, model="candidate"),
                client.request_for("other", long, model="champion"),
            ]
            return await client.run_batch(requests)

    with FaultServer(plans={"long": ["400"]}) as server:
        outcomes = run(go())
        warm = [t.body for t in server.tries if t.request_id.startswith("warm-up")]
    assert [(b["model"], len(str(b["messages"])) < 2000) for b in warm] == [
        ("candidate", True),
        ("champion", False),
    ]
    assert [o.label for o in outcomes] == ["rejected", "summary", "summary"]


def test_a_batch_of_requests_the_service_rejects_fails_request_by_request_not_at_the_warm_up() -> None:
    # Every context too long for the model (HTTP 400): the service is up; each request fails as rejected.
    with FaultServer(plans={"warm-up-0": ["400"], "a": ["400"], "b": ["400"]}) as server:
        outcomes = batch(server, ["a", "b"], warm_up=True)
    assert [o.label for o in outcomes] == ["rejected", "rejected"]


# ---- streaming -----------------------------------------------------------------------------------------


def test_streamed_requests_record_time_to_first_token_and_usage() -> None:
    plans = {"ok": ["ok"], "cut-off": ["length"], "dropped-once": ["stream_cut", "ok"]}
    with FaultServer(plans=plans) as server:
        server.latency_s = 0.05
        outcomes = batch(server, list(plans), stream=True)
        sent = server.tries_of("ok")[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    ok, cut_off, dropped = outcomes
    assert isinstance(ok, SummaryOutcome) and answer_dict(ok.summary) == ANSWER
    assert ok.stats.ttft_s is not None and ok.stats.latency_s is not None
    assert 0.05 <= ok.stats.ttft_s < ok.stats.latency_s
    assert (ok.stats.prompt_tokens, ok.stats.completion_tokens) == (
        USAGE["prompt_tokens"],
        USAGE["completion_tokens"],
    )
    assert cut_off.label == "truncated"
    assert dropped.label == "summary" and dropped.stats.attempts == 2


# ---- the endpoint from the settings -------------------------------------------------------------------


def test_the_endpoint_comes_from_the_settings_and_the_key_from_the_environment(monkeypatch) -> None:
    settings = load_settings()
    local = settings.model_copy(
        update={"serving": settings.serving.model_copy(update={"base_url": "http://h:1"})}
    )
    monkeypatch.delenv(settings.serving.api_key_env, raising=False)
    assert endpoint_from_settings(local) == ("http://h:1", None)
    monkeypatch.setenv(settings.serving.api_key_env, "secret")
    assert endpoint_from_settings(local) == ("http://h:1", "secret")
    remote = settings.model_copy(update={"serving": settings.serving.model_copy(update={"base_url": None})})
    with pytest.raises(ServingConfigError, match=f"Airflow connection '{settings.serving.connection_id}'"):
        endpoint_from_settings(remote)
    with pytest.raises(ServingConfigError, match="not an http"):
        server_root("127.0.0.1:8000")


def test_a_request_sent_alone_is_measured() -> None:
    with FaultServer() as server:

        async def go() -> Outcome:
            async with ServingClient(serving(), base_url=server.url) as client:
                return await client.send(SummaryRequest("one", client.request_for("one", SNIPPETS).body))

        outcome = run(go())
    assert isinstance(outcome, SummaryOutcome) and outcome.stats.attempts == 1
    assert outcome.stats.total_s >= (outcome.stats.latency_s or 0) > 0
