"""The batch's output guardrails with the real scorers: each rejects what it exists to reject."""

from __future__ import annotations

import json

import pytest

from common.prompts import parse_summary
from common.settings import get_settings
from pipelines.batch.guard import GuardInput, Guardrails

SNIPPETS = [
    "The battery life is long and the screen is bright. Great phone overall.",
    "The case is flimsy and cracked after a week.",
]


def answer(pros: list, cons: list, summary: str = "Buyers like the battery but not the case."):
    return parse_summary(
        json.dumps(
            {
                "pros": [{"text": t, "evidence": e} for t, e in pros],
                "cons": [{"text": t, "evidence": e} for t, e in cons],
                "summary": summary,
            }
        ),
        len(SNIPPETS),
    )


@pytest.fixture(scope="module")
def guardrails() -> Guardrails:
    return Guardrails.from_settings(get_settings("local"))


def with_pii(guardrails: Guardrails, action: str) -> Guardrails:
    return Guardrails(
        guardrails.grounding,
        guardrails.pii,
        guardrails.toxicity,
        min_grounding=guardrails.min_grounding,
        min_evidence_validity=guardrails.min_evidence_validity,
        max_toxicity=guardrails.max_toxicity,
        pii_action=action,  # type: ignore[arg-type]
    )


def test_a_grounded_answer_passes_with_its_numbers(guardrails) -> None:
    [verdict] = guardrails.check(
        [GuardInput(answer([("long battery life", [1])], [("flimsy case", [2])]), SNIPPETS, "en")]
    )
    assert verdict.passed and verdict.reasons == []
    assert (verdict.grounding, verdict.evidence_validity) == (1.0, 1.0)
    assert verdict.support == [[1], [2]] and verdict.toxicity is not None and verdict.toxicity < 0.5


def test_claims_the_snippets_do_not_make_are_ungrounded(guardrails) -> None:
    made_up = answer([("fast charging", [1]), ("waterproof", [1])], [("loud speaker", [2])])
    [verdict] = guardrails.check([GuardInput(made_up, SNIPPETS, "en")])
    assert "ungrounded" in verdict.reasons and verdict.grounding == 0.0


def test_true_claims_citing_the_wrong_reviews_have_invalid_evidence(guardrails) -> None:
    swapped = answer([("long battery life", [2])], [("flimsy case", [1])])
    [verdict] = guardrails.check([GuardInput(swapped, SNIPPETS, "en")])
    assert verdict.reasons == ["evidence_invalid"] and verdict.grounding == 1.0


def test_personal_data_in_an_answer_is_rejected_or_redacted_by_configuration(guardrails) -> None:
    leaky = answer([("long battery life", [1])], [], "Write to anna.schmidt@example.com for a refund.")
    [rejected] = with_pii(guardrails, "reject").check([GuardInput(leaky, SNIPPETS, "en")])
    assert rejected.reasons == ["pii"] and rejected.pii_found == ["EMAIL_ADDRESS"]
    [redacted] = with_pii(guardrails, "redact").check([GuardInput(leaky, SNIPPETS, "en")])
    assert redacted.passed and redacted.pii_found == ["EMAIL_ADDRESS"]
    assert "anna.schmidt" not in redacted.summary.summary and "<EMAIL_ADDRESS>" in redacted.summary.summary


def test_a_toxic_answer_is_rejected(guardrails) -> None:
    toxic = answer(
        [("long battery life", [1])], [], "You are a stupid idiot and this garbage seller should die"
    )
    [verdict] = guardrails.check([GuardInput(toxic, SNIPPETS, "en")])
    assert "toxic" in verdict.reasons and verdict.toxicity >= guardrails.max_toxicity
