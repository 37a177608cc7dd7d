"""The local summarizer base model's build: its training loss, its data and its cache, at toy sizes.

The real build trains for about 25 minutes (`make base-model`); these tests run the same code for a few
steps on a few hundred examples, so they say nothing about its quality, only that the build is what it
claims: the shared-prefix loss is the plain loss, the data never touches the demo's catalogue, and the
cache is keyed by what the model depends on.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import prompts
from local_models import summarizer_base, tiny_base
from pipelines.training.train import encode_example

DEMO_SEED = 7  # scripts/demo.py's catalogue, whose golden set evaluation scores
TOY = summarizer_base.BuildConfig(examples=120, steps=3, warmup_steps=1, held_out=2, batch_tokens=3000)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> Any:
    from transformers import AutoTokenizer

    folder = tiny_base.build(tmp_path_factory.mktemp("tiny") / "tiny-llama", seed=0)
    return AutoTokenizer.from_pretrained(folder)


def plain_loss(model: Any, batch: list[dict[str, list[int]]], pad_id: int) -> Any:
    """The answer loss written the obvious way: every row through the whole model, every logit."""
    import torch

    width = max(len(e["input_ids"]) for e in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), -100)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example["input_ids"])
        ids[row, :n] = torch.tensor(example["input_ids"])
        mask[row, :n] = 1
        answer = torch.tensor(example["completion_mask"], dtype=torch.bool)
        labels[row, :n] = torch.where(answer, ids[row, :n], torch.tensor(-100))
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


def test_the_shared_prefix_loss_is_the_plain_loss_with_the_same_gradients(tokenizer: Any) -> None:
    contract = prompts.load_prompt()
    data = summarizer_base.examples(0, 6)
    batch = [encode_example(tokenizer, contract, e.snippets, e.target) for e in data]
    prefix = summarizer_base.shared_prefix(batch)
    assert len(prefix) > 100, "the contract's system message is the prefix every prompt shares"
    pad_id = tokenizer.convert_tokens_to_ids(tiny_base.PAD_TOKEN)
    model = tiny_base.new_model(tokenizer, seed=0, architecture=summarizer_base.ARCHITECTURE)

    plain = plain_loss(model, batch, pad_id)
    plain.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    shared = summarizer_base.answer_loss(model, batch, prefix, pad_id)
    shared.backward()

    assert float(shared) == pytest.approx(float(plain), rel=1e-5)
    for name, parameter in model.named_parameters():
        scale = float(expected[name].abs().max()) or 1.0
        assert float((parameter.grad - expected[name]).abs().max()) <= 1e-4 * scale, name


def test_training_data_comes_from_catalogues_nobody_else_uses() -> None:
    assert summarizer_base.FIRST_SEED > DEMO_SEED
    assert summarizer_base.HELD_OUT_SEED not in (DEMO_SEED, summarizer_base.FIRST_SEED)
    data = summarizer_base.examples(0, 50)
    assert {e.language for e in data} > {"en"}, "every language of the catalogue is trained on"
    for example in data:
        cited = {n for side in ("pros", "cons") for claim in example.target[side] for n in claim["evidence"]}
        assert cited <= set(range(1, len(example.snippets) + 1))


def test_a_build_is_a_model_folder_and_is_reused_from_its_cache(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = tmp_path / "cache"
    out = summarizer_base.build(tmp_path / "model", TOY, cache)

    record = json.loads((out / "build.json").read_text())
    assert record["content_key"] == summarizer_base.content_key(TOY)
    assert record["held_out"]["examples"] == TOY.held_out
    assert "say nothing about real reviews" in record["about"]
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.head_dim == 64, "a head size vLLM's CPU attention runs"
    assert AutoTokenizer.from_pretrained(out).chat_template

    cached = cache / record["content_key"] / "model.safetensors"
    built_at = cached.stat().st_mtime_ns
    again = summarizer_base.build(tmp_path / "again", TOY, cache)
    assert cached.stat().st_mtime_ns == built_at, "the same key must not train again"
    assert (again / "model.safetensors").read_bytes() == cached.read_bytes()
    assert summarizer_base.content_key(replace(TOY, steps=4)) != record["content_key"]
