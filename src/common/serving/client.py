"""The one client of the served summarizer (vLLM's OpenAI-compatible chat API), and its request bodies.

Batch inference, evaluation, monitoring and the load test's request builder all go through this module,
so every caller sends the same body (the prompt contract's messages, its JSON schema as vLLM structured
output, the configured decoding) and reads answers the same way (`common.prompts`).

What a served model needs from its client, and why it is here rather than in each caller:
- Bounded concurrency (`serving.concurrency`): the server batches what is in flight; more only queues.
- Retries of 429, 5xx, timeouts and connection errors with exponential backoff and full jitter, honouring
  `Retry-After`, bounded by `max_attempts` and by `retry_budget_s` (a request's tries and waits together),
  so no request is retried forever and a throttled server is not hammered in lockstep.
- Warm-up: a scaled-to-zero service answers 503 for minutes, and the first structured request compiles
  the grammar (slow). `warm_up` polls `/health` until `warmup_deadline_s`, then sends one request with the
  real schema; a deadline passed is a `WarmupError`, not a batch of failures.
- Every request ends as a `SummaryOutcome` or a `FailureOutcome` whose `reason` says why (one `Literal`),
  with its token usage, latency, tries and (streamed) time to first token. `finish_reason == "length"`
  is a failure (`truncated`): a cut-off JSON answer is no summary.

The tenacity retry library is not in every environment that runs this, hence the small explicit loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

import httpx

from common.prompts import PromptContract, ReviewSummary, SummaryFormatError, load_prompt

if TYPE_CHECKING:
    from common.settings import ServingSettings, Settings

log = logging.getLogger(__name__)

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
HEALTH_PATH = "/health"
REQUEST_ID_HEADER = "X-Request-Id"  # vLLM takes it as the request's id in its own logs
WARMUP_MAX_TOKENS = 8  # the grammar is compiled before the first token: a short answer is enough

# Why a request did not end as a summary. The first five are retried; the rest are final.
FailureReason = Literal[
    "rate_limited",  # HTTP 429
    "unavailable",  # HTTP 503: scaled to zero, warming up, or overloaded
    "server_error",  # any other 5xx, or an error event in a stream
    "timeout",  # no complete answer within request_timeout_s (or HTTP 408)
    "connection",  # refused, reset, or closed before the answer was complete
    "rejected",  # HTTP 400 or 422: the service refused this request (a context longer than the model's)
    "http_error",  # any other status (401, 404, ...): retrying cannot help
    "bad_response",  # HTTP 200 that is not a chat completion with text
    "truncated",  # finish_reason "length": the answer was cut at max_tokens
    "not_json",  # the answer text is not JSON (common.prompts reasons from here on)
    "not_an_object",
    "schema",
    "evidence",  # a pro or con cites a snippet the prompt did not show
]
FAILURE_REASONS: tuple[FailureReason, ...] = get_args(FailureReason)
RETRIED: frozenset[FailureReason] = frozenset(
    {"rate_limited", "unavailable", "server_error", "timeout", "connection"}
)
# Failures of a warm-up request that mean the service cannot serve the batch (the rest are the request's
# or the model's: a rejected request shows the service is up and reading requests).
_NOT_SERVING: frozenset[FailureReason] = RETRIED | {"http_error", "bad_response"}


class ServingError(RuntimeError):
    """The served summarizer cannot be used at all (as opposed to one request failing)."""


class ServingConfigError(ServingError):
    """The settings do not say where the served summarizer is."""


class WarmupError(ServingError):
    """The service did not become ready before `warmup_deadline_s`, or refused the warm-up request."""


# ---- request bodies ---------------------------------------------------------------------------------


def summary_request(
    model: str,
    snippets: Sequence[Mapping[str, Any]],
    *,
    max_tokens: int,
    temperature: float,
    prompt: PromptContract | None = None,
) -> dict[str, Any]:
    """The chat-completions body of one summary: the contract's messages, its output schema as vLLM
    structured output (`response_format` json_schema, so the server can only emit schema-shaped JSON),
    and the decoding. `model` is the served base model's name or an adapter's (a registry alias)."""
    contract = prompt or load_prompt()
    return {
        "model": model,
        "messages": contract.messages(snippets),
        "max_tokens": max_tokens,
        "temperature": temperature,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": contract.name, "schema": contract.output_schema},
        },
    }


@dataclass(frozen=True)
class SummaryRequest:
    """One request of a batch: its id (kept in the outcome and sent as X-Request-Id) and its body."""

    request_id: str
    body: dict[str, Any]
    snippet_count: int | None = None  # the snippets shown: what cited evidence is checked against


# ---- outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestStats:
    attempts: int  # tries sent, warm-up excluded
    total_s: float  # first try to outcome, retries and waits included (not the wait for a free slot)
    latency_s: float | None  # the last try, sent to last byte (None: it got no answer at all)
    ttft_s: float | None = None  # the last try, sent to first answer token (streamed requests only)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class SummaryOutcome:
    request_id: str
    summary: ReviewSummary
    text: str  # the answer as the model wrote it
    stats: RequestStats

    @property
    def label(self) -> str:
        return "summary"


@dataclass(frozen=True)
class FailureOutcome:
    request_id: str
    reason: FailureReason
    message: str
    stats: RequestStats
    text: str | None = None  # the answer, when one came (truncated, not_json, schema)

    @property
    def label(self) -> str:
        return self.reason


Outcome = SummaryOutcome | FailureOutcome


# ---- endpoint ---------------------------------------------------------------------------------------


def endpoint_from_settings(settings: Settings) -> tuple[str, str | None]:
    """(base_url, api_key) of the served summarizer.

    `serving.base_url` set (the local profile, or an override): that URL, and the key from the environment
    variable `serving.api_key_env` (absent for a local server without `--api-key`). Unset (`aws`): the
    Airflow connection `serving.connection_id` gives both, its host (a URL) and its password, as Terraform
    and the README's set-up write it; that needs Airflow, so it works in DAG tasks, not in a job without it.
    """
    serving = settings.serving
    if serving.base_url:
        return serving.base_url, os.environ.get(serving.api_key_env) or None
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        raise ServingConfigError(
            "serving.base_url is not set and Airflow is not installed here: the Airflow connection "
            f"{serving.connection_id!r} (serving.connection_id) cannot give the endpoint; set "
            "LLMOPS_SERVING__BASE_URL and the key variable instead"
        ) from None
    connection = BaseHook.get_connection(serving.connection_id)
    host = (connection.host or "").strip()
    if not host:
        raise ServingConfigError(f"the Airflow connection {serving.connection_id!r} has no host")
    if "://" not in host:
        scheme = connection.schema or "https"
        host = f"{scheme}://{host}" + (f":{connection.port}" if connection.port else "")
    return host, connection.password or os.environ.get(serving.api_key_env) or None


def server_root(base_url: str) -> str:
    """The server's root URL: an OpenAI-style base URL ending in /v1 names the same server."""
    root = base_url.rstrip("/")
    root = root.removesuffix("/v1")
    if not root.startswith(("http://", "https://")):
        raise ServingConfigError(f"the serving endpoint {base_url!r} is not an http(s) URL")
    return root


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# ---- one try ----------------------------------------------------------------------------------------


class _TryFailed(Exception):
    def __init__(
        self, reason: FailureReason, message: str, retry_after: float | None = None, text: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.text = text


@dataclass(frozen=True)
class _Completion:
    text: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_s: float | None = None


def _error_detail(content: bytes) -> str:
    """The server's own error message (OpenAI and vLLM shape), short: it goes into logs and reports."""
    try:
        payload = json.loads(content)
        error = payload.get("error", payload) if isinstance(payload, dict) else payload
        detail = error.get("message", error) if isinstance(error, dict) else error
    except ValueError:
        detail = content.decode("utf-8", errors="replace")
    return " ".join(str(detail).split())[:200]


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    wait = retry_after_s(response.headers.get("Retry-After"))
    message = f"HTTP {status}: {_error_detail(response.content)}"
    if status == 429:
        raise _TryFailed("rate_limited", message, wait)
    if status == 503:
        raise _TryFailed("unavailable", message, wait)
    if status == 408:
        raise _TryFailed("timeout", message, wait)
    if status >= 500:
        raise _TryFailed("server_error", message, wait)
    if status in (400, 422):
        raise _TryFailed("rejected", message)
    raise _TryFailed("http_error", message)


def _usage(payload: Mapping[str, Any]) -> tuple[int | None, int | None]:
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None, None
    return usage.get("prompt_tokens"), usage.get("completion_tokens")


def _completion(content: bytes) -> _Completion:
    try:
        payload = json.loads(content)
        choice = payload["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise _TryFailed("bad_response", "HTTP 200 without choices[0].message.content") from None
    prompt_tokens, completion_tokens = _usage(payload)
    return _Completion(
        text if isinstance(text, str) else None, choice.get("finish_reason"), prompt_tokens, completion_tokens
    )


# ---- the client -------------------------------------------------------------------------------------


class ServingClient:
    """Requests to one served summarizer. Use as `async with ServingClient(...) as client:`.

    `stream=True` sends streamed requests (SSE, usage in the last event) and records time to first token;
    the default is one JSON answer per request.

    Each of the `concurrency` slots has its own one-connection httpx client: httpcore's connection pool
    does work quadratic in its connections on every request (about 16 ms of CPU a request with 64
    connections in one pool, against under 2 ms with one pool per slot, on the machine this was
    measured on), which would make the client, not the server, the bottleneck of a large batch."""

    def __init__(
        self,
        settings: ServingSettings,
        *,
        base_url: str,
        api_key: str | None = None,
        prompt: PromptContract | None = None,
        stream: bool = False,
    ) -> None:
        self.settings = settings
        self.base_url = server_root(base_url)
        self.prompt = prompt or load_prompt()
        self.stream = stream
        self._random = random.Random()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        tls = httpx.create_ssl_context()  # loaded once: it costs ~0.1 s a client
        self._pools = [
            httpx.AsyncClient(
                base_url=self.base_url,
                headers=headers,
                timeout=httpx.Timeout(settings.request_timeout_s),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                verify=tls,
            )
            for _ in range(settings.concurrency)
        ]
        self._free: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(settings.concurrency):
            self._free.put_nowait(slot)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ServingClient:
        base_url, api_key = endpoint_from_settings(settings)
        return cls(settings.serving, base_url=base_url, api_key=api_key, **kwargs)

    async def __aenter__(self) -> ServingClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[httpx.AsyncClient]:
        """One of the `concurrency` slots, with its connection: the bound on requests in flight."""
        slot = await self._free.get()
        try:
            yield self._pools[slot]
        finally:
            self._free.put_nowait(slot)

    # ---- requests -------------------------------------------------------------------------------

    def request_for(
        self, request_id: str, snippets: Sequence[Mapping[str, Any]], *, model: str | None = None
    ) -> SummaryRequest:
        """The summary request for one product's snippets, with the configured decoding; `model` is an
        adapter's name (a registry alias) or, by default, the served base model."""
        body = summary_request(
            model or self.settings.served_base_model,
            snippets,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            prompt=self.prompt,
        )
        return SummaryRequest(request_id, body, len(snippets))

    def parse_answer(self, text: str, snippet_count: int | None = None) -> ReviewSummary:
        """The answer through the prompt contract, the only reader of answers (it reads them tolerantly:
        structured output can still put raw control characters inside strings); with `snippet_count`,
        a citation of a snippet that was not shown fails it."""
        return self.prompt.parse_summary(text, snippet_count)

    async def send(self, request: SummaryRequest) -> Outcome:
        """One request through to its outcome: retried while it fails for a passing reason, within
        `max_attempts` and `retry_budget_s`. Only a free concurrency slot is waited for outside the budget."""
        settings = self.settings
        attempts = 0
        started: float | None = None
        while True:
            async with self._slot() as http:
                now = time.monotonic()
                started = now if started is None else started
                attempts += 1
                remaining = started + settings.retry_budget_s - now
                try:
                    completion = await self._try(http, request, min(settings.request_timeout_s, remaining))
                    failure = None
                except _TryFailed as failed:
                    completion, failure = None, failed
                ended = time.monotonic()
            latency = None if failure and failure.reason in {"timeout", "connection"} else ended - now
            if completion is not None:
                return self._outcome(request, completion, attempts, ended - started, latency)
            assert failure is not None
            stats = RequestStats(attempts, ended - started, latency)
            if failure.reason not in RETRIED:
                return FailureOutcome(
                    request.request_id, failure.reason, failure.message, stats, failure.text
                )
            if attempts >= settings.max_attempts:
                return self._gave_up(request, failure, stats, f"{attempts} tries (max_attempts)")
            wait = self._backoff(attempts)
            if failure.retry_after is not None:
                wait = max(wait, failure.retry_after)
            if ended + wait >= started + settings.retry_budget_s:
                spent = f"{attempts} tries and {ended - started:.1f} s"
                return self._gave_up(
                    request, failure, stats, f"{spent}; waiting {wait:.1f} s more would pass retry_budget_s"
                )
            log.debug(
                "request %s: %s, try %d again in %.2f s", request.request_id, failure.message, attempts, wait
            )
            await asyncio.sleep(wait)

    def _backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2^(tries - 1))], so throttled clients spread out."""
        cap = min(self.settings.backoff_max_s, self.settings.backoff_initial_s * 2 ** (attempts - 1))
        return self._random.uniform(0, cap)

    @staticmethod
    def _gave_up(
        request: SummaryRequest, failure: _TryFailed, stats: RequestStats, why: str
    ) -> FailureOutcome:
        message = f"{failure.message} (gave up after {why})"
        return FailureOutcome(request.request_id, failure.reason, message, stats, failure.text)

    def _outcome(
        self,
        request: SummaryRequest,
        completion: _Completion,
        attempts: int,
        total: float,
        latency: float | None,
    ) -> Outcome:
        stats = RequestStats(
            attempts,
            total,
            latency,
            completion.ttft_s,
            completion.prompt_tokens,
            completion.completion_tokens,
        )
        text = completion.text
        if completion.finish_reason == "length":
            message = f"the answer reached max_tokens ({request.body.get('max_tokens')}) and was cut off"
            return FailureOutcome(request.request_id, "truncated", message, stats, text)
        if text is None:
            return FailureOutcome(request.request_id, "bad_response", "the answer has no text", stats)
        try:
            summary = self.parse_answer(text, request.snippet_count)
        except SummaryFormatError as error:
            return FailureOutcome(request.request_id, error.reason, str(error), stats, text)
        return SummaryOutcome(request.request_id, summary, text, stats)

    async def _try(self, http: httpx.AsyncClient, request: SummaryRequest, timeout: float) -> _Completion:
        """One try, within `timeout` from connecting to the last byte."""
        headers = {REQUEST_ID_HEADER: request.request_id}
        try:
            async with asyncio.timeout(timeout):
                if self.stream:
                    return await self._try_streamed(http, request, headers)
                response = await http.post(CHAT_COMPLETIONS_PATH, json=request.body, headers=headers)
                _check_status(response)
                return _completion(response.content)
        except (TimeoutError, httpx.TimeoutException):
            raise _TryFailed("timeout", f"no complete answer within {timeout:.1f} s") from None
        except httpx.TransportError as error:
            raise _TryFailed("connection", f"{type(error).__name__}: {error}") from None
        except httpx.RequestError as error:  # e.g. an undecodable body
            raise _TryFailed("bad_response", f"{type(error).__name__}: {error}") from None

    async def _try_streamed(
        self, http: httpx.AsyncClient, request: SummaryRequest, headers: dict[str, str]
    ) -> _Completion:
        body = {**request.body, "stream": True, "stream_options": {"include_usage": True}}
        sent = time.monotonic()
        async with http.stream("POST", CHAT_COMPLETIONS_PATH, json=body, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                _check_status(response)
            parts: list[str] = []
            finish_reason: str | None = None
            ttft: float | None = None
            usage: tuple[int | None, int | None] = (None, None)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, keep-alives
                data = line[5:].strip()
                if data == "[DONE]":
                    return _Completion("".join(parts), finish_reason, *usage, ttft_s=ttft)
                try:
                    event = json.loads(data)
                except ValueError:
                    raise _TryFailed("bad_response", "a stream event is not JSON") from None
                if not isinstance(event, dict):
                    raise _TryFailed("bad_response", "a stream event is not a JSON object")
                if "error" in event:
                    raise _TryFailed("server_error", f"error in the stream: {_error_detail(data.encode())}")
                for choice in event.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        ttft = time.monotonic() - sent if ttft is None else ttft
                        parts.append(piece)
                    finish_reason = choice.get("finish_reason") or finish_reason
                if event.get("usage"):
                    usage = _usage(event)
        raise _TryFailed("connection", "the stream ended before [DONE]")

    # ---- warm-up --------------------------------------------------------------------------------

    async def wait_until_healthy(self) -> int:
        """Poll /health every `health_poll_s` until it answers 200; returns the polls it took. 503, other
        5xx, 429, timeouts and connection errors mean "not yet" (a scaled-to-zero service, a pod starting);
        any other status means base_url is not a vLLM server, and waiting cannot help."""
        settings = self.settings
        deadline = time.monotonic() + settings.warmup_deadline_s
        polls, logged = 0, 0.0
        while True:
            polls += 1
            remaining = deadline - time.monotonic()
            try:
                async with self._slot() as http:
                    response = await http.get(
                        HEALTH_PATH, timeout=max(0.01, min(settings.request_timeout_s, remaining))
                    )
                state = f"HTTP {response.status_code}"
                if response.status_code == 200:
                    log.info("%s is healthy after %d polls", self.base_url, polls)
                    return polls
                if response.status_code != 429 and response.status_code < 500:
                    raise WarmupError(f"{self.base_url}{HEALTH_PATH} answered {state}: is it a vLLM server?")
            except httpx.TransportError as error:
                state = type(error).__name__
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarmupError(
                    f"{self.base_url} was not healthy within warmup_deadline_s "
                    f"({settings.warmup_deadline_s:g} s, {polls} polls; last: {state})"
                )
            if time.monotonic() - logged >= 60:
                logged = time.monotonic()
                log.info("waiting for %s: %s, %.0f s left", self.base_url, state, remaining)
            await asyncio.sleep(min(settings.health_poll_s, remaining))

    async def warm_up(self, bodies: Iterable[Mapping[str, Any]] = ()) -> None:
        """Wait until healthy, then send one short request per body (one per model the batch uses): the
        first structured request compiles the schema's grammar, and an unknown model or a wrong key shows
        here, before the batch. A warm-up answer that is no summary is the model's business, not an error."""
        await self.wait_until_healthy()
        for number, body in enumerate(bodies):
            warm = {
                **body,
                "max_tokens": min(WARMUP_MAX_TOKENS, int(body.get("max_tokens", WARMUP_MAX_TOKENS))),
            }
            outcome = await self.send(SummaryRequest(f"warm-up-{number}", warm))
            if isinstance(outcome, FailureOutcome) and outcome.reason in _NOT_SERVING:
                raise WarmupError(
                    f"the warm-up request for model {body.get('model')!r} failed: "
                    f"{outcome.reason}: {outcome.message}"
                )
            log.info(
                "warm-up request for model %r answered in %.1f s", body.get("model"), outcome.stats.total_s
            )

    # ---- batches --------------------------------------------------------------------------------

    async def run_batch(self, requests: Sequence[SummaryRequest], *, warm_up: bool = True) -> list[Outcome]:
        """One outcome per request, in input order, `concurrency` in flight at once. With `warm_up`, the
        service is warmed up first (one request per model with the batch's own body); `WarmupError` if it
        does not come up."""
        ids = Counter(request.request_id for request in requests)
        repeated = sorted(request_id for request_id, count in ids.items() if count > 1)
        if repeated:
            raise ValueError(f"request ids must be unique in a batch; repeated: {', '.join(repeated[:5])}")
        started = time.monotonic()
        if warm_up and requests:
            await self.warm_up(shortest_per_model(requests))
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.send(request)) for request in requests]
        outcomes = [task.result() for task in tasks]
        log_batch(outcomes, time.monotonic() - started, self.base_url)
        return outcomes


def shortest_per_model(requests: Iterable[SummaryRequest]) -> list[Mapping[str, Any]]:
    """The body of each model's shortest prompt, models in order of first use: a warm-up only has to
    reach the model and compile the schema, and the shortest is the cheapest and the least likely to be
    rejected (a scan's jailbreak text can be longer than the model's context)."""
    shortest: dict[str, Mapping[str, Any]] = {}
    for request in requests:
        model = str(request.body.get("model"))
        known = shortest.get(model)
        if known is None or _prompt_chars(request.body) < _prompt_chars(known):
            shortest[model] = request.body
    return list(shortest.values())


def _prompt_chars(body: Mapping[str, Any]) -> int:
    return sum(len(str(message.get("content", ""))) for message in body.get("messages", ()))


def batch_counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Outcomes by label: `summary` or the failure reason."""
    return dict(Counter(outcome.label for outcome in outcomes))


def log_batch(outcomes: Sequence[Outcome], elapsed_s: float, endpoint: str) -> None:
    """The batch's one log line: how many became summaries, how many failed and why, tries and tokens."""
    counts = batch_counts(outcomes)
    summaries = counts.pop("summary", 0)
    failed = len(outcomes) - summaries
    latencies = [o.stats.latency_s for o in outcomes if o.stats.latency_s is not None]
    tries = sum(o.stats.attempts for o in outcomes)
    prompt_tokens = sum(o.stats.prompt_tokens or 0 for o in outcomes)
    completion_tokens = sum(o.stats.completion_tokens or 0 for o in outcomes)
    why = ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items()))
    median = f"{statistics.median(latencies):.2f} s" if latencies else "n/a"
    level = logging.INFO if not failed else logging.ERROR if not summaries else logging.WARNING
    log.log(
        level,
        "serving batch to %s: %d requests, %d summaries, %d failed%s; %d tries in %.1f s, median latency %s, "
        "tokens %d prompt / %d completion",
        endpoint, len(outcomes), summaries, failed, f" ({why})" if why else "", tries, elapsed_s, median,
        prompt_tokens, completion_tokens,
    )  # fmt: skip
