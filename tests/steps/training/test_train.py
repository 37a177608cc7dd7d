"""The tiny base model and the LoRA training script, trained for real on CPU.

The tiny model is built once for the module; one run of `main()` in the SageMaker contract (SM_*
variables, string hyperparameters) trains 30 steps on examples made from the sample generator's ground
truth; a second run resumes it from a checkpoint. Everything is offline: models load from folders only.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import prompts
from common.aspects import Lexicon, Mention, grounded_target
from common.settings import get_settings
from local_models import tiny_base
from pipelines.training import train as training
from sample_source import iter_labelled_reviews, sample_products

DATA_SEED, PRODUCTS, SNIPPETS = 11, 48, 4
TRAIN_ROWS, VALIDATION_ROWS = 40, 8
STEPS, SAVE_EVERY = 30, 10
# How a SageMaker job (and the local runner) passes hyperparameters: `--key value`, every value a string.
HYPERPARAMETERS = {
    "max_steps": str(STEPS),
    "learning_rate": "1e-2",
    "per_device_train_batch_size": "1",
    "gradient_accumulation_steps": "1",
    "max_seq_length": "1024",
    "warmup_ratio": "0",
    "lora_rank": "8",
    "lora_alpha": "16",
    "lora_dropout": "0.05",
    "lora_target_modules": "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
    "packing": "true",
    "bf16": "false",
    "gradient_checkpointing": "false",
    "logging_steps": "1",
    "eval_steps": str(SAVE_EVERY),
    "save_steps": str(SAVE_EVERY),
    "save_total_limit": "3",
    "seed": "0",
}
ARGV = [part for key, value in HYPERPARAMETERS.items() for part in (f"--{key}", value)]


def sft_rows() -> list[dict[str, Any]]:
    """SFT rows in the dataset's format: a product's first reviews as snippets, and as the target the
    summary grounded in them (their labelled mentions), as the dataset builds it."""
    lexicons = {p["product_id"]: p["aspect_lexicon"] for p in sample_products(DATA_SEED, PRODUCTS, 15)}
    snippets: dict[str, list[dict[str, Any]]] = {}
    mentions: dict[str, list[list[Mention]]] = {}
    languages: dict[str, str] = {}
    for row, label in iter_labelled_reviews(
        seed=DATA_SEED, products=PRODUCTS, mean_reviews_per_product=15, defect_rate=0.0, huge=False
    ):
        group = snippets.setdefault(row["product_id"], [])
        if len(group) < SNIPPETS:
            group.append(
                {"review_id": row["review_id"], "star_rating": label["star"], "text": row["review_text"]}
            )
            mentions.setdefault(row["product_id"], []).append(
                [Mention.from_dict(m) for m in label["aspects"]]
            )
            languages.setdefault(row["product_id"], label["language"])
    return [
        {
            "example_id": f"{product_id}-0",
            "product_id": product_id,
            "language": languages[product_id],
            "snippets": group,
            "target": grounded_target(group, mentions[product_id], Lexicon(lexicons[product_id])),
        }
        for product_id, group in snippets.items()
        if len(group) >= 2
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    return tiny_base.build(tmp_path_factory.mktemp("base") / "tiny-llama", seed=0)


@pytest.fixture(scope="module")
def channels(tmp_path_factory) -> dict[str, Path]:
    rows = sft_rows()
    assert len(rows) >= TRAIN_ROWS + VALIDATION_ROWS
    root = tmp_path_factory.mktemp("channels")
    write_jsonl(root / "training" / "train.jsonl", rows[:TRAIN_ROWS])
    write_jsonl(root / "validation" / "validation.jsonl", rows[TRAIN_ROWS : TRAIN_ROWS + VALIDATION_ROWS])
    return {"training": root / "training", "validation": root / "validation"}


def sagemaker_env(base_model: Path, channels: dict[str, Path], job: Path) -> dict[str, str]:
    return {
        "SM_CHANNEL_TRAINING": str(channels["training"]),
        "SM_CHANNEL_VALIDATION": str(channels["validation"]),
        "SM_CHANNEL_BASE_MODEL": str(base_model),
        "SM_MODEL_DIR": str(job / "model"),
        "SM_OUTPUT_DATA_DIR": str(job / "output" / "data"),
        "SM_CHECKPOINT_DIR": str(job / "checkpoints"),
    }


@pytest.fixture(scope="module")
def job(base_model: Path, channels: dict[str, Path], tmp_path_factory) -> Path:
    """One training job through `main()`, as SageMaker (or the local runner) starts it."""
    folder = tmp_path_factory.mktemp("job")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in sagemaker_env(base_model, channels, folder).items():
            patch.setenv(key, value)
        assert training.main(ARGV) == 0
    return folder


def metrics_of(job: Path) -> dict[str, Any]:
    return json.loads((job / "output" / "data" / "metrics.json").read_text(encoding="utf-8"))


# ---- the tiny base model -----------------------------------------------------------------------------


def test_tiny_model_is_a_normal_llama_folder(base_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (base_model / name).is_file(), name
    assert "chat_template" in json.loads((base_model / "tokenizer_config.json").read_text(encoding="utf-8"))
    model = AutoModelForCausalLM.from_pretrained(base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    assert isinstance(model, LlamaForCausalLM)
    assert 2000 <= model.config.vocab_size == len(tokenizer) <= 4096
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size <= 128
    assert tokenizer.eos_token == "<|im_end|>" and model.config.eos_token_id == tokenizer.eos_token_id
    text = "Très bon produit 👍, der Akku hält – ¡genial!"  # byte-level BPE: any text round-trips
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    prompt = prompts.render_prompt(tokenizer, [{"star_rating": 4, "text": text}])
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert ids[0, 0] == tokenizer.convert_tokens_to_ids("<|im_start|>")
    with torch.no_grad():
        assert model(input_ids=ids).logits.shape == (1, ids.shape[1], len(tokenizer))


def test_tiny_model_is_deterministic_for_a_seed(base_model: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoTokenizer

    again = tiny_base.build(tmp_path / "again", seed=0)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (again / name).read_bytes() == (base_model / name).read_bytes(), name
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    other = tiny_base.new_model(tokenizer, seed=1).state_dict()
    same = tiny_base.new_model(tokenizer, seed=0).state_dict()
    assert not torch.equal(
        other["model.layers.0.self_attn.q_proj.weight"], same["model.layers.0.self_attn.q_proj.weight"]
    )


def test_packed_examples_do_not_attend_to_each_other(base_model: Path) -> None:
    """Packing is exact: two examples in one padding-free row (positions restarting) give the logits
    each gives alone, so the block-diagonal mask really separates them on this attention kernel."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_model).eval()
    model.config.use_cache = False  # as in training
    first, second = torch.randint(10, 4000, (1, 37)), torch.randint(10, 4000, (1, 23))
    with torch.no_grad():
        alone = [model(input_ids=ids).logits for ids in (first, second)]
        packed = model(
            input_ids=torch.cat([first, second], dim=1),
            position_ids=torch.cat([torch.arange(37), torch.arange(23)]).unsqueeze(0),
        ).logits
    torch.testing.assert_close(packed[:, :37], alone[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed[:, 37:], alone[1], atol=1e-5, rtol=1e-4)


# ---- training ----------------------------------------------------------------------------------------


def test_loss_is_on_the_completion_only(base_model: Path, channels: dict[str, Path], tmp_path: Path) -> None:
    """The prepared (packed) training rows and the collated batch mask every prompt token with -100
    and keep every completion token, end-of-turn included."""
    from transformers import AutoTokenizer

    contract = prompts.load_prompt()
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    rows = training.read_rows(training.data_file(channels["training"], "training"), contract)[:6]
    encoded = training.encode_rows(rows, tokenizer, contract, max_length=1024)
    hp = training.hyperparameters(training.parser().parse_args(ARGV), training.TrainingHyperparameters())
    trainer = training.build_trainer(hp, base_model, tokenizer, encoded.examples, None, tmp_path)

    by_ids = {tuple(e["input_ids"]): e for e in encoded.examples}
    checked = 0
    for packed in trainer.train_dataset:
        start = 0
        for length in packed["seq_lengths"]:
            ids = packed["input_ids"][start : start + length]
            labels = packed["labels"][start : start + length]
            example = by_ids[tuple(ids)]
            prompt_length = example["completion_mask"].index(1)
            assert labels[:prompt_length] == [-100] * prompt_length
            assert labels[prompt_length:] == ids[prompt_length:]
            completion = tokenizer.decode(ids[prompt_length:])
            assert completion.endswith("<|im_end|>") and completion.startswith('{"pros":[')
            start += length
            checked += 1
    assert checked == len(encoded.examples)

    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels, ids, positions = batch["labels"][0], batch["input_ids"][0], batch["position_ids"][0]
    starts = [*(positions == 0).nonzero().flatten().tolist(), len(ids)]
    for begin, end in itertools.pairwise(starts):
        example = by_ids[tuple(ids[begin:end].tolist())]
        prompt_length = example["completion_mask"].index(1)
        assert (labels[begin : begin + prompt_length] == -100).all()
        assert (labels[begin + prompt_length : end] == ids[begin + prompt_length : end]).all()


def test_a_sagemaker_job_writes_what_sagemaker_expects(job: Path) -> None:
    model_dir = job / "model"
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ):
        assert (model_dir / name).is_file(), name
    adapter_config = json.loads((model_dir / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter_config["r"] == 8 and adapter_config["lora_alpha"] == 16
    profile_id = get_settings().training.base_model_id
    assert adapter_config["base_model_name_or_path"] == profile_id  # the profile's id
    assert sorted(adapter_config["target_modules"]) == sorted(
        HYPERPARAMETERS["lora_target_modules"].split(",")
    )

    metrics = metrics_of(job)
    contract = prompts.load_prompt()
    assert metrics["prompt_sha256"] == contract.sha256 and metrics["prompt_version"] == str(contract.version)
    assert metrics["base_model_id"] == profile_id
    assert metrics["global_step"] == STEPS
    assert [p["step"] for p in metrics["train_loss_history"]] == list(range(1, STEPS + 1))
    assert [p["step"] for p in metrics["eval_loss_history"]] == [10, 20, 30]
    assert metrics["first_train_loss"] == metrics["train_loss_history"][0]["value"]
    assert metrics["last_train_loss"] == metrics["train_loss_history"][-1]["value"]
    assert metrics["eval_loss"] == metrics["eval_loss_history"][-1]["value"]
    assert metrics["adapter_bytes"] == (model_dir / "adapter_model.safetensors").stat().st_size
    assert 0 < metrics["trainable_params"] < metrics["total_params"]
    assert metrics["train_examples"] == TRAIN_ROWS and metrics["validation_examples"] == VALIDATION_ROWS
    assert metrics["skipped_too_long"] == 0 and metrics["train_seconds"] > 0
    assert (
        metrics["hyperparameters"]["learning_rate"] == 1e-2 and metrics["hyperparameters"]["packing"] is True
    )
    assert metrics["resumed_from_checkpoint"] is None
    assert sorted(p.name for p in (job / "checkpoints").glob("checkpoint-*")) == [
        "checkpoint-10",
        "checkpoint-20",
        "checkpoint-30",
    ]


def test_the_loss_falls(job: Path) -> None:
    metrics = metrics_of(job)
    losses = [p["value"] for p in metrics["train_loss_history"]]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 1.0, (first, last)
    evals = [p["value"] for p in metrics["eval_loss_history"]]
    assert evals[-1] < evals[0]


def test_resuming_from_a_checkpoint_continues_the_same_run(
    job: Path, base_model: Path, channels: dict[str, Path], tmp_path: Path
) -> None:
    """A job interrupted after step 20 (its last checkpoint) and started again resumes there, and ends
    where the uninterrupted job ended. The resumed run's in-memory model and its saved adapter,
    reloaded with PEFT, then generate the same tokens."""
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    shutil.copytree(job / "checkpoints", tmp_path / "checkpoints")
    shutil.rmtree(tmp_path / "checkpoints" / "checkpoint-30")
    args = training.parser().parse_args(ARGV)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in sagemaker_env(base_model, channels, tmp_path).items():
            patch.setenv(key, value)
        hp = training.hyperparameters(args, training.TrainingHyperparameters())
        paths = training.resolve_paths(args, training.get_settings().training)
        run = training.train(hp, paths, "local/tiny-llama-seed0")

    resumed, uninterrupted = run.metrics, metrics_of(job)
    assert resumed["resumed_from_checkpoint"] == "checkpoint-20" and resumed["global_step"] == STEPS
    assert [p["step"] for p in resumed["train_loss_history"]] == list(range(1, STEPS + 1))
    after = [p["value"] for p in resumed["train_loss_history"][20:]]
    expected = [p["value"] for p in uninterrupted["train_loss_history"][20:]]
    assert after == pytest.approx(expected, rel=1e-4)
    saved = load_file(str(tmp_path / "model" / "adapter_model.safetensors"))
    reference = load_file(str(job / "model" / "adapter_model.safetensors"))
    assert saved.keys() == reference.keys()
    for name, tensor in saved.items():
        torch.testing.assert_close(tensor, reference[name], atol=1e-5, rtol=1e-4)

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "model")
    validation = training.read_rows(
        training.data_file(channels["validation"], "validation"), prompts.load_prompt()
    )
    prompt = prompts.render_prompt(tokenizer, [s.model_dump() for s in validation[0].snippets])
    inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")

    def greedy(model: Any) -> list[int]:
        torch.manual_seed(0)
        with torch.no_grad():
            output = model.generate(
                **inputs,
                max_new_tokens=40,
                do_sample=False,
                use_cache=True,
                pad_token_id=tokenizer.pad_token_id,
            )
        return output[0, inputs["input_ids"].shape[1] :].tolist()

    in_memory = greedy(run.trainer.model.eval())
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model), tmp_path / "model")
    assert greedy(reloaded.eval()) == in_memory
    assert len(in_memory) > 0


def test_bad_rows_fail_the_job_as_a_data_problem(base_model: Path, tmp_path: Path) -> None:
    rows = sft_rows()[:3]
    fine = {"text": "fine", "evidence": [1]}
    rows[1]["target"] = {"pros": [fine], "cons": [], "summary": "Good. Also bad."}  # two sentences
    rows[2]["target"] = {
        "pros": [{**fine, "evidence": [99]}],
        "cons": [],
        "summary": "Good.",
    }  # no snippet 99
    write_jsonl(tmp_path / "training" / "train.jsonl", rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SM_CHANNEL_TRAINING", str(tmp_path / "training"))
        patch.setenv("SM_CHANNEL_BASE_MODEL", str(base_model))
        patch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
        patch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "output"))
        patch.setenv("SM_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
        patch.delenv("SM_CHANNEL_VALIDATION", raising=False)
        assert training.main(ARGV) == training.EXIT_QUALITY_GATE
        assert training.main([*ARGV, "--learning_rate", "fast"]) == training.EXIT_USAGE
    assert not (tmp_path / "model" / "adapter_model.safetensors").exists()


def test_hyperparameters_survive_the_trip_through_strings() -> None:
    """What the DAG passes (`as_arguments`, `as_hyperparameters`) parses back to the same values, so the
    local subprocess and the SageMaker job train with exactly the profile's hyperparameters."""
    for profile_defaults in (
        training.get_settings().training.hyperparameters,
        training.TrainingHyperparameters(),
    ):
        args = training.parser().parse_args(profile_defaults.as_arguments())
        assert training.hyperparameters(args, training.TrainingHyperparameters(seed=99)) == profile_defaults
        assert training.TrainingHyperparameters.model_validate(profile_defaults.as_hyperparameters()) == (
            profile_defaults
        )
    dashed = training.parser().parse_args(
        ["--lora-rank", "4", "--packing", "False", "--lora_target_modules", "['q_proj']"]
    )
    parsed = training.hyperparameters(dashed, training.TrainingHyperparameters())
    assert (parsed.lora_rank, parsed.packing, parsed.lora_target_modules) == (4, False, ["q_proj"])


# ---- registration in MLflow --------------------------------------------------------------------------


def registration_plan(base_model: Path, channels: dict[str, Path], folder: Path) -> dict[str, Any]:
    """What the fine-tuning DAG's plan gives `register`, with the dataset and golden steps' results."""
    from common import storage

    results = {
        "dataset": {"dvc": {"tag": "sft-summaries-abc123", "rev": "a" * 40}},
        "golden": {"dvc": {"tag": "golden-summaries-def456", "rev": "b" * 40}},
    }
    for name, result in results.items():
        storage.write_json(str(folder / f"{name}.json"), result)
    from common.settings import get_settings
    from pipelines.training.plan import code_commit

    return {
        "run_key": "20261201030000-test",
        "run_id": "manual__test",
        "git_commit": code_commit(get_settings().home),
        "base_model": str(base_model),
        "base_model_id": "local/tiny-llama-seed0",
        "hyperparameters": HYPERPARAMETERS,
        "dataset_uri": str(channels["validation"].parent),
        "dataset_result_uri": str(folder / "dataset.json"),
        "golden_result_uri": str(folder / "golden.json"),
    }


def test_a_registered_candidate_reloads_identically_and_carries_its_lineage(
    base_model: Path, channels: dict[str, Path], job: Path, tmp_path: Path
) -> None:
    import mlflow.pyfunc
    import pandas as pd
    import torch
    from mlflow import MlflowClient
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from common.settings import get_settings
    from pipelines.training.register import register

    settings = get_settings()
    plan = registration_plan(base_model, channels, tmp_path)
    result = register(plan, str(job / "model"), str(job / "output" / "data"), settings)
    name, version = settings.registry.model_name, result["version"]
    assert result["model_uri"] == f"models:/{name}/{version}"

    client = MlflowClient()
    assert str(client.get_model_version_by_alias(name, "candidate").version) == version
    tags = client.get_model_version(name, version).tags
    assert tags["llmops.lifecycle"] == "candidate"
    assert tags["llmops.dataset.dvc_tag"] == "sft-summaries-abc123"
    assert tags["llmops.golden.dvc_tag"] == "golden-summaries-def456"
    assert tags["llmops.prompt.sha256"] == prompts.content_hash()
    assert tags["llmops.prompt.version"] == str(prompts.version())
    assert tags["llmops.base_model_id"] == "local/tiny-llama-seed0"
    assert tags["llmops.base_model"] == str(base_model)
    assert len(tags["llmops.git_commit"]) == 40
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.params["lora_rank"] == HYPERPARAMETERS["lora_rank"]
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, STEPS + 1))
    assert history[-1].value < history[0].value
    assert {a.path for a in client.list_artifacts(run.info.run_id, "samples")} == {"samples/summaries.json"}

    # One call loads base + adapter + prompt from the registry; it answers exactly as the trained adapter.
    lines = (channels["validation"] / "validation.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    frame = pd.DataFrame({"snippets": [r["snippets"] for r in rows[:2]]})
    first = mlflow.pyfunc.load_model(result["model_uri"]).predict(frame)
    again = mlflow.pyfunc.load_model(f"models:/{name}@candidate").predict(frame)
    assert first == again and all(answer["text"] for answer in first)
    tokenizer = AutoTokenizer.from_pretrained(job / "model")
    adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base_model), job / "model"
    ).eval()
    prompt = prompts.render_prompt(tokenizer, rows[0]["snippets"])
    inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        tokens = adapter.generate(
            **inputs,
            max_new_tokens=settings.registry.max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    expected = tokenizer.decode(tokens[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert first[0]["text"] == expected

    # The same training run registered again is the same version, not a second one.
    assert register(plan, str(job / "model"), str(job / "output" / "data"), settings) == result
    assert len(client.search_model_versions(f"name = '{name}'")) == 1
