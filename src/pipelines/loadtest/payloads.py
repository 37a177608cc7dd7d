"""Summarizer-shaped chat-completion requests, synthesized deterministically, and the check of an answer.

A request is the one batch inference sends, built by the serving client's `summary_request`: the
summarizer's prompt contract (`common.prompts`, the versioned `prompts/summarize_reviews.yaml`: a system
instruction asking for JSON `pros`, `cons` and a one-sentence `summary`, the numbered review snippets, and
the answer's JSON schema as structured output) over 10-15 snippets of one product, of varying
length, in the marketplace's six languages. The snippets are the sample generator's clean reviews, never
real review data, read from `load_test.payloads_file` (written by `python -m sample_source.payloads`), so
the load test needs no data access, does not run the generator, and sends the same sequence of bodies
for the same seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.prompts import PromptContract, load_prompt
from common.serving.client import summary_request

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"

# Failure messages: Locust groups failures by message, so they carry no request-specific text.
WARMING_UP = "HTTP 503: service unavailable (scaled to zero or still warming up)"
NO_CONTENT = "HTTP 200 without choices[0].message.content"


@dataclass(frozen=True)
class Snippet:
    text: str
    star_rating: int
    language: str

    def as_prompt_input(self) -> dict[str, Any]:
        return {"text": self.text, "star_rating": self.star_rating}


REBUILD = "rebuild it with `python -m sample_source.payloads` (make load-test does)"


def snippet_corpus(
    payloads_file: str | Path, seed: int, products: int, min_snippets: int
) -> list[tuple[Snippet, ...]]:
    """The file's clean reviews of `products` products for `seed`, one tuple per product in product id
    order; only products with at least `min_snippets` reviews are kept, so any request size can be drawn
    without repeats. A missing file, or one made for another seed or product count, is an error: the
    bodies would not be the ones the settings promise."""
    path = Path(payloads_file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        made_for = (document["seed"], document["products"])
        grouped = {
            product: [Snippet(str(s["text"]), int(s["star_rating"]), str(s["language"])) for s in snippets]
            for product, snippets in document["snippets"].items()
        }
    except FileNotFoundError:
        raise ValueError(f"load-test payloads not found: {path}; {REBUILD}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a load-test payloads file ({exc}); {REBUILD}") from exc
    if made_for != (seed, products):
        raise ValueError(
            f"{path} holds the snippets of seed {made_for[0]} and {made_for[1]} products, but load_test "
            f"asks for seed {seed} and {products} products (corpus_products); {REBUILD}"
        )
    corpus = [tuple(snippets) for _, snippets in sorted(grouped.items()) if len(snippets) >= min_snippets]
    if not corpus:
        raise ValueError(f"no sample product has {min_snippets} reviews; raise load_test.corpus_products")
    return corpus


class RequestFactory:
    """Request bodies by sequence number: body(i) is the same in every process for the same settings."""

    def __init__(
        self,
        model: str,
        *,
        seed: int,
        payloads_file: str | Path,
        corpus_products: int,
        snippets: tuple[int, int],
        max_tokens: int,
        temperature: float,
        prompt: PromptContract | None = None,
    ) -> None:
        self.model = model
        self.seed = seed
        self.snippets = snippets
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.prompt = prompt or load_prompt()
        self.corpus = snippet_corpus(payloads_file, seed, corpus_products, snippets[1])

    def snippets_of(self, index: int) -> list[Snippet]:
        """The snippets of request `index`: one product's, 10-15 of them (`snippets`), in drawn order."""
        rng = random.Random(f"{self.seed}:{index}")  # str seeds hash with SHA-512: stable across processes
        product = rng.choice(self.corpus)
        return rng.sample(product, rng.randint(*self.snippets))

    def body(self, index: int) -> dict[str, Any]:
        """The body batch inference sends (`common.serving.client.summary_request`), structured-output
        schema included: the server compiles and enforces the same grammar under load."""
        return summary_request(
            self.model,
            [s.as_prompt_input() for s in self.snippets_of(index)],
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            prompt=self.prompt,
        )


def response_problem(status: int, body: bytes, error: BaseException | None = None) -> str | None:
    """Why an answer counts as a failure, or None when it is a usable chat completion."""
    if status == 0:
        return f"no response: {type(error).__name__ if error else 'connection failed'}"
    if status == 503:
        return WARMING_UP
    if status != 200:
        return f"HTTP {status}"
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return NO_CONTENT
    return None if isinstance(content, str) and content.strip() else NO_CONTENT
