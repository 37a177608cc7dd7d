"""What monitoring counts, samples and calls a breach, on hand-written lineage records: no models."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from common import storage
from common.settings import Settings, get_settings
from pipelines.monitoring.sample import context_profile, stratified_sample, tally
from pipelines.monitoring.verdict import METRICS_FILE, breach_evidence, breaches, daily_uri, judge

DAY = date(2026, 12, 2)
HEALTHY = {"faithfulness": 0.93, "toxicity_rate": 0.0, "pii_rate": 0.0, "format_failure_rate": 0.01}


def rec(
    key: str,
    *,
    language: str = "en",
    stars: list[int] | None = None,
    reasons: list[str] | None = None,
    answer: bool = True,
) -> dict[str, Any]:
    return {
        "lineage_key": key,
        "language": language,
        "status": "failed" if reasons else "summarized",
        "reasons": reasons or [],
        "snippet_stars": stars if stars is not None else [5, 5, 4, 1],
        "answer_json": '{"pros": [], "cons": [], "summary": "x."}' if answer else None,
    }


@pytest.mark.parametrize(
    ("stars", "profile"),
    [
        ([5, 5, 4, 5, 3], "mostly_positive"),
        ([1, 2, 1, 1, 5], "mostly_negative"),
        ([5, 5, 1, 1, 3], "polarized"),
        ([3, 3, 4, 2, 3], "mixed"),
        ([], "mixed"),
    ],
)
def test_a_context_profile_is_read_from_the_stars_the_model_was_shown(stars, profile) -> None:
    assert context_profile(stars) == profile


def test_every_record_is_counted_once_by_who_is_to_blame() -> None:
    records = [
        rec("ok-1"),
        rec("ok-2"),
        rec("garbled", reasons=["not_json"], answer=False),
        rec("cut", reasons=["truncated"], answer=False),
        rec("ungrounded", reasons=["ungrounded", "evidence_invalid"]),
        rec("leak", reasons=["pii"]),
        rec("down", reasons=["unavailable"], answer=False),
    ]
    counts = tally(records)
    assert counts["records"] == 7 and counts["summarized"] == 2
    assert (counts["format_failures"], counts["guardrail_rejections"], counts["serving_failures"]) == (
        2,
        2,
        1,
    )
    # Rates are over responses: a request the service never answered is no format failure.
    assert counts["responses"] == 6 and counts["format_failure_rate"] == pytest.approx(2 / 6)
    assert counts["reasons"] == {
        "evidence_invalid": 1,
        "not_json": 1,
        "pii": 1,
        "truncated": 1,
        "unavailable": 1,
        "ungrounded": 1,
    }
    assert tally([])["format_failure_rate"] is None


def test_the_sample_takes_every_answer_of_a_small_stratum_and_caps_a_large_one() -> None:
    records = [rec(f"en-{i}") for i in range(30)]  # en, mostly positive
    records += [rec(f"de-{i}", language="de", stars=[5, 1, 1, 5]) for i in range(2)]  # de, polarized
    records += [rec("no-answer", reasons=["not_json"], answer=False)]
    sample = stratified_sample(records, per_stratum=5, seed=0)
    keys = [r["lineage_key"] for r in sample]
    assert sum(k.startswith("en-") for k in keys) == 5
    assert {k for k in keys if k.startswith("de-")} == {"de-0", "de-1"}
    assert "no-answer" not in keys  # nothing to score
    assert keys == [r["lineage_key"] for r in stratified_sample(list(reversed(records)), 5, 0)]
    assert keys != [r["lineage_key"] for r in stratified_sample(records, 5, 1)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings("local").model_copy(update={"lake_uri": f"file://{tmp_path / 'lake'}"})


def bars(settings: Settings):
    assert settings.thresholds.monitoring is not None
    return settings.thresholds.monitoring


def test_a_healthy_day_breaches_nothing(settings) -> None:
    assert breaches(HEALTHY, bars(settings), [], 3) == []
    assert breaches({**HEALTHY, "faithfulness": None}, bars(settings), [], 3) == []  # not measured


@pytest.mark.parametrize(
    ("change", "metric"),
    [
        ({"faithfulness": 0.5}, "faithfulness"),
        ({"toxicity_rate": 0.05}, "toxicity_rate"),
        ({"pii_rate": 0.004}, "pii_rate"),  # any personal data in a summary is critical
    ],
)
def test_what_would_hurt_a_shopper_is_critical_at_once(settings, change, metric) -> None:
    [breach] = breaches({**HEALTHY, **change}, bars(settings), [], 3)
    assert (breach.metric, breach.severity) == (metric, "critical")


def test_a_warning_that_persists_becomes_critical(settings) -> None:
    garbled = {**HEALTHY, "format_failure_rate": 0.2}
    [first] = breaches(garbled, bars(settings), [HEALTHY, garbled], 3)
    assert (first.severity, first.days) == ("warning", 1)
    [second] = breaches(garbled, bars(settings), [garbled, HEALTHY], 3)
    assert (second.severity, second.days) == ("warning", 2)
    [third] = breaches(garbled, bars(settings), [garbled, garbled], 3)
    assert (third.severity, third.days) == ("critical", 3)
    [gap] = breaches(garbled, bars(settings), [garbled, None], 3)  # a day not monitored breaks the run
    assert gap.severity == "warning"


def test_judge_reads_the_days_before_from_the_lake_and_writes_the_day(settings) -> None:
    garbled = {**HEALTHY, "format_failure_rate": 0.2}
    for back in (1, 2):
        earlier = date.fromordinal(DAY.toordinal() - back)
        storage.write_json(
            storage.join(daily_uri(settings.lake_uri, earlier), METRICS_FILE), {"metrics": garbled}
        )
    verdict = judge(settings, DAY, garbled)
    assert verdict["warnings"] == [] and len(verdict["critical"]) == 1
    assert (
        "format_failure_rate 0.2 is above its ceiling 0.02 (critical, 3 days running)" in verdict["critical"]
    )
    assert storage.read_json(verdict["metrics_uri"])["critical"] == verdict["critical"]
    evidence = breach_evidence(verdict)
    assert evidence["day"] == "2026-12-02" and evidence["breaches"][0]["metric"] == "format_failure_rate"
