"""LoRA fine-tuning of the summarizer: transformers + peft + trl's `SFTTrainer`, in the SageMaker
training contract, wherever it runs.

    python -m pipelines.training.train --lora_rank 16 --learning_rate 2e-4 ...

The contract (what a SageMaker training job provides, and what the local runner imitates with folders):

- data: `SM_CHANNEL_TRAINING` (`train.jsonl`) and `SM_CHANNEL_VALIDATION` (`validation.jsonl`, optional),
  rows of the SFT dataset: `example_id`, `snippets` [{"review_id", "star_rating", "text"}], `target`
  {"pros", "cons", "summary"};
- the base model: `SM_CHANNEL_BASE_MODEL` (a folder saved with `save_pretrained`, downloaded by SageMaker
  from the channel's S3 prefix), else `--base_model`, else the profile's `training.base_model` folder;
- hyperparameters: `--key value` arguments (strings; every field of
  `common.settings.TrainingHyperparameters`, validated there), on top of the profile's defaults;
- outputs: the adapter and the tokenizer in `SM_MODEL_DIR` (SageMaker packs it as `model.tar.gz`),
  `metrics.json` in `SM_OUTPUT_DATA_DIR`, checkpoints in `SM_CHECKPOINT_DIR` (the job's checkpoint
  `LocalPath`, which SageMaker syncs with S3). Where the toolkit variables are not set, SageMaker's own
  folders (`/opt/ml/...`) are used.

Training choices:

- Prompts and targets are rendered only by `common.prompts`: the prompt through the tokenizer's chat
  template with the generation prompt, the target as canonical JSON plus the template's end-of-turn.
- Prompt-completion examples, tokenized here (prompt and completion separately, without adding special
  tokens, since the template holds every one the model expects): the prompt tokens are exactly those
  generation sees, no token merges across the boundary, and a tokenizer that adds a BOS of its own
  cannot double it. trl builds the labels from the completion mask (`completion_only_loss=True`): the
  loss is on the answer only, never on the reviews.
- Packing, not length bucketing: best-fit-decreasing packing (`packing_strategy="bfd"`) fills each
  sequence of `max_seq_length` tokens with whole examples, and trl trains it padding-free, with position
  ids restarting per example, from which transformers builds a block-diagonal mask (an example never
  attends to its neighbour). Examples here are one long prompt and a short answer, with lengths
  spread by the number and length of snippets: bucketing would still pad each batch to its longest
  member, and packing spends no compute on padding at all. An example longer than `max_seq_length` is
  skipped and counted, never truncated (truncation would cut the answer).
- Reproducible: `transformers.set_seed` before the model and adapter are built, the trainer's seeded
  sampler for the data order, and the same seed in every resumed run (the checkpoint restores the RNG
  states). A checkpoint every `save_steps`; a run that finds checkpoints in its checkpoint folder (a
  spot interruption, a retried task) resumes from the latest.

No MLflow here: the `register` step logs `metrics.json` and the adapter afterwards.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common import prompts
from common.settings import TrainingHyperparameters, TrainingSettings, get_settings
from common.step_entrypoint import EXIT_CRASH, EXIT_OK, EXIT_QUALITY_GATE, EXIT_USAGE

log = logging.getLogger(__name__)

# SageMaker's folders inside a training job; the toolkit's variables name the same folders.
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
SAGEMAKER_OUTPUT_DATA_DIR = "/opt/ml/output/data"
SAGEMAKER_OUTPUT_DIR = "/opt/ml/output"  # a `failure` file here is the job's FailureReason
SAGEMAKER_CHECKPOINT_DIR = "/opt/ml/checkpoints"
SAGEMAKER_CHANNELS_DIR = "/opt/ml/input/data"
TRAINING_CHANNEL = "training"
VALIDATION_CHANNEL = "validation"
BASE_MODEL_CHANNEL = "base_model"
DATA_FILES = {TRAINING_CHANNEL: "train.jsonl", VALIDATION_CHANNEL: "validation.jsonl"}
METRICS_FILE = "metrics.json"


class TrainingDataError(ValueError):
    """The training data cannot be trained on (bad rows, nothing left): fix the data, not the job."""


# ---- the SFT rows ---------------------------------------------------------------------------------


class Snippet(BaseModel):
    model_config = ConfigDict(extra="ignore")

    review_id: str | None = None
    star_rating: int = Field(ge=1, le=5)
    text: str = Field(min_length=1)


class SftRow(BaseModel):
    """The fields of an SFT dataset row that training reads; other fields are carried, not read."""

    model_config = ConfigDict(extra="ignore")

    example_id: str
    snippets: list[Snippet] = Field(min_length=1)
    target: dict[str, Any]  # checked against the prompt contract by `read_rows`


def read_rows(path: Path, contract: prompts.PromptContract) -> list[SftRow]:
    """The rows of one JSONL file; any row that is not a valid example (its target checked against the
    prompt contract too) fails the whole file, naming the rows."""
    rows: list[SftRow] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = SftRow.model_validate_json(line)
                contract.parse_summary(prompts.canonical_json(row.target), len(row.snippets))
            except (ValidationError, prompts.SummaryFormatError) as error:
                problems.append(f"line {number}: {error}".replace("\n", " ")[:300])
                continue
            rows.append(row)
    if problems:
        shown = "; ".join(problems[:5])
        raise TrainingDataError(f"{path}: {len(problems)} invalid rows ({shown})")
    return rows


def data_file(channel_dir: Path, channel: str) -> Path:
    """The channel's JSONL file: `<dir>/<train|validation>.jsonl`, or the only `.jsonl` in the folder."""
    if channel_dir.is_file():
        return channel_dir
    expected = channel_dir / DATA_FILES[channel]
    if expected.is_file():
        return expected
    found = sorted(channel_dir.glob("*.jsonl"))
    if len(found) == 1:
        return found[0]
    raise TrainingDataError(f"channel {channel!r} at {channel_dir} holds no {DATA_FILES[channel]}")


# ---- tokenization ---------------------------------------------------------------------------------


@dataclass
class Encoded:
    """Tokenized examples ready for the trainer, and what did not fit."""

    examples: list[dict[str, list[int]]] = field(default_factory=list)
    skipped_too_long: list[str] = field(default_factory=list)
    tokens: int = 0
    completion_tokens: int = 0


def encode_example(
    tokenizer: Any, contract: prompts.PromptContract, snippets: Sequence[Mapping[str, Any]], target: Any
) -> dict[str, list[int]]:
    """`input_ids` (prompt then completion) and `completion_mask` (1 on the completion) of one example."""
    prompt = contract.render_prompt(tokenizer, snippets)
    completion = contract.render_completion(tokenizer, target)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return {
        "input_ids": [*prompt_ids, *completion_ids],
        "completion_mask": [0] * len(prompt_ids) + [1] * len(completion_ids),
    }


def encode_rows(
    rows: Sequence[SftRow], tokenizer: Any, contract: prompts.PromptContract, max_length: int
) -> Encoded:
    encoded = Encoded()
    for row in rows:
        example = encode_example(tokenizer, contract, [s.model_dump() for s in row.snippets], row.target)
        if len(example["input_ids"]) > max_length:
            encoded.skipped_too_long.append(row.example_id)
            continue
        encoded.examples.append(example)
        encoded.tokens += len(example["input_ids"])
        encoded.completion_tokens += sum(example["completion_mask"])
    return encoded


# ---- the contract's folders -------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    training: Path
    validation: Path | None
    base_model: Path
    model_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path


def _channel(name: str) -> Path | None:
    """A channel's folder: the toolkit's `SM_CHANNEL_<NAME>`, else SageMaker's mount point if present."""
    value = os.environ.get(f"SM_CHANNEL_{name.upper()}")
    if value:
        return Path(value)
    mounted = Path(SAGEMAKER_CHANNELS_DIR) / name
    return mounted if mounted.exists() else None


def resolve_paths(args: argparse.Namespace, training: TrainingSettings) -> Paths:
    """Arguments first, then the SageMaker contract's variables and folders, then the profile."""
    train_dir = args.training or _channel(TRAINING_CHANNEL)
    if train_dir is None:
        raise TrainingDataError("no training data: set SM_CHANNEL_TRAINING or pass --training")
    validation = args.validation or _channel(VALIDATION_CHANNEL)
    base = args.base_model or _channel(BASE_MODEL_CHANNEL) or training.base_model
    if "://" in str(base):
        raise ValueError(
            f"the base model {base} is not a local folder: a training job receives it as its "
            f"{BASE_MODEL_CHANNEL!r} channel (SM_CHANNEL_BASE_MODEL)"
        )
    return Paths(
        training=data_file(Path(train_dir), TRAINING_CHANNEL),
        validation=data_file(Path(validation), VALIDATION_CHANNEL) if validation else None,
        base_model=Path(base),
        model_dir=Path(args.model_dir or os.environ.get("SM_MODEL_DIR") or SAGEMAKER_MODEL_DIR),
        output_data_dir=Path(
            args.output_data_dir or os.environ.get("SM_OUTPUT_DATA_DIR") or SAGEMAKER_OUTPUT_DATA_DIR
        ),
        checkpoint_dir=Path(
            args.checkpoint_dir or os.environ.get("SM_CHECKPOINT_DIR") or SAGEMAKER_CHECKPOINT_DIR
        ),
    )


# ---- training -------------------------------------------------------------------------------------


def build_trainer(
    hp: TrainingHyperparameters,
    base_model: Path,
    tokenizer: Any,
    train_examples: Sequence[dict[str, list[int]]],
    eval_examples: Sequence[dict[str, list[int]]] | None,
    checkpoint_dir: Path,
    callbacks: Sequence[Any] = (),
) -> Any:
    """An `SFTTrainer` of a LoRA adapter on `base_model`, over tokenized prompt-completion examples."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, set_seed
    from trl import SFTConfig, SFTTrainer

    set_seed(hp.seed)  # before the model and the adapter's random initialisation
    model = AutoModelForCausalLM.from_pretrained(
        base_model, dtype=torch.bfloat16 if hp.bf16 else torch.float32
    )
    evaluate = bool(eval_examples)
    config = SFTConfig(
        output_dir=str(checkpoint_dir),
        seed=hp.seed,
        data_seed=hp.seed,
        learning_rate=hp.learning_rate,
        num_train_epochs=hp.num_train_epochs,
        max_steps=hp.max_steps,
        per_device_train_batch_size=hp.per_device_train_batch_size,
        per_device_eval_batch_size=hp.per_device_train_batch_size,
        gradient_accumulation_steps=hp.gradient_accumulation_steps,
        warmup_steps=hp.warmup_ratio,  # a float below 1 is a share of the total steps
        lr_scheduler_type=hp.lr_scheduler_type,
        weight_decay=hp.weight_decay,
        bf16=hp.bf16,
        activation_checkpointing=hp.gradient_checkpointing,  # transformers' name for it
        max_length=hp.max_seq_length,
        packing=hp.packing,
        packing_strategy="bfd",
        padding_free=hp.packing,
        completion_only_loss=True,
        shuffle_dataset=False,  # the trainer's seeded sampler orders the data
        logging_strategy="steps",
        logging_steps=hp.logging_steps,
        eval_strategy=("steps" if hp.eval_steps else "epoch") if evaluate else "no",
        eval_steps=hp.eval_steps or None,
        save_strategy="steps",
        save_steps=hp.save_steps,
        save_total_limit=hp.save_total_limit,
        report_to="none",
        disable_tqdm=True,  # one log line per step instead of progress bars in CloudWatch
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    peft_config = LoraConfig(
        r=hp.lora_rank,
        lora_alpha=hp.lora_alpha,
        lora_dropout=hp.lora_dropout,
        target_modules=list(hp.lora_target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(list(train_examples)),
        eval_dataset=Dataset.from_list(list(eval_examples)) if eval_examples else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # LossLog prints the same numbers in a fixed format
    return trainer


def _loss_log_callback() -> Any:
    from transformers import TrainerCallback

    class LossLog(TrainerCallback):
        """Prints every logged loss as `step=N loss=X ...` (SageMaker metric definitions match this)."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **_: Any
        ):
            logs = logs or {}
            shown = {k: v for k, v in logs.items() if k in ("loss", "eval_loss", "learning_rate", "epoch")}
            if "loss" in shown or "eval_loss" in shown:
                values = " ".join(
                    f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
                )
                print(f"step={state.global_step} {values}", flush=True)

    return LossLog()


def latest_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest complete `checkpoint-N` in the folder, or None."""
    from transformers.trainer_utils import get_last_checkpoint

    if not checkpoint_dir.is_dir():
        return None
    return get_last_checkpoint(str(checkpoint_dir))


def loss_history(log_history: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    points = []
    for entry in log_history:
        if key in entry:
            point = {"step": int(entry["step"]), "value": float(entry[key])}
            for extra in ("epoch", "learning_rate"):
                if extra in entry:
                    point[extra] = float(entry[extra])
            points.append(point)
    return points


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


@dataclass(frozen=True)
class TrainingRun:
    """A finished run: the trainer (its model is the trained adapter on the base) and `metrics.json`."""

    trainer: Any
    metrics: dict[str, Any]


def train(
    hp: TrainingHyperparameters, paths: Paths, base_model_id: str, torch_threads: int = 0
) -> TrainingRun:
    """Train (resuming from the latest checkpoint if any), save the adapter and tokenizer, write
    `metrics.json`."""
    import peft
    import torch
    import transformers
    import trl

    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    contract = prompts.load_prompt()
    train_rows = read_rows(paths.training, contract)
    eval_rows = read_rows(paths.validation, contract) if paths.validation else []
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(paths.base_model)
    train_set = encode_rows(train_rows, tokenizer, contract, hp.max_seq_length)
    eval_set = encode_rows(eval_rows, tokenizer, contract, hp.max_seq_length)
    skipped = train_set.skipped_too_long + eval_set.skipped_too_long
    if skipped:
        log.warning(
            "%d examples exceed %d tokens and are skipped: %s", len(skipped), hp.max_seq_length, skipped
        )
    if not train_set.examples:
        raise TrainingDataError(
            f"no training example fits max_seq_length={hp.max_seq_length} ({len(train_rows)} rows read)"
        )
    log.info(
        "training on %d examples (%d tokens, %d in completions), validating on %d; prompt %s",
        len(train_set.examples),
        train_set.tokens,
        train_set.completion_tokens,
        len(eval_set.examples),
        contract.prompt_id,
    )

    resume = latest_checkpoint(paths.checkpoint_dir)
    if resume:
        log.info("resuming from %s", resume)
    trainer = build_trainer(
        hp,
        paths.base_model,
        tokenizer,
        train_set.examples,
        eval_set.examples or None,
        paths.checkpoint_dir,
        callbacks=[_loss_log_callback()],
    )
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - started
    history = trainer.state.log_history
    evaluated = [e for e in history if "eval_loss" in e]
    final_eval: dict[str, Any] = {}
    if evaluated and evaluated[-1]["step"] == trainer.state.global_step:
        final_eval = evaluated[-1]
    elif eval_set.examples:
        final_eval = trainer.evaluate()

    # The adapter names the base model by its id, not by the folder it was read from in this job.
    model = trainer.model
    model.peft_config["default"].base_model_name_or_path = base_model_id
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    # No embedding layers: the vocabulary is the base model's, and the adapter stays small.
    model.save_pretrained(paths.model_dir, save_embedding_layers=False)
    trainer.processing_class.save_pretrained(paths.model_dir, save_jinja_files=False)
    adapter_file = paths.model_dir / "adapter_model.safetensors"
    trainable, total = model.get_nb_trainable_parameters()

    train_losses = loss_history(history, "loss")
    eval_losses = loss_history(history, "eval_loss")
    metrics: dict[str, Any] = {
        "base_model_id": base_model_id,
        "base_model": str(paths.base_model),
        "prompt_name": contract.name,
        "prompt_version": str(contract.version),
        "prompt_sha256": contract.sha256,
        "prompt_id": contract.prompt_id,
        "hyperparameters": hp.model_dump(),
        "train_loss_history": train_losses,
        "eval_loss_history": eval_losses,
        "first_train_loss": train_losses[0]["value"] if train_losses else None,
        "last_train_loss": train_losses[-1]["value"] if train_losses else None,
        "eval_loss": final_eval.get("eval_loss"),
        "mean_train_loss": result.training_loss,
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "train_seconds": round(train_seconds, 3),
        "train_examples": len(train_set.examples),
        "validation_examples": len(eval_set.examples),
        "skipped_too_long": len(skipped),
        "train_tokens": train_set.tokens,
        "train_completion_tokens": train_set.completion_tokens,
        "trainable_params": trainable,
        "total_params": total,
        "adapter_bytes": adapter_file.stat().st_size,
        "resumed_from_checkpoint": Path(resume).name if resume else None,
        "device": str(trainer.args.device),
        "libraries": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "trl": trl.__version__,
        },
    }
    _write_json(paths.output_data_dir / METRICS_FILE, metrics)
    log.info(
        "trained %d steps in %.1fs: loss %s -> %s, eval loss %s; adapter %d bytes in %s",
        metrics["global_step"],
        train_seconds,
        metrics["first_train_loss"],
        metrics["last_train_loss"],
        metrics["eval_loss"],
        metrics["adapter_bytes"],
        paths.model_dir,
    )
    return TrainingRun(trainer=trainer, metrics=metrics)


# ---- command line ---------------------------------------------------------------------------------


def _hyperparameter_file() -> dict[str, str]:
    """SageMaker's own copy of the job's hyperparameters, when the job runs without arguments."""
    path = Path(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")) / "hyperparameters.json"
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {key: str(value) for key, value in raw.items()}


def parser() -> argparse.ArgumentParser:
    """Every hyperparameter as `--name value` (also `--name-with-dashes`), plus the contract's folders."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    hyper = p.add_argument_group("hyperparameters (strings, validated by TrainingHyperparameters)")
    for name in TrainingHyperparameters.model_fields:
        flags = {f"--{name}", f"--{name.replace('_', '-')}"}
        hyper.add_argument(*sorted(flags), dest=name, metavar="VALUE", default=None)
    folders = p.add_argument_group("folders (default: the SageMaker contract's variables)")
    for name, help_text in (
        ("training", "train.jsonl or its folder (SM_CHANNEL_TRAINING)"),
        ("validation", "validation.jsonl or its folder (SM_CHANNEL_VALIDATION)"),
        ("base_model", "the base model folder (SM_CHANNEL_BASE_MODEL, else training.base_model)"),
        ("model_dir", "where the adapter and tokenizer go (SM_MODEL_DIR)"),
        ("output_data_dir", "where metrics.json goes (SM_OUTPUT_DATA_DIR)"),
        ("checkpoint_dir", "checkpoints, resumed from when present (SM_CHECKPOINT_DIR)"),
    ):
        folders.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, help=help_text)
    p.add_argument(
        "--base-model-id", dest="base_model_id", default=None, help="default: training.base_model_id"
    )
    return p


def hyperparameters(args: argparse.Namespace, defaults: TrainingHyperparameters) -> TrainingHyperparameters:
    """The profile's defaults, then SageMaker's hyperparameters file, then the arguments."""
    given = {name: getattr(args, name) for name in TrainingHyperparameters.model_fields}
    merged: dict[str, Any] = defaults.model_dump()
    merged.update({k: v for k, v in _hyperparameter_file().items() if k in merged})
    merged.update({k: v for k, v in given.items() if v is not None})
    return TrainingHyperparameters.model_validate(merged)


def _record_failure(message: str) -> None:
    """SageMaker shows the first 1 KiB of `/opt/ml/output/failure` as the job's FailureReason."""
    folder = Path(os.environ.get("SM_OUTPUT_DIR", SAGEMAKER_OUTPUT_DIR))
    if folder.is_dir():
        try:
            (folder / "failure").write_text(message[:1024], encoding="utf-8")
        except OSError:
            log.exception("could not write the failure reason")


def main(argv: Sequence[str] | None = None) -> int:
    # A training job reads its base model from a folder; nothing may reach for a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = parser().parse_args(argv)  # exits with 2 on unknown arguments
    training = get_settings().training
    try:
        hp = hyperparameters(args, training.hyperparameters)
    except ValidationError as error:
        message = f"invalid hyperparameters: {error}"
        log.error(message)
        _record_failure(message)
        return EXIT_USAGE
    try:
        paths = resolve_paths(args, training)
        train(hp, paths, args.base_model_id or training.base_model_id, training.torch_threads)
    except TrainingDataError as error:
        log.error("training data: %s", error)
        _record_failure(f"training data: {error}")
        return EXIT_QUALITY_GATE
    except Exception as error:
        log.exception("training failed")
        _record_failure(f"training failed: {error!r}")
        return EXIT_CRASH
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
