"""Detoxify-format toxicity checkpoints built offline, and the `local` profile's small trained model.

No model hub is reachable, so nothing here downloads: the tokenizer is trained locally with the
`tokenizers` library on the texts given, the model is a `transformers` classifier initialised from a
config, and the result is written the way Detoxify's releases are (a torch file with `config` and
`state_dict`) so that `Detoxify(checkpoint=..., huggingface_config_path=...)` loads it. The Hugging Face
config and tokenizer go to a sibling folder named after the checkpoint, which
`config.arch.args.model_type` points to.

- `build_checkpoint`: random weights of a tiny model, or of Detoxify's production architecture and
  size (`size="base"`: BERT-base like Detoxify's `original`, or XLM-R base like `multilingual`) for
  benchmarks, where the arithmetic costs the same whatever the weights.
- `train_local_model`: the `local` profile's toxicity model. It is a small model (2 layers, hidden 128)
  with a WordPiece vocabulary learned from the project's sample reviews, fine-tuned for a few epochs
  on CPU on the sample generator's labels. It learns the abusive vocabulary that the generator puts
  into its `toxic` reviews and so separates them from the generator's other reviews; it is not a
  general toxicity model and says little about real text.

    python -m local_models.toxicity --out .local/models/toxicity --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from common.settings import load_thresholds

# Detoxify's `original` labels; Detoxify renames `toxic` to `toxicity` when it loads a checkpoint.
ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
LOCAL_CLASSES = ["toxic"]
LOCAL_MODEL_NAME = "tiny-multilingual"
# The demo seeds its source with 7: the local model trains on other seeds and is judged on 7.
DEMO_SEED = 7


@dataclass(frozen=True)
class Arch:
    model_name: str  # transformers class, as Detoxify's config.arch.args.model_name
    tokenizer_name: str  # transformers class, as Detoxify's config.arch.args.tokenizer_name
    config_class: Callable[..., transformers.PretrainedConfig]  # a subclass, with its own arguments
    production_vocab_size: int  # the vocabulary of the released Detoxify model of this family
    special_tokens: tuple[str, ...]


ARCHS: dict[str, Arch] = {
    "bert": Arch(
        "BertForSequenceClassification",
        "BertTokenizer",
        transformers.BertConfig,
        30522,
        ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
    ),
    "xlm-roberta": Arch(
        "XLMRobertaForSequenceClassification",
        "XLMRobertaTokenizer",
        transformers.XLMRobertaConfig,
        250002,
        # XLMRobertaTokenizer expects <unk> at id 3.
        ("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
    ),
}

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "base": {
        "num_hidden_layers": 12,
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
}


def train_tokenizer(texts: Iterable[str], arch: str = "bert", vocab_size: int = 8000) -> Any:
    """A transformers tokenizer of the family of `arch`, its vocabulary learned from `texts`."""
    spec = ARCHS[arch]
    if arch == "bert":
        backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        # Detoxify's `original` is uncased: lower-case and strip accents, as BertTokenizer does.
        backend.normalizer = normalizers.BertNormalizer(lowercase=True)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.WordPiece()
        trainer: trainers.Trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, special_tokens=list(spec.special_tokens)
        )
        backend.train_from_iterator(texts, trainer=trainer)
        return transformers.BertTokenizer(vocab=backend.get_vocab(), do_lower_case=True)
    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(spec.special_tokens), unk_token="<unk>"
    )
    backend.train_from_iterator(texts, trainer=trainer)
    vocab = [(piece, score) for piece, score in json.loads(backend.to_str())["model"]["vocab"]]
    return transformers.XLMRobertaTokenizer(vocab=vocab)


def new_model(
    tokenizer: Any,
    *,
    arch: str = "bert",
    size: str = "tiny",
    num_labels: int = 1,
    seed: int = 0,
) -> Any:
    """A randomly initialised classifier of `arch` and `size` for `tokenizer`.

    `size="base"` keeps the production vocabulary size too, so its embedding matrix (and memory) is
    the released model's, whatever the smaller vocabulary the tokenizer learned.
    """
    spec = ARCHS[arch]
    vocab_size = len(tokenizer)
    if size == "base":
        vocab_size = max(vocab_size, spec.production_vocab_size)
    extra: dict[str, Any] = {}
    if arch == "xlm-roberta":
        # RoBERTa counts positions from pad_token_id + 1: 514 positions hold 512 tokens.
        extra = {"max_position_embeddings": 514, "type_vocab_size": 1}
    config = spec.config_class(
        vocab_size=vocab_size,
        num_labels=num_labels,
        pad_token_id=tokenizer.pad_token_id,
        problem_type="multi_label_classification",
        **SIZES[size],
        **extra,
    )
    torch.manual_seed(seed)
    model_class = getattr(transformers, spec.model_name)
    return model_class(config).eval()


def save_checkpoint(
    out_dir: str | Path, name: str, model: Any, tokenizer: Any, *, arch: str, classes: Sequence[str]
) -> Path:
    """Write `<out_dir>/<name>.ckpt` in Detoxify's format, with `<out_dir>/<name>/` beside it."""
    spec = ARCHS[arch]
    if model.config.num_labels != len(classes):
        raise ValueError(f"the model has {model.config.num_labels} outputs but {len(classes)} classes")
    out = Path(out_dir).resolve()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)  # config only: the weights live in the checkpoint
    tokenizer.save_pretrained(folder)
    checkpoint = out / f"{name}.ckpt"
    payload = {
        "config": {
            "name": name,
            "arch": {
                "type": arch,
                "args": {
                    "model_type": str(folder),
                    "model_name": spec.model_name,
                    "tokenizer_name": spec.tokenizer_name,
                    "num_classes": len(classes),
                },
            },
            "dataset": {"args": {"classes": list(classes)}},
        },
        "state_dict": model.state_dict(),
    }
    partial = checkpoint.with_suffix(".partial")
    torch.save(payload, partial)
    partial.replace(checkpoint)
    return checkpoint


def build_checkpoint(
    out_dir: str | Path,
    *,
    texts: Sequence[str],
    size: str = "tiny",
    arch: str = "bert",
    name: str | None = None,
    classes: Sequence[str] = tuple(ORIGINAL_CLASSES),
    vocab_size: int = 8000,
    seed: int = 0,
) -> Path:
    """A Detoxify checkpoint with random weights; returns the path of the `.ckpt` file."""
    if size not in SIZES or arch not in ARCHS:
        raise ValueError(f"size must be one of {sorted(SIZES)} and arch one of {sorted(ARCHS)}")
    tokenizer = train_tokenizer(texts, arch=arch, vocab_size=vocab_size)
    model = new_model(tokenizer, arch=arch, size=size, num_labels=len(classes), seed=seed)
    return save_checkpoint(out_dir, name or f"{arch}-{size}", model, tokenizer, arch=arch, classes=classes)


# --- the local profile's trained model --------------------------------------------------------


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of examples of similar length, in random order: little padding, no fixed sequence."""
    order = list(range(len(lengths)))
    rng.shuffle(order)  # ties in length break differently every epoch
    order.sort(key=lambda i: lengths[i])
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def train_local_model(
    out_dir: str | Path,
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    name: str = LOCAL_MODEL_NAME,
    epochs: int = 5,
    batch_size: int = 8,
    learning_rate: float = 5e-4,
    max_tokens: int = 256,
    vocab_size: int = 6000,
    seed: int = 0,
) -> Path:
    """Fine-tune the tiny multilingual BERT on `texts` labelled 1 (toxic) or 0; returns the `.ckpt`.

    The classes are weighed as the data comes: `labelled_reviews(for_training=True)` balances them
    where it matters (insults against civil complaints). Batches are small (many updates for the
    compute) and hold texts of similar length (little padding). The `tokenizers` trainer breaks ties
    between equally frequent merges in no fixed order, so two runs learn slightly different
    vocabularies and models: the held-out metrics the command prints are those of the model it wrote.
    """
    if len(texts) != len(labels) or not texts:
        raise ValueError("train_local_model needs as many labels as texts, and at least one text")
    positives = sum(labels)
    if positives == 0 or positives == len(labels):
        raise ValueError("the training data needs both toxic and clean examples")
    tokenizer = train_tokenizer(texts, arch="bert", vocab_size=vocab_size)
    model = new_model(tokenizer, arch="bert", size="tiny", num_labels=len(LOCAL_CLASSES), seed=seed)
    encoded = tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]
    target = torch.tensor(labels, dtype=torch.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * ((len(texts) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps)
    rng = random.Random(seed)
    model.train()
    for _ in range(epochs):
        for batch in _batches([len(ids) for ids in encoded], batch_size, rng):
            inputs = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            logits = model(**inputs).logits[:, 0]
            loss = loss_fn(logits, target[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    model.eval()
    return save_checkpoint(out_dir, name, model, tokenizer, arch="bert", classes=LOCAL_CLASSES)


# The training mix (see `labelled_reviews`): shares of clean 4-5 star reviews and of non-toxic defect
# rows kept, and toxic reviews per civil one- or two-star review.
KEEP_POSITIVE = 1 / 6
KEEP_OTHER_DEFECTS = 1 / 3
TOXIC_PER_CIVIL_NEGATIVE = 0.5


def labelled_reviews(
    seed: int,
    *,
    products: int = 60,
    mean_reviews_per_product: int = 30,
    toxic_rich: bool = False,
    for_training: bool = False,
) -> tuple[list[str], list[int]]:
    """Review texts of the sample generator and their labels (1: the generator made it toxic).

    By default the stream is what the demo's source holds for `seed` (about 1% toxic). `toxic_rich`
    makes 30% of the reviews defective, half of them toxic, keeping every other defect kind (spam,
    injections, personal data, markup) as non-toxic examples that are easy to confuse.

    `for_training` reshapes the mix so that anger alone does not predict the label: a toxic review is
    a one-star rant with an insult in it, so the examples that teach the insult are the civil one- and
    two-star reviews. Toxic reviews are cut to half as many as those, and only a share of the clean
    4-5 star reviews and of the other defects is kept: the model gets them right early, and the
    training time goes to the hard cases.
    """
    from sample_source import DEFECT_WEIGHTS, iter_labelled_reviews

    options: dict[str, Any] = {}
    if toxic_rich:
        weights = dict(DEFECT_WEIGHTS)
        weights["toxic"] = sum(w for kind, w in weights.items() if kind != "toxic")
        options = {"defect_rate": 0.3, "defect_weights": weights}
    rng = random.Random(seed)
    examples: list[tuple[str, int]] = []
    toxic_rows: list[int] = []
    civil_negative = 0
    for row, label in iter_labelled_reviews(
        seed=seed, products=products, mean_reviews_per_product=mean_reviews_per_product, huge=False, **options
    ):
        text = row["review_text"]
        if not isinstance(text, str) or not text.strip():
            continue
        toxic = "toxic" in label["defects"]
        star = label.get("star") or 0
        if for_training and not label["defects"]:
            if star >= 4 and rng.random() >= KEEP_POSITIVE:
                continue
            civil_negative += star <= 2
        if for_training and label["defects"] and not toxic and rng.random() >= KEEP_OTHER_DEFECTS:
            continue
        if toxic:
            toxic_rows.append(len(examples))
        examples.append((text, int(toxic)))
    cap = int(civil_negative * TOXIC_PER_CIVIL_NEGATIVE)
    if for_training and len(toxic_rows) > cap:
        dropped = set(rng.sample(toxic_rows, len(toxic_rows) - cap))
        examples = [example for i, example in enumerate(examples) if i not in dropped]
    return [text for text, _ in examples], [label for _, label in examples]


def evaluate(checkpoint: Path, texts: Sequence[str], labels: Sequence[int], threshold: float) -> dict:
    """Accuracy, precision and recall of `checkpoint` at the quarantine threshold."""
    from common.toxicity import ToxicityScorer

    scorer = ToxicityScorer({"default": str(checkpoint)}, batch_size=64, max_tokens=256)
    scores = scorer.score(texts, ["en"] * len(texts))
    predicted = [int(score >= threshold) for score in scores]
    tp = sum(p and y for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and not y for p, y in zip(predicted, labels, strict=True))
    fn = sum(y and not p for p, y in zip(predicted, labels, strict=True))
    correct = sum(p == y for p, y in zip(predicted, labels, strict=True))
    return {
        "threshold": threshold,
        "examples": len(labels),
        "toxic_examples": sum(labels),
        "accuracy": correct / len(labels),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


# The training mix and the two held-out sets of the CLI (see `labelled_reviews`).
# 480 products (about 4,000 reviews, three minutes on one core): with half as many, a build called about
# 0.91 of the held-out insults and 0.99 of the civil reviews right, and the tokenizer's run-to-run
# differences could push either below the tests' floor; with these, 1.0 and 1.0 in repeated builds.
TRAINING_MIX: dict[str, Any] = {
    "products": 480,
    "mean_reviews_per_product": 25,
    "toxic_rich": True,
    "for_training": True,
}
HELD_OUT_SETS: dict[str, dict[str, Any]] = {
    "toxic_rich": {"products": 80, "mean_reviews_per_product": 25, "toxic_rich": True},
    "demo": {},  # the demo's own source data
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="folder for <name>.ckpt and its config folder")
    parser.add_argument("--seed", type=int, default=0, help=f"generator and training seed (not {DEMO_SEED})")
    parser.add_argument("--epochs", type=int, default=5)
    # Matrices this small gain little from a second thread, and threads that wait on each other stall
    # badly when the machine is busy.
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.seed == DEMO_SEED:
        parser.error(f"seed {DEMO_SEED} is the held-out (demo) data; train on another seed")
    started = time.perf_counter()
    texts, labels = labelled_reviews(args.seed, **TRAINING_MIX)
    checkpoint = train_local_model(args.out, texts, labels, epochs=args.epochs, seed=args.seed)
    trained_s = time.perf_counter() - started
    threshold = load_thresholds().ingestion.toxicity_quarantine
    held_out = {
        name: evaluate(checkpoint, *labelled_reviews(DEMO_SEED, **options), threshold)
        for name, options in HELD_OUT_SETS.items()
    }
    report = {
        "checkpoint": str(checkpoint),
        "train_seed": args.seed,
        "train_examples": len(labels),
        "train_toxic_examples": sum(labels),
        "train_seconds": round(trained_s, 1),
        "held_out_seed": DEMO_SEED,
        "held_out": held_out,
    }
    checkpoint.with_suffix(".metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {checkpoint} in {trained_s:.0f}s from {len(labels)} reviews ({sum(labels)} toxic)")
    for name, metrics in held_out.items():
        print(
            f"held-out {name} (seed {DEMO_SEED}): accuracy {metrics['accuracy']:.4f}, precision "
            f"{metrics['precision']:.3f}, recall {metrics['recall']:.3f} at threshold {threshold} on "
            f"{metrics['examples']} reviews ({metrics['toxic_examples']} toxic)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
