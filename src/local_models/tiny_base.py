"""A tiny random-weight model of the production family, built offline, for tests that need shapes.

It loads, trains, serves and answers like the real thing, but says nothing: tests of the training job,
registration and serving use it where only the plumbing is under test. The `local` profile's summarizer
base is `local_models.summarizer_base`, a model of the same family trained to do the task.

No model hub is reachable, so nothing here downloads. The result is an ordinary Hugging Face model
folder (`config.json`, `model.safetensors`, `generation_config.json`, `tokenizer.json`, and
`tokenizer_config.json` with the chat template) written with `save_pretrained`, so the code that loads
it (`AutoModelForCausalLM` / `AutoTokenizer.from_pretrained`, PEFT, the local server) is the code that
loads the production base model.

- The architecture is `LlamaForCausalLM` with grouped-query attention and tied embeddings: the layout of
  the production model (Qwen2.5-Instruct's Qwen2 is Llama's with biases on q/k/v), with the same
  projection names (`q_proj` ... `down_proj`) that LoRA targets. The weights are random.
- The tokenizer is byte-level BPE (Qwen's and Llama 3's kind: any text, emoji included, encodes without
  an unknown token), trained here with the `tokenizers` library on text generated from
  `sample_source` (reviews in the six languages), grounded answers as JSON, and the prompt
  contract's own text.
- The special tokens and chat template are ChatML, as Qwen2.5-Instruct's: `<|im_start|>role\\n...
  <|im_end|>\\n`, EOS `<|im_end|>`, padding `<|endoftext|>`, no BOS.

Everything derives from the seed (the generator's data, torch's initialisation; the BPE trainer is
deterministic for the same texts), so the same seed writes the same files.

    python -m local_models.tiny_base --out .local/models/base/tiny-llama --seed 0
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from common import prompts
from common.aspects import Lexicon, Mention, grounded_target

# The tiny model's shape: small enough to train for a test on two CPU cores in seconds.
VOCAB_SIZE = 4096
ARCHITECTURE: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 176,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,  # grouped-query attention, as the production model
    # Wider heads than hidden_size / heads (16): vLLM's CPU attention (the local server) runs only head
    # sizes 64 and 128, as production models have. Set explicitly, so transformers and vLLM both read it
    # from config.json rather than derive it; q_proj and o_proj are 64 x 256 for it.
    "head_dim": 64,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    # 1/sqrt(hidden_size), not Llama's 0.02 (sized for hidden 4096): with 0.02 the frozen random output
    # embeddings of a 64-wide model give near-equal logits whatever the hidden state, and no adapter
    # could learn anything visible. At this scale LoRA moves the loss within a few dozen steps.
    "initializer_range": 0.125,
}
# ChatML, as Qwen2.5-Instruct: the first token is the padding/end-of-text token.
PAD_TOKEN = "<|endoftext|>"
TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, TURN_START, TURN_END)
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
# Tokenizer training text drawn from the sample generator (its review texts and ground truth).
CORPUS_PRODUCTS = 120
CORPUS_REVIEWS_PER_PRODUCT = 20
SNIPPETS_PER_PROMPT = 8
JSON_PUNCTUATION = (
    '{"pros":[{"text":"',
    '","evidence":[',
    "]},{",
    ']}],"cons":[{"text":"',
    ']}],"summary":"',
    '"}',
    "[]",
    "\\n",
    '\\"',
)


def corpus(seed: int) -> Iterator[str]:
    """The texts the vocabulary is learned from: reviews in six languages, answers and prompts."""
    from sample_source import iter_labelled_reviews, sample_products

    products = {
        p["product_id"]: p for p in sample_products(seed, CORPUS_PRODUCTS, CORPUS_REVIEWS_PER_PRODUCT)
    }
    contract = prompts.load_prompt()
    snippets: dict[str, list[dict[str, Any]]] = {}
    mentions: dict[str, list[list[Mention]]] = {}
    for row, label in iter_labelled_reviews(
        seed=seed,
        products=CORPUS_PRODUCTS,
        mean_reviews_per_product=CORPUS_REVIEWS_PER_PRODUCT,
        defect_rate=0.0,
        huge=False,
    ):
        yield row["review_text"]
        group = snippets.setdefault(row["product_id"], [])
        if len(group) < SNIPPETS_PER_PROMPT:
            group.append({"star_rating": label["star"], "text": row["review_text"]})
            mentions.setdefault(row["product_id"], []).append(
                [Mention.from_dict(m) for m in label["aspects"]]
            )
    for product_id, group in snippets.items():
        # The whole chat as the template renders it, so the template's own text is in the vocabulary.
        for message in contract.messages(group):
            yield f"{TURN_START}{message['role']}\n{message['content']}{TURN_END}\n"
        lexicon = Lexicon(products[product_id]["aspect_lexicon"])
        answer = grounded_target(group, mentions[product_id], lexicon)
        yield f"{TURN_START}assistant\n{prompts.canonical_json(answer)}"
    yield from JSON_PUNCTUATION


def train_tokenizer(texts: Iterator[str] | Sequence[str], vocab_size: int = VOCAB_SIZE) -> Any:
    """A byte-level BPE `PreTrainedTokenizerFast` with ChatML special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=TURN_END,
        pad_token=PAD_TOKEN,
        chat_template=CHAT_TEMPLATE,
        model_max_length=ARCHITECTURE["max_position_embeddings"],
        clean_up_tokenization_spaces=False,
    )


def new_model(tokenizer: Any, seed: int, architecture: Mapping[str, Any] | None = None) -> Any:
    """A randomly initialised `LlamaForCausalLM` for `tokenizer`, its ids for EOS and padding set;
    this module's tiny shapes unless `architecture` gives others."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    eos_id, pad_id = tokenizer.convert_tokens_to_ids([TURN_END, PAD_TOKEN])
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        **(ARCHITECTURE if architecture is None else architecture),
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=None)
    return model


def build(out_dir: str | Path, seed: int = 0, vocab_size: int = VOCAB_SIZE) -> Path:
    """Write the tiny model folder to `out_dir`; returns it. The same seed writes the same files."""
    out = Path(out_dir)
    # Written beside the target and moved over it: an interrupted build never looks like a model.
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = train_tokenizer(corpus(seed), vocab_size=vocab_size)
    model = new_model(tokenizer, seed)
    model.save_pretrained(partial, safe_serialization=True)
    # The chat template inside tokenizer_config.json, as the production model's repository has it.
    tokenizer.save_pretrained(partial, save_jinja_files=False)
    shutil.rmtree(out, ignore_errors=True)
    partial.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="the model folder to write")
    parser.add_argument("--seed", type=int, default=0, help="sample data and weight initialisation seed")
    parser.add_argument("--vocab-size", type=int, default=VOCAB_SIZE)
    args = parser.parse_args(argv)
    out = build(args.out, seed=args.seed, vocab_size=args.vocab_size)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    size = (out / "model.safetensors").stat().st_size
    print(
        f"wrote {out}: {config['architectures'][0]}, vocabulary {config['vocab_size']}, "
        f"hidden {config['hidden_size']} x {config['num_hidden_layers']} layers, {size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
