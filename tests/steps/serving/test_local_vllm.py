"""The local vLLM server (vLLM's CPU build in `.venv-serving`), started for real once for the module.

It serves a tiny base model built here and a random LoRA adapter as `champion`; a second adapter is
loaded and unloaded at run time as `challenger`, as the serving DAG does. Chat requests are the prompt
contract's messages with its JSON schema as `response_format`, so the answers are what every caller of
the serving client gets. The start is bounded by `serving.local.startup_timeout_s`, each request by
`REQUEST_TIMEOUT_S`; the last test stops the server and checks that nothing of it is left.

Skipped only where `make setup` found a CPU that cannot run the wheel (`.venv-serving/UNSUPPORTED`); a
missing `.venv-serving` fails, telling to run `make setup`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from common import prompts
from common.serving.adapters import sync_server
from common.serving.client import FailureOutcome, Outcome, ServingClient, summary_request
from common.serving.local_server import (
    UNSUPPORTED_MARKER,
    LocalVllmServer,
    ServingUnavailable,
    process_group_alive,
    serving_environment,
)
from common.settings import Settings, load_settings

REQUEST_TIMEOUT_S = 120.0
LORA_RANK = 8
SNIPPETS = [
    {"star_rating": 5, "text": "Great kettle, boils fast and the handle stays cool."},
    {"star_rating": 2, "text": "The lid broke after a month and the seller never answered."},
    {"star_rating": 4, "text": "Leise und schnell, aber das Kabel ist etwas kurz."},
]


def _settings(**local: Any) -> Settings:
    """The profile's settings with `serving.local` fields replaced."""
    settings = load_settings()
    assert settings.serving.local is not None, "the local profile configures serving.local"
    serving = settings.serving.model_copy(update={"local": settings.serving.local.model_copy(update=local)})
    return settings.model_copy(update={"serving": serving})


def _server_settings(base_model: Path, log_dir: Path) -> Settings:
    settings = _settings(port=0, log_dir=str(log_dir))
    training = settings.training.model_copy(update={"base_model": str(base_model)})
    return settings.model_copy(update={"training": training})


def _make_adapter(base_model: Path, out: Path, seed: int) -> Path:
    """A rank-8 LoRA adapter on every projection with random A and B: unlike a freshly initialised
    adapter (B = 0) it changes the model's output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_model)
    config = LoraConfig(
        r=LORA_RANK,
        lora_alpha=2 * LORA_RANK,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(model, config).save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def base_model(serving_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from local_models import tiny_base

    return tiny_base.build(tmp_path_factory.mktemp("serving-base") / "tiny-llama", seed=0)


@pytest.fixture(scope="module")
def adapters(base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serving-adapters")
    return {
        "champion": _make_adapter(base_model, root / "champion", seed=1),
        "challenger": _make_adapter(base_model, root / "challenger", seed=2),
    }


@pytest.fixture(scope="module")
def server(
    base_model: Path, adapters: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalVllmServer]:
    settings = _server_settings(base_model, tmp_path_factory.mktemp("serving-logs"))
    with LocalVllmServer(settings, {"champion": adapters["champion"]}) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalVllmServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as http:
        yield http


def _model_ids(client: httpx.Client) -> set[str]:
    response = client.get("/v1/models")
    response.raise_for_status()
    return {model["id"] for model in response.json()["data"]}


# The schema bounds an answer's length (item counts and lengths): a budget above it means a random
# model's answer always finishes, so the test never depends on how long the tiny model rambles.
MAX_TOKENS = 1500


def _summarize(client: httpx.Client, model: str) -> dict[str, Any]:
    """One chat completion with the body every caller sends (`summary_request`)."""
    body = summary_request(model, SNIPPETS, max_tokens=MAX_TOKENS, temperature=0.0)
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    choice: dict[str, Any] = response.json()["choices"][0]
    return choice


def _assert_follows_the_contract(choice: dict[str, Any]) -> None:
    """The grammar makes a finished answer valid JSON of the contract's schema, whatever the model.
    What the schema cannot say (one sentence, no blank phrase) is the model's to learn, and a random
    tiny model does not: a failure there must be the contract's own `schema` reason, nothing else."""
    assert choice["finish_reason"] == "stop", choice
    text = choice["message"]["content"]
    value = json.loads(text, strict=False)
    assert list(value) == ["pros", "cons", "summary"], text
    assert not list(prompts.load_prompt().answer_validator.iter_errors(value)), text
    try:
        prompts.parse_summary(text)
    except prompts.SummaryFormatError as error:
        assert error.reason == "schema", error


def _first_token_logprobs(client: httpx.Client, model: str) -> dict[str, float]:
    response = client.post(
        "/v1/completions",
        json={"model": model, "prompt": "The kettle", "max_tokens": 1, "logprobs": 5, "temperature": 0},
    )
    assert response.status_code == 200, response.text
    top: dict[str, float] = response.json()["choices"][0]["logprobs"]["top_logprobs"][0]
    return top


# ---- without a server ---------------------------------------------------------------------------


def test_refuses_a_host_other_than_loopback():
    with pytest.raises(ValueError, match="loopback"):
        LocalVllmServer(_settings(host="0.0.0.0"))
    LocalVllmServer(_settings(host="::1"))  # loopback in IPv6 is fine


def test_names_what_is_missing_when_the_environment_is(tmp_path: Path):
    local = _settings(python=str(tmp_path / ".venv-serving" / "bin" / "python")).serving.local
    assert local is not None
    with pytest.raises(ServingUnavailable, match="run `make setup`"):
        serving_environment(local)
    (tmp_path / ".venv-serving").mkdir()
    (tmp_path / ".venv-serving" / UNSUPPORTED_MARKER).write_text("this CPU lacks avx2\n", encoding="utf-8")
    with pytest.raises(ServingUnavailable, match="this CPU lacks avx2"):
        serving_environment(local)


# ---- the real server, started once ----------------------------------------------------------------


@pytest.mark.serving
def test_serves_the_base_model_and_the_champion(server: LocalVllmServer, client: httpx.Client):
    assert server.url.startswith("http://127.0.0.1:")
    assert client.get("/health").status_code == 200
    assert _model_ids(client) >= {load_settings().serving.served_base_model, "champion"}


@pytest.mark.serving
def test_answers_follow_the_prompt_contract(client: httpx.Client):
    for model in (load_settings().serving.served_base_model, "champion"):
        _assert_follows_the_contract(_summarize(client, model))


@pytest.mark.serving
def test_the_champion_adapter_changes_the_model(client: httpx.Client):
    base = _first_token_logprobs(client, load_settings().serving.served_base_model)
    assert _first_token_logprobs(client, "champion") != base


@pytest.mark.serving
def test_the_serving_client_gets_a_summary_or_a_schema_failure_for_every_request(server: LocalVllmServer):
    """The one client against the real server: warm-up, structured output, outcomes with usage."""
    serving = load_settings().serving.model_copy(update={"max_tokens": MAX_TOKENS, "concurrency": 2})

    async def run() -> list[Outcome]:
        async with ServingClient(serving, base_url=server.url) as serving_client:
            requests = [
                serving_client.request_for(f"{model}-{n}", SNIPPETS[n:], model=model)
                for model in (serving.served_base_model, "champion")
                for n in range(2)
            ]
            return await serving_client.run_batch(requests)

    outcomes = asyncio.run(run())
    assert len(outcomes) == 4
    for outcome in outcomes:
        if isinstance(outcome, FailureOutcome):
            # What the schema cannot say (see above): one sentence, and citations of shown snippets only.
            assert outcome.reason in {"schema", "evidence"}, outcome
        assert outcome.stats.attempts == 1 and outcome.stats.completion_tokens


@pytest.mark.serving
def test_adapters_follow_what_is_wanted_at_run_time(
    server: LocalVllmServer, client: httpx.Client, adapters: dict[str, Path]
):
    """`sync_server` against the real server: load, leave alone, unload; vLLM lists what it serves."""
    wanted = {name: str(path.resolve()) for name, path in adapters.items()}
    first = sync_server(server.url, None, wanted)
    assert first.loaded == ["challenger"] and first.unchanged == ["champion"]
    assert {"champion", "challenger"} <= _model_ids(client)
    _assert_follows_the_contract(_summarize(client, "challenger"))
    assert _first_token_logprobs(client, "challenger") != _first_token_logprobs(client, "champion")

    again = sync_server(server.url, None, wanted)
    assert again.loaded == [] and sorted(again.unchanged) == ["challenger", "champion"]

    only_champion = sync_server(server.url, None, {"champion": wanted["champion"]})
    assert only_champion.unloaded == ["challenger"]
    assert "challenger" not in _model_ids(client)
    assert "champion" in _model_ids(client)
    gone = client.post(
        "/v1/chat/completions", json=summary_request("challenger", SNIPPETS, max_tokens=4, temperature=0)
    )
    assert gone.status_code == 404, gone.text


@pytest.mark.serving
def test_stopping_ends_every_process_and_keeps_the_log(server: LocalVllmServer):
    group = server.pid
    assert group is not None
    server.stop()
    assert not process_group_alive(group)  # the API process and the engine process it started
    assert not server.healthy()
    assert server.log_path is not None and server.log_path.is_file()
    assert server.log_path.stat().st_size > 0
