"""Grounded targets and the aspect metrics: a target names only what its snippets say, cites the snippets
that say it, and the metrics fall when an answer claims, cites or misses what the labels do not back."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import pytest

from common import prompts
from common.aspect_scores import score_answer
from common.aspects import (
    NEGATIVE,
    POSITIVE,
    Lexicon,
    Mention,
    grounded_target,
    mentions_shown,
)
from sample_source import iter_labelled_reviews, sample_products
from sample_source.generator import PROFILES

SEED, PRODUCTS = 11, 90


@pytest.fixture(scope="module")
def contexts() -> list[dict]:
    """Contexts of generated products in every language: up to 13 of a product's reviews in one
    language, some cut short as a chunk would be."""
    products = {p["product_id"]: p for p in sample_products(SEED, PRODUCTS, 20)}
    reviews: dict[tuple[str, str], list] = defaultdict(list)
    for row, label in iter_labelled_reviews(
        seed=SEED, products=PRODUCTS, mean_reviews_per_product=20, defect_rate=0.0, huge=False
    ):
        reviews[(row["product_id"], label["language"])].append((row, label))
    rng = random.Random(5)
    out = []
    for (product_id, language), group in sorted(reviews.items()):
        chosen = rng.sample(group, min(13, len(group)))
        snippets, mentions = [], []
        for row, label in chosen:
            text = row["review_text"]
            if rng.random() < 0.2:  # a first chunk that ends before the review does
                text = text[: max(20, len(text) // 2)]
            snippets.append({"star_rating": label["star"], "text": text})
            mentions.append([Mention.from_dict(m) for m in label["aspects"]])
        product = products[product_id]
        out.append(
            {
                "product": product,
                "language": language,
                "snippets": snippets,
                "mentions": mentions,
                "lexicon": Lexicon(product["aspect_lexicon"]),
            }
        )
    return out


def shown_of(context: dict) -> list[list[Mention]]:
    return [
        mentions_shown(s["text"], m) for s, m in zip(context["snippets"], context["mentions"], strict=True)
    ]


def test_the_contexts_cover_every_profile_and_language(contexts: list[dict]) -> None:
    assert {c["product"]["profile"] for c in contexts} == set(PROFILES)
    assert {c["language"] for c in contexts} == {"en", "de", "fr", "es", "it", "nl"}


def test_a_grounded_target_never_names_an_aspect_its_context_does_not_mention(contexts: list[dict]) -> None:
    contract = prompts.load_prompt()
    claims = 0
    for context in contexts:
        shown = shown_of(context)
        target = grounded_target(context["snippets"], shown, context["lexicon"])
        parsed = contract.parse_summary(prompts.canonical_json(target), len(context["snippets"]))
        for key, polarity in (("pros", POSITIVE), ("cons", NEGATIVE)):
            for claim in parsed.pros if key == "pros" else parsed.cons:
                claims += 1
                aspect = context["lexicon"].aspect_of(claim.text, polarity)
                assert aspect is not None, claim
                assert claim.evidence, claim
                for number in claim.evidence:
                    snippet_text = prompts.load_prompt().user_message(context["snippets"]).splitlines()
                    line = next(line for line in snippet_text if line.startswith(f"[{number}] "))
                    said = [
                        m
                        for m in context["mentions"][number - 1]
                        if m.aspect == aspect and m.polarity == polarity
                    ]
                    # The cited snippet, as the prompt shows it, holds the sentence that says it.
                    assert said and any(" ".join(m.text.split()) in line for m in said), (claim, line)
    assert claims > 500


def test_a_sentence_cut_off_the_snippet_is_not_evidence() -> None:
    lexicon = Lexicon({"battery_life": ["battery life", "long battery life", "short battery life"]})
    said = Mention("battery_life", POSITIVE, "The battery lasts two full days.")
    snippets = [{"star_rating": 5, "text": "Great phone. The battery lasts"}]  # cut before the sentence
    target = grounded_target(snippets, [mentions_shown(snippets[0]["text"], [said])], lexicon)
    assert target["pros"] == [] and target["cons"] == []
    assert prompts.parse_summary(prompts.canonical_json(target), 1).summary


def test_polarity_follows_the_majority_of_snippets_and_a_tie_gives_both() -> None:
    lexicon = Lexicon(
        {
            "battery_life": ["battery life", "long battery life", "short battery life"],
            "screen": ["screen", "bright screen", "dim screen"],
        }
    )
    good, bad = Mention("battery_life", POSITIVE, "a"), Mention("battery_life", NEGATIVE, "b")
    bright, dim = Mention("screen", POSITIVE, "c"), Mention("screen", NEGATIVE, "d")
    snippets = [{"star_rating": s, "text": "x"} for s in (5, 1, 5, 2)]
    target = grounded_target(snippets, [[good, bright], [bad, dim], [good], [dim]], lexicon)
    assert target["pros"] == [{"text": "long battery life", "evidence": [1, 3]}]
    assert target["cons"] == [{"text": "dim screen", "evidence": [2, 4]}]
    assert target["summary"] == (
        "Opinions are divided: buyers praise the battery life but complain about the screen."
    )
    tie = grounded_target(snippets[:2], [[good], [bad]], lexicon)
    assert [c["text"] for c in tie["pros"]] == ["long battery life"]
    assert [c["text"] for c in tie["cons"]] == ["short battery life"]


def test_the_contract_limits_are_kept_with_the_best_supported_claims(contexts: list[dict]) -> None:
    schema = prompts.load_prompt().output_schema["properties"]["pros"]
    lexicon = Lexicon({f"a{i}": [f"n{i}", f"good {i}", f"bad {i}"] for i in range(9)})
    snippets = [{"star_rating": 5, "text": "x"} for _ in range(12)]
    # Aspect a0 in every snippet, a1..a8 in one each: nine pros where six are allowed.
    shown = [
        [Mention("a0", POSITIVE, "x")] + ([Mention(f"a{i}", POSITIVE, "x")] if i < 9 else [])
        for i in range(12)
    ]
    shown[0] = [Mention("a0", POSITIVE, "x")]
    target = grounded_target(snippets, shown, lexicon)
    assert len(target["pros"]) == schema["maxItems"]
    assert target["pros"][0] == {"text": "good 0", "evidence": list(range(1, 9))}  # at most 8 cited
    firsts = [c["evidence"][0] for c in target["pros"]]
    assert firsts == sorted(firsts)


def test_the_grounded_target_scores_full_marks_and_each_fault_lowers_its_metric(contexts: list[dict]) -> None:
    context = next(c for c in contexts if c["product"]["profile"] == "polarized" and len(c["snippets"]) >= 8)
    shown, lexicon = shown_of(context), context["lexicon"]
    target = grounded_target(context["snippets"], shown, lexicon)
    assert target["pros"] and target["cons"]
    exact = score_answer(prompts.parse_summary(prompts.canonical_json(target)), shown, target, lexicon)
    assert (exact.precision, exact.recall, exact.evidence_validity) == (1.0, 1.0, 1.0)

    mentioned = {m.aspect for ms in shown for m in ms}
    absent = next(a for a in lexicon.phrases if a not in mentioned)
    invented = json.loads(prompts.canonical_json(target))
    invented["pros"].append({"text": lexicon.claim_text(absent, POSITIVE), "evidence": [1]})
    score = score_answer(prompts.parse_summary(json.dumps(invented)), shown, target, lexicon)
    assert score.precision < 1.0 and score.evidence_validity < 1.0 and score.recall == 1.0

    missing = {**target, "cons": []}
    score = score_answer(prompts.parse_summary(json.dumps(missing)), shown, target, lexicon)
    assert score.recall < 1.0 and score.precision == 1.0

    wrong = json.loads(prompts.canonical_json(target))
    first = wrong["pros"][0]
    uncited = [n for n in range(1, len(shown) + 1) if n not in first["evidence"]]
    cited_wrong = next(
        n
        for n in uncited
        if not any(
            m.polarity == POSITIVE and lexicon.aspect_of(first["text"], POSITIVE) == m.aspect
            for m in shown[n - 1]
        )
    )
    first["evidence"] = [cited_wrong]
    score = score_answer(prompts.parse_summary(json.dumps(wrong)), shown, target, lexicon)
    assert score.evidence_validity < 1.0 and score.precision == 1.0

    flipped = {**target, "pros": [{**c} for c in target["cons"]], "cons": [{**c} for c in target["pros"]]}
    score = score_answer(prompts.parse_summary(json.dumps(flipped)), shown, target, lexicon)
    assert score.precision < 0.5 and score.recall < 0.5


def test_a_phrase_outside_the_lexicon_is_unsupported() -> None:
    lexicon = Lexicon({"battery_life": ["battery life", "long battery life", "short battery life"]})
    shown = [[Mention("battery_life", POSITIVE, "x")]]
    answer = prompts.parse_summary(
        '{"pros":[{"text":"Long  Battery life","evidence":[1]},{"text":"great value","evidence":[1]}],'
        '"cons":[],"summary":"Fine."}'
    )
    score = score_answer(answer, shown, {"pros": [{"text": "long battery life"}], "cons": []}, lexicon)
    assert (score.claims, score.supported, score.recalled) == (2, 1, 1)
    assert score.unknown_phrases == ["great value"]
