"""The load test end to end: the real runner drives Locust headless for a few seconds against a
chat-completions test double on 127.0.0.1, and the summary, the gate and the requests are checked
against what the double received. The schedule, the request bodies and the gate are also checked alone.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.prompts import load_prompt
from common.serving.client import summary_request
from common.settings import LoadTestProfile, LoadTestThresholds, load_settings
from pipelines.loadtest import report, runner, traffic
from pipelines.loadtest.payloads import NO_CONTENT, WARMING_UP, RequestFactory, response_problem
from pipelines.loadtest.spec import RunSpec
from sample_source import payloads
from tests.steps.loadtest.chat_double import ChatCompletionsDouble

API_KEY = "lt-test-key-8c1f"
MODEL = "challenger-test"
LANGUAGES = {"en", "de", "fr", "es", "it", "nl"}

# A few seconds of the `smoke` profile, scaled down: 2 users, bursts of 4 for 1.5 s every 2.5 s.
ENV = {
    "LOADTEST_API_KEY": API_KEY,
    "LLMOPS_LOAD_TEST__PROFILES__SMOKE__WARMUP_S": "0.5",
    "LLMOPS_LOAD_TEST__PROFILES__SMOKE__BURST_EVERY_S": "2.5",
    "LLMOPS_LOAD_TEST__PROFILES__SMOKE__BURST_S": "1.5",
    "LLMOPS_LOAD_TEST__PROFILES__SMOKE__BURST_SPAWN_RATE": "50",
    "LLMOPS_LOAD_TEST__PROFILES__SMOKE__WAIT_S": "[0.05, 0.15]",
    "LLMOPS_THRESHOLDS__LOAD_TEST__P95_LATENCY_S_MAX": "0.5",
    "LLMOPS_THRESHOLDS__LOAD_TEST__ERROR_RATE_MAX": "0.01",
    "LLMOPS_THRESHOLDS__LOAD_TEST__REQUESTS_PER_S_MIN": "1.0",
}


def _run(double: ChatCompletionsDouble, report_dir: Path, duration: float) -> int:
    return runner.main(
        [
            "--host", double.url,
            "--model", MODEL,
            "--profile", "smoke",
            "--duration", str(duration),
            "--users", "2",
            "--report-dir", str(report_dir),
        ]
    )  # fmt: skip


def _summary(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / report.SUMMARY_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, ChatCompletionsDouble, Path]]:
    """One 5-second run against a healthy, fast double, shared by the checks that only read it."""
    report_dir = tmp_path_factory.mktemp("healthy")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENV.items():
            patch.setenv(key, value)
        with ChatCompletionsDouble(latency_s=0.02) as double:
            code = _run(double, report_dir, duration=5)
        yield code, double, report_dir


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


# --- a healthy endpoint ----------------------------------------------------------------------


def test_a_healthy_endpoint_passes_and_the_counts_match_the_server(healthy) -> None:
    code, double, report_dir = healthy
    summary = _summary(report_dir)
    assert code == runner.EXIT_OK, summary["breaches"]
    assert summary["passed"] is True and summary["breaches"] == []
    assert summary["requests"] == len(double.received) > 20
    assert summary["failures"] == 0 and summary["error_rate"] == 0
    assert 0 < summary["latency_s"]["p50"] <= summary["latency_s"]["p95"] <= summary["latency_s"]["p99"]
    assert summary["requests_per_s"] > 1.0
    for name in ("locust_stats.csv", "locust_failures.csv", "locust_stats_history.csv", "locust.html"):
        assert (report_dir / name).stat().st_size > 0, name


def test_requests_carry_the_key_and_model_and_are_the_summarizer_prompt(healthy) -> None:
    _, double, report_dir = healthy
    spec = RunSpec.read(report_dir / runner.SPEC_FILE)
    factory = RequestFactory(
        MODEL,
        seed=spec.seed,
        payloads_file=spec.payloads_file,
        corpus_products=spec.corpus_products,
        snippets=spec.snippets,
        max_tokens=spec.max_tokens,
        temperature=spec.temperature,
    )
    # Locust numbered the requests 0..n-1; its users interleave, so compare them as a multiset.
    count = len(double.received)
    received = sorted(json.dumps(r.body, sort_keys=True) for r in double.received)
    assert received == sorted(json.dumps(factory.body(i), sort_keys=True) for i in range(count))

    contract = load_prompt()
    for request in double.received:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["authorization"] == f"Bearer {API_KEY}"
        assert request.body["model"] == MODEL and request.body["max_tokens"] == spec.max_tokens
        # Structured output with the contract's schema, as batch inference sends it.
        assert request.body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": contract.name, "schema": contract.output_schema},
        }
        system, user = request.body["messages"]
        assert system == {"role": "system", "content": contract.system}
        assert all(
            word in system["content"] for word in ("JSON", '"pros"', '"cons"', '"summary"', "one sentence")
        )
        assert user["role"] == "user"
    drawn = [factory.snippets_of(i) for i in range(count)]
    assert all(10 <= len(snippets) <= 15 for snippets in drawn)
    assert {s.language for snippets in drawn for s in snippets} == LANGUAGES
    lengths = [len(s.text) for snippets in drawn for s in snippets]
    assert max(lengths) > 3 * min(lengths)


def test_the_run_follows_the_bursty_shape(healthy) -> None:
    _, _, report_dir = healthy
    with (report_dir / "locust_stats_history.csv").open(newline="", encoding="utf-8") as handle:
        users = {int(row["User Count"]) for row in csv.DictReader(handle)}
    assert {2, 4} <= users and max(users) == 4  # steady load, and bursts of twice as many users


def test_the_key_is_never_written_to_the_report(healthy) -> None:
    _, _, report_dir = healthy
    for path in report_dir.iterdir():
        assert API_KEY not in path.read_text(encoding="utf-8", errors="replace"), path.name
    assert RunSpec.read(report_dir / runner.SPEC_FILE).api_key_env == "LOADTEST_API_KEY"


# --- endpoints that must fail the gate -------------------------------------------------------


def test_twenty_percent_server_errors_breach_the_error_rate(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ChatCompletionsDouble(latency_s=0.02, fail_every=5) as double:
        code = _run(double, tmp_path, duration=3)
    summary = _summary(tmp_path)
    assert code == runner.EXIT_THRESHOLD_BREACHED
    assert summary["requests"] == len(double.received)
    assert summary["failures"] == double.statuses().count(500) == summary["failures_by_error"]["HTTP 500"]
    assert summary["error_rate"] == pytest.approx(0.2, abs=0.05)
    assert [b["threshold"] for b in summary["breaches"]] == ["error_rate_max"]
    assert re.search(
        r"THRESHOLD BREACHED error_rate_max: 0\.\d+ exceeds the maximum 0\.01 by", capsys.readouterr().err
    )


def test_a_slow_endpoint_breaches_the_p95_latency(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ChatCompletionsDouble(latency_s=0.8) as double:
        code = _run(double, tmp_path, duration=3)
    summary = _summary(tmp_path)
    assert code == runner.EXIT_THRESHOLD_BREACHED
    assert summary["requests"] == len(double.received) and summary["failures"] == 0
    assert "p95_latency_s_max" in [b["threshold"] for b in summary["breaches"]]
    assert summary["latency_s"]["p95"] >= 0.8
    assert "THRESHOLD BREACHED p95_latency_s_max" in capsys.readouterr().err


def test_503_of_a_service_warming_up_counts_as_failures(env: None, tmp_path: Path) -> None:
    with ChatCompletionsDouble(latency_s=0.02, unavailable_first=3) as double:
        code = _run(double, tmp_path, duration=2)
    summary = _summary(tmp_path)
    assert code == runner.EXIT_THRESHOLD_BREACHED
    assert summary["failures_by_error"] == {WARMING_UP: 3} and summary["failures"] == 3
    assert summary["requests"] == len(double.received)
    assert "503" in summary["hints"][0]


def test_an_unknown_profile_is_a_usage_error(env: None, tmp_path: Path) -> None:
    code = runner.main(["--host", "http://127.0.0.1:9", "--model", MODEL, "--profile", "nope",
                        "--report-dir", str(tmp_path)])  # fmt: skip
    assert code == runner.EXIT_USAGE and not any(tmp_path.iterdir())


def test_a_missing_or_stale_payloads_file_is_a_usage_error_before_any_request(
    env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without its snippets file, or with one made for another seed, nothing is sent: the run stops
    before Locust starts and says how to write the file."""
    report_dir = tmp_path / "report"
    stale = payloads.write(tmp_path / "seed-1.json", seed=1, products=40)
    for path, reason in ((tmp_path / "missing.json", "not found"), (stale, "seed 1 and 40 products")):
        monkeypatch.setenv("LLMOPS_LOAD_TEST__PAYLOADS_FILE", str(path))
        caplog.clear()
        with ChatCompletionsDouble(latency_s=0.02) as double:
            code = _run(double, report_dir, duration=2)
        assert code == runner.EXIT_USAGE and double.received == [] and not report_dir.exists()
        assert reason in caplog.text and "python -m sample_source.payloads" in caplog.text


def test_the_load_test_never_imports_the_sample_generator(payloads_file: Path) -> None:
    """The generator is tooling, not in the images: the load test builds its bodies from the file alone."""
    script = (
        "import sys\n"
        "from pipelines.loadtest import runner\n"
        "from pipelines.loadtest.payloads import RequestFactory\n"
        f"factory = RequestFactory('m', seed=0, payloads_file={str(payloads_file)!r}, corpus_products=40,\n"
        "                         snippets=(10, 15), max_tokens=384, temperature=0.0)\n"
        "assert len(factory.body(0)['messages']) == 2\n"
        "print(sorted(m for m in sys.modules if 'sample_source' in m or 'local_models' in m))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


# --- the parts alone -------------------------------------------------------------------------


def test_locust_and_its_gevent_patching_stay_out_of_the_runner_process() -> None:
    """Locust monkey-patches the standard library on import: only its own subprocess may import it."""
    assert "locust" not in sys.modules and "gevent" not in sys.modules


def test_the_configured_profiles_warm_up_hold_burst_and_stop() -> None:
    settings = load_settings().load_test
    assert settings is not None
    for name, profile in settings.profiles.items():
        assert traffic.target(profile, 0)[0] == profile.users, name
        assert traffic.target(profile, profile.duration_s) is None, name
    profile = LoadTestProfile(
        duration_s=100, warmup_s=10, users=4, burst_factor=3, burst_every_s=30, burst_s=10,
        burst_spawn_rate=8, wait_s=(1, 2),
    )  # fmt: skip
    assert traffic.target(profile, 5) == (4, 0.4)  # the ramp reaches 4 users when the warm-up ends
    assert traffic.target(profile, 15) == (4, 8)  # steady
    assert traffic.target(profile, 35) == (12, 8)  # a burst closes each 30 s period after the warm-up
    assert traffic.target(profile, 40) == (4, 8)
    assert traffic.target(profile, 65) == (12, 8)
    assert traffic.target(profile, 99.9) == (12, 8) and traffic.target(profile, 100) is None
    with pytest.raises(ValueError, match="burst_s"):
        LoadTestProfile(**{**profile.model_dump(), "burst_s": 30})


def test_request_bodies_are_deterministic_and_vary(payloads_file: Path, tmp_path: Path) -> None:
    files = {0: payloads_file, 1: payloads.write(tmp_path / "seed-1.json", seed=1, products=40)}

    def factory(seed: int) -> RequestFactory:
        return RequestFactory(MODEL, seed=seed, payloads_file=files[seed], corpus_products=40,
                              snippets=(10, 15), max_tokens=384, temperature=0.0)  # fmt: skip

    first, again, other = factory(0), factory(0), factory(1)
    bodies = [first.body(i) for i in range(40)]
    assert bodies == [again.body(i) for i in range(40)]
    assert bodies != [other.body(i) for i in range(40)]
    lengths = [len(body["messages"][1]["content"]) for body in bodies]
    assert max(lengths) > 1.5 * min(lengths)
    assert {body["max_tokens"] for body in bodies} == {384}
    # The serving client's one body builder makes them: the same snippets give the same body.
    contract = load_prompt()
    for index in (0, 7):
        snippets = [s.as_prompt_input() for s in first.snippets_of(index)]
        assert bodies[index] == summary_request(MODEL, snippets, max_tokens=384, temperature=0.0)
        assert bodies[index]["response_format"]["json_schema"]["schema"] == contract.output_schema


def test_answers_that_count_as_failures() -> None:
    ok = json.dumps({"choices": [{"message": {"role": "assistant", "content": "{}"}}]}).encode()
    assert response_problem(200, ok) is None
    assert response_problem(503, b"") == WARMING_UP
    assert response_problem(500, ok) == "HTTP 500"
    assert response_problem(401, b"") == "HTTP 401"
    assert response_problem(0, b"", TimeoutError()) == "no response: TimeoutError"
    for body in (b"not json", b"{}", b'{"choices": []}', b'{"choices": [{"message": {"content": ""}}]}'):
        assert response_problem(200, body) == NO_CONTENT, body


def test_the_gate_names_each_breached_threshold_and_by_how_much() -> None:
    limits = LoadTestThresholds(p95_latency_s_max=10, error_rate_max=0.01, requests_per_s_min=2)
    stats = {"requests": 100, "error_rate": 0.05, "requests_per_s": 1.5, "latency_s": {"p95": 12.5}}
    breaches = report.evaluate(stats, limits)
    assert [b.describe() for b in breaches] == [
        "p95_latency_s_max: 12.5 exceeds the maximum 10 by 2.5, 25% over",
        "error_rate_max: 0.05 exceeds the maximum 0.01 by 0.04, 400% over",
        "requests_per_s_min: 1.500 is below the minimum 2 by 0.500 (25% short)",
    ]
    nothing = {"requests": 0, "error_rate": None, "requests_per_s": 0.0, "latency_s": {"p95": None}}
    assert [b.observed for b in report.evaluate(nothing, limits)] == [None, None, None]
    fine = {"requests": 100, "error_rate": 0.0, "requests_per_s": 3.0, "latency_s": {"p95": 9.9}}
    assert report.evaluate(fine, limits) == []
