"""The gate's evaluation set: its file format, the set the sample generator writes, and the metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from common.settings import RetrievalEvalSettings, get_settings
from pipelines.embedding.retrieval_eval import (
    EvalQuery,
    load_eval_set,
    parse_eval_set,
    score,
)
from sample_source.retrieval_queries import aspect_queries
from sample_source.vocab import ASPECT_PHRASES


def test_a_set_lists_relevant_reviews_or_grades_them():
    lines = [
        json.dumps({"query": "short battery life", "language": "en", "relevant": ["r1", "r2"]}),
        "",
        json.dumps({"query": "Akku hält nicht", "language": "de", "relevant": {"r3": 2, "r4": 1, "r5": 0}}),
        json.dumps({"query": "any language", "relevant": ["r6"]}),
    ]
    assert parse_eval_set(lines, "set.jsonl") == [
        EvalQuery("short battery life", "en", {"r1": 1, "r2": 1}),
        EvalQuery("Akku hält nicht", "de", {"r3": 2, "r4": 1}),
        EvalQuery("any language", None, {"r6": 1}),
    ]


@pytest.mark.parametrize(
    "line",
    [
        '{"query": "x"}',
        '{"query": "", "relevant": ["r1"]}',
        '{"query": "x", "relevant": {"r1": 0}}',
        "not json",
    ],
)
def test_a_malformed_line_is_an_error_naming_it(line):
    with pytest.raises(ValueError, match=r"set.jsonl:2"):
        parse_eval_set([json.dumps({"query": "ok", "relevant": ["r1"]}), line], "set.jsonl")


def test_sample_labels_give_one_aspect_query_per_polarity_graded_by_verdict():
    labels = [
        {"review_id": "a", "language": "en", "aspects": [{"aspect": "battery_life", "polarity": "negative"}]},
        {"review_id": "b", "language": "en", "aspects": [{"aspect": "battery_life", "polarity": "positive"}]},
        {"review_id": "c", "language": "de", "aspects": [{"aspect": "battery_life", "polarity": "negative"}]},
        {"review_id": None, "language": "en", "aspects": [{"aspect": "delivery", "polarity": "negative"}]},
        {"review_id": "d", "language": "en", "aspects": []},
    ]
    _, pro, con = ASPECT_PHRASES["battery_life"]
    written = [json.dumps(query) for query in aspect_queries(labels)]
    # What the generator writes is a set in the gate's own format.
    assert parse_eval_set(written, "retrieval_queries.jsonl") == [
        EvalQuery(pro, "en", {"a": 1, "b": 2}),
        EvalQuery(con, "en", {"a": 2, "b": 1}),
    ]


def test_a_missing_set_is_an_error(tmp_path):
    config = RetrievalEvalSettings(source="file", uri=str(tmp_path / "missing.jsonl"))
    with pytest.raises(FileNotFoundError, match=r"missing\.jsonl"):
        load_eval_set(config, get_settings(), tmp_path)
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"query": "q", "relevant": ["r1"]}) + "\n", encoding="utf-8")
    config = RetrievalEvalSettings(source="file", uri=str(path))
    assert load_eval_set(config, get_settings(), Path(tmp_path)) == [EvalQuery("q", None, {"r1": 1})]


def test_ndcg_recall_and_mrr_with_graded_relevance():
    query = EvalQuery("q", "en", {"a": 2, "b": 2, "c": 1})
    # Ranked: c (grade 1), x (0), a (2); k = 3.
    dcg = (2**1 - 1) / math.log2(2) + (2**2 - 1) / math.log2(4)
    ideal = (2**2 - 1) / math.log2(2) + (2**2 - 1) / math.log2(3) + (2**1 - 1) / math.log2(4)
    metrics = score([query], [["c", "x", "a"]], k=3)
    assert metrics["ndcg_at_k"] == pytest.approx(dcg / ideal)
    assert metrics["recall_at_k"] == pytest.approx(1 / 2)  # one of the two grade-2 reviews
    assert metrics["mrr"] == pytest.approx(1 / 3)  # the first grade-2 review is third
    perfect = score([query], [["a", "b", "c"]], k=3)
    assert perfect == {"ndcg_at_k": pytest.approx(1.0), "recall_at_k": 1.0, "mrr": 1.0}
    # Recall is out of at most k: five relevant reviews, two slots, both right.
    many = EvalQuery("q", None, {r: 1 for r in "abcde"})
    assert score([many, query], [["a", "b"], ["x", "y"]], k=2) == {
        "ndcg_at_k": pytest.approx(0.5),
        "recall_at_k": pytest.approx(0.5),
        "mrr": pytest.approx(0.5),
    }


def test_judgements_about_reviews_the_index_lacks_are_dropped():
    query = EvalQuery("q", "en", {"a": 2, "b": 1})
    assert query.judged_on({"b", "z"}) == EvalQuery("q", "en", {"b": 1})
    assert query.judged_on({"z"}) is None
