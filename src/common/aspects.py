"""Grounded summaries from labelled aspect mentions: the targets a summarizer is trained on where reviews
carry aspect labels, and the yardstick its answers are measured with.

A grounded summary names only what the snippets it was shown say. Where each review's mentions are
known (the sample catalogue labels every sentence that praises or blames an aspect, and the sentence
itself), the target of one context is computed, not curated:

- a mention counts only when its sentence is in the snippet's text (a snippet is a review's first chunk;
  a sentence that fell outside it, or that cleaning rewrote, was not shown);
- an aspect is a pro when more shown snippets praise it than blame it, a con when more blame it, both
  when as many do each: every claim cites the snippets that say it (at most the contract's limit, the
  first ones), and a claim's phrase is the lexicon's English phrase for the aspect as a pro or a con;
- claims are listed in the order their first evidence appears (a model reads the snippets in order);
  when there are more than the contract allows, the best supported are kept;
- the one-sentence summary weighs praise against blame by the snippets' stars (4-5 stars against 1-2),
  naming the first two pros and cons.

Answers are measured against the same labels by `common.aspect_scores`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from common.prompts import PromptContract, load_prompt

Polarity = Literal["positive", "negative"]
POSITIVE: Polarity = "positive"
NEGATIVE: Polarity = "negative"
KEY_OF: dict[str, Literal["pros", "cons"]] = {POSITIVE: "pros", NEGATIVE: "cons"}
POSITIVE_MIN_STARS, NEGATIVE_MAX_STARS = 4, 2


@dataclass(frozen=True)
class Mention:
    """One labelled sentence of a review: it praises (`positive`) or blames (`negative`) `aspect`."""

    aspect: str
    polarity: Polarity
    text: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mention:
        polarity = data["polarity"]
        if polarity not in (POSITIVE, NEGATIVE):
            raise ValueError(f"polarity {polarity!r} is neither {POSITIVE} nor {NEGATIVE}")
        return cls(str(data["aspect"]), polarity, str(data["text"]))


def fold(text: str) -> str:
    """Whitespace folded to single spaces, as the prompt shows a snippet."""
    return " ".join(text.split())


def mentions_shown(snippet_text: str, mentions: Iterable[Mention]) -> list[Mention]:
    """The mentions whose sentence the snippet's text holds."""
    shown = fold(snippet_text)
    return [m for m in mentions if fold(m.text) and fold(m.text) in shown]


@dataclass(frozen=True)
class Lexicon:
    """Aspect -> its English phrases (neutral noun phrase, as a pro, as a con)."""

    phrases: Mapping[str, Sequence[str]]

    def claim_text(self, aspect: str, polarity: Polarity) -> str:
        return str(self.phrases[aspect][1 if polarity == POSITIVE else 2])

    def noun(self, aspect: str) -> str:
        return str(self.phrases[aspect][0])

    def aspect_of(self, text: str, polarity: Polarity) -> str | None:
        """The aspect whose phrase (for that polarity) a claim's text is, case and spacing aside."""
        wanted = fold(text).casefold()
        for aspect in self.phrases:
            if fold(self.claim_text(aspect, polarity)).casefold() == wanted:
                return aspect
        return None


@dataclass(frozen=True)
class _Support:
    aspect: str
    polarity: Polarity
    evidence: tuple[int, ...]


def _limits(contract: PromptContract) -> tuple[int, int]:
    """(claims per list, citations per claim) as the contract's schema allows."""
    pros = contract.output_schema["properties"]["pros"]
    return int(pros.get("maxItems", 6)), int(pros["items"]["properties"]["evidence"].get("maxItems", 8))


def grounded_claims(
    shown: Sequence[Sequence[Mention]], contract: PromptContract | None = None
) -> list[_Support]:
    """Every aspect the shown mentions support, as a pro, a con or both, with its evidence, in order."""
    max_items, max_evidence = _limits(contract or load_prompt())
    cited: dict[tuple[str, Polarity], list[int]] = {}
    for number, mentions in enumerate(shown, start=1):
        for mention in mentions:
            numbers = cited.setdefault((mention.aspect, mention.polarity), [])
            if number not in numbers:
                numbers.append(number)
    claims = []
    for (aspect, polarity), numbers in cited.items():
        other = cited.get((aspect, NEGATIVE if polarity == POSITIVE else POSITIVE), [])
        if len(numbers) >= len(other):
            claims.append(_Support(aspect, polarity, tuple(numbers[:max_evidence])))
    kept: list[_Support] = []
    for polarity in (POSITIVE, NEGATIVE):
        side = [c for c in claims if c.polarity == polarity]
        side = sorted(side, key=lambda c: (-len(c.evidence), c.evidence))[:max_items]
        kept += sorted(side, key=lambda c: c.evidence)
    return kept


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def weighing_sentence(
    pros: Sequence[str], cons: Sequence[str], positive_snippets: int, negative_snippets: int
) -> str:
    """The summary: which side the snippets' stars favour, and the first two aspects of each side."""
    good, bad = _listing(pros[:2]) if pros else "", _listing(cons[:2]) if cons else ""
    if not pros and not cons:
        return "The reviews praise or blame nothing in particular."
    if not cons:
        return f"Buyers praise the {good} and name no drawbacks."
    if not pros:
        return f"Buyers complain about the {bad} and praise nothing in particular."
    if positive_snippets >= 2 * max(negative_snippets, 1):
        return f"Most buyers praise the {good}, though some complain about the {bad}."
    if negative_snippets >= 2 * max(positive_snippets, 1):
        return f"Most buyers complain about the {bad}, though some praise the {good}."
    return f"Opinions are divided: buyers praise the {good} but complain about the {bad}."


def grounded_target(
    snippets: Sequence[Mapping[str, Any]],
    shown: Sequence[Sequence[Mention]],
    lexicon: Lexicon,
    contract: PromptContract | None = None,
) -> dict[str, Any]:
    """The answer a faithful summarizer gives for `snippets` (each with `star_rating`), whose shown
    mentions are `shown` (one list per snippet, in order): a target of the current contract."""
    if len(snippets) != len(shown):
        raise ValueError(f"{len(snippets)} snippets but {len(shown)} lists of mentions")
    claims = grounded_claims(shown, contract)
    target: dict[str, Any] = {"pros": [], "cons": []}
    nouns: dict[str, list[str]] = {"pros": [], "cons": []}
    for claim in claims:
        key = KEY_OF[claim.polarity]
        text = lexicon.claim_text(claim.aspect, claim.polarity)
        target[key].append({"text": text, "evidence": list(claim.evidence)})
        nouns[key].append(lexicon.noun(claim.aspect))
    stars = [int(s["star_rating"]) for s in snippets]
    target["summary"] = weighing_sentence(
        nouns["pros"],
        nouns["cons"],
        sum(s >= POSITIVE_MIN_STARS for s in stars),
        sum(s <= NEGATIVE_MAX_STARS for s in stars),
    )
    return target
