"""The SFT dataset builder: decontamination, stratification, the by-product split, the gate and DVC."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common import storage
from common.aspects import Lexicon
from common.data_versioning import DataRegistry
from common.prompts import answer_dict, canonical_json, load_prompt
from common.settings import get_settings
from common.step_entrypoint import EXIT_OK, EXIT_QUALITY_GATE
from common.vector_store import Filters, TopQuery
from pipelines.training import context, dataset, golden, split
from pipelines.training import train as training


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_dataset(root: Path, golden_version: str, *extra: str) -> tuple[int, dict[str, Any]]:
    args = [
        "--golden-version",
        golden_version,
        "--output-uri",
        str(root / "out"),
        "--data-docs-uri",
        str(root / "docs"),
        "--result-uri",
        str(root / "result.json"),
        *extra,
    ]
    code = dataset.main(args)
    return code, storage.read_json(str(root / "result.json"))


@pytest.fixture(scope="module")
def sft_contaminated(sft_world, sft_make_record, tmp_path_factory) -> dict[str, Any]:
    """A golden set built from the world, then two of its snippets copied under products outside it:
    one near copy (a few words added) and one exact copy (other case and spacing), both the most helpful
    reviews of their product, so the balanced context picks them."""
    out = tmp_path_factory.mktemp("sft-golden") / "golden"
    assert golden.main(["--output-uri", str(out), "--result-uri", str(out) + ".json"]) == EXIT_OK
    golden_result = storage.read_json(str(out) + ".json")
    golden_rows = read_rows(out / "golden.jsonl")
    golden_products = {r["product_id"] for r in golden_rows}

    source = golden_rows[0]
    language, text = source["language"], source["snippets"][0]["text"]
    references = read_rows(Path(sft_world.references_uri))
    store, index = sft_world.store, sft_world.index
    hosts = [
        r["product_id"]
        for r in references
        if r["product_id"] not in golden_products
        and r["profile"] in ("mostly_negative", "polarized")
        and store.count(index, Filters(product_ids=r["product_id"], languages=language)) >= 4
    ][:2]
    assert len(hosts) == 2
    when = datetime(2026, 11, 19, 12, tzinfo=UTC)
    near_text, exact_text = f"{text} Honestly, that sums it up.", "  " + text.upper().replace(" ", "  ")
    near = sft_make_record("planted-near", hosts[0], near_text, 1, language, when, helpful_votes=999)
    exact = sft_make_record("planted-exact", hosts[1], exact_text, 1, language, when, helpful_votes=999)
    store.upsert(index, [near, exact])
    return {
        "golden_version": golden_result["dvc"]["tag"],
        "golden_products": golden_products,
        "planted": {"planted-near", "planted-exact"},
        "hosts": hosts,
    }


@pytest.fixture(scope="module")
def sft_built(sft_contaminated, tmp_path_factory) -> tuple[dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("sft-built")
    code, result = run_dataset(root, sft_contaminated["golden_version"])
    assert code == EXIT_OK, result.get("error")
    return result, root


def test_golden_products_and_copies_of_golden_reviews_are_removed_and_counted(sft_contaminated, sft_built):
    result, root = sft_built
    rows = read_rows(root / "out" / "train" / "train.jsonl") + read_rows(
        root / "out" / "validation" / "validation.jsonl"
    )
    accounting = result["accounting"]

    # Every golden product is in the references (the generator's ground truth) and none is trained on.
    assert accounting["products"]["removed"]["golden_product"] == len(sft_contaminated["golden_products"])
    assert not {r["product_id"] for r in rows} & sft_contaminated["golden_products"]
    # The planted copies were retrieved for their hosts, and dropped as near and exact copies.
    assert accounting["snippets"]["removed"]["golden_near_duplicate"] >= 1
    assert accounting["snippets"]["removed"]["golden_exact_duplicate"] >= 1
    assert not {s["review_id"] for r in rows for s in r["snippets"]} & sft_contaminated["planted"]
    assert set(sft_contaminated["hosts"]) <= {r["product_id"] for r in rows}
    # Nothing silently lost, at every level.
    for level in ("products", "examples", "snippets"):
        tally = accounting[level]
        assert tally["in"] == tally["kept"] + sum(tally["removed"].values()), level
    originals = [r for r in rows if r["repeat"] == 0]
    assert accounting["examples"]["kept"] == len(originals)
    assert accounting["snippets"]["kept"] == sum(len(r["snippets"]) for r in originals)
    assert accounting["oversampled_copies"] == len(rows) - len(originals)


def test_training_data_is_stratified_and_split_by_product(sft_built):
    result, root = sft_built
    settings = get_settings()
    sft, gates = settings.sft, settings.thresholds.sft_dataset
    train = read_rows(root / "out" / "train" / "train.jsonl")
    validation = read_rows(root / "out" / "validation" / "validation.jsonl")

    profiles = Counter(r["profile"] for r in train)
    for profile, floor in gates.min_profile_share.items():
        assert profiles[profile] / len(train) >= floor, profile
    for split_rows in (train, validation):
        shares = Counter(r["profile"] for r in split_rows)
        for profile, cap in gates.max_profile_share.items():
            assert shares[profile] / len(split_rows) <= cap, profile
    languages = Counter(r["language"] for r in train)
    assert set(languages) == set(settings.ingestion.languages)
    assert result["mix"]["train"] == {
        "language": dict(sorted(languages.items())),
        "profile": dict(sorted(profiles.items())),
    }

    # Copies are of rarer profiles only, at most max_copies in all, with ids of their own.
    copies = [r for r in train if r["repeat"] > 0]
    assert copies and {r["profile"] for r in copies} <= set(gates.min_profile_share)
    assert max(r["repeat"] for r in copies) < sft.max_copies
    assert len({r["example_id"] for r in train + validation}) == len(train) + len(validation)

    # The split is by product, decided by the product id's hash alone.
    assert validation and not {r["product_id"] for r in train} & {r["product_id"] for r in validation}
    for row in train + validation:
        assert row["split"] == split.split_of(row["product_id"], sft.split_seed, sft.validation_share)

    # What the trainer reads: the contract parses every target, and renders every context.
    contract = load_prompt()
    for channel, split_rows in (("training", train), ("validation", validation)):
        folder = Path(result[f"{channel.removesuffix('ing')}_channel_uri"])
        read = training.read_rows(training.data_file(folder, channel), contract)
        assert [r.example_id for r in read] == [r["example_id"] for r in split_rows]
    for row in train + validation:
        parsed = contract.parse_summary(canonical_json(row["target"]), len(row["snippets"]))
        assert answer_dict(parsed)["pros"] == row["target"]["pros"]
        assert contract.messages(row["snippets"])[1]["content"]
        assert gates.min_context_snippets <= len(row["snippets"])


def test_every_target_is_grounded_in_its_own_context_and_the_card_counts_them(sft_built):
    """No target names what its snippets do not say: each claim cites snippets whose labelled mentions
    (the ones the snippet's text shows) have the claim's aspect and polarity, in every language."""
    result, root = sft_built
    rows = read_rows(root / "out" / "train" / "train.jsonl") + read_rows(
        root / "out" / "validation" / "validation.jsonl"
    )
    claims = 0
    for row in rows:
        assert row["source"] == "aspect_labels"
        lexicon = Lexicon(row["aspect_lexicon"])
        for key, polarity in (("pros", "positive"), ("cons", "negative")):
            for claim in row["target"][key]:
                claims += 1
                aspect = lexicon.aspect_of(claim["text"], polarity)
                assert aspect is not None, claim
                for number in claim["evidence"]:
                    said = row["snippets"][number - 1]["aspects"]
                    assert {"aspect": aspect, "polarity": polarity} in said, (row["example_id"], claim)
    assert claims >= len(rows)
    originals = [r for r in rows if r["repeat"] == 0]
    targets = result["targets"]
    assert targets["source"] == "aspect_labels" and targets["examples"] == len(originals)
    assert targets["claims"] == sum(len(r["target"]["pros"]) + len(r["target"]["cons"]) for r in originals)
    assert targets["unlabelled_snippets"] == 0


def test_the_dag_plan_rebuilds_the_same_version_and_pins_it_only_with_its_golden_set(
    sft_contaminated, sft_built, sft_tags, tmp_path
):
    first, first_root = sft_built
    golden_tag = sft_contaminated["golden_version"]
    # The fine-tuning DAG's plan: the golden step's result names the golden version.
    storage.write_json(str(tmp_path / "golden.json"), {"dvc": {"tag": golden_tag}})
    plan = {"dataset_uri": str(tmp_path / "run" / "sft"), "golden_result_uri": str(tmp_path / "golden.json")}
    storage.write_json(str(tmp_path / "plan.json"), plan)
    code = dataset.main(["--plan-uri", str(tmp_path / "plan.json"), "--result-uri", str(tmp_path / "r.json")])
    again = storage.read_json(str(tmp_path / "r.json"))
    assert code == EXIT_OK and again["pinned"] is False
    assert again["dvc"] == first["dvc"] and again["dataset_version"] == first["dvc"]["tag"]
    assert sft_tags("sft/") == [first["dvc"]["tag"]]
    assert (tmp_path / "run" / "sft_data_docs" / "index.html").is_file()

    settings = get_settings()
    fetched = DataRegistry.from_settings(settings).fetch(
        "sft/summaries", first["dvc"]["tag"], tmp_path / "dvc"
    )
    for name in ("train/train.jsonl", "validation/validation.jsonl", "dataset_card.json"):
        assert (fetched / name).read_bytes() == (first_root / "out" / name).read_bytes(), name
        assert (tmp_path / "run" / "sft" / name).read_bytes() == (fetched / name).read_bytes(), name
    card = json.loads((fetched / "dataset_card.json").read_text())
    assert card["golden_version"]["tag"] == golden_tag
    assert card["clean_version"] is None and card["references_uri"] == settings.sft.references_uri
    assert card["context_source"] == {"kind": "index", "alias": "reviews"}
    assert card["counts"] == first["counts"] and card["accounting"] == first["accounting"]

    # A pinned dataset is fetched, not rebuilt, and only for the golden set it was decontaminated against.
    code, pinned = run_dataset(tmp_path / "pinned", golden_tag, "--dataset-version", first["dvc"]["tag"])
    assert code == EXIT_OK and pinned["pinned"] is True and pinned["dvc"]["rev"] == first["dvc"]["rev"]
    assert (tmp_path / "pinned" / "out" / "train" / "train.jsonl").is_file()
    other = "golden/summaries/000000000000"
    code, refused = run_dataset(tmp_path / "refused", other, "--dataset-version", first["dvc"]["tag"])
    assert code == EXIT_QUALITY_GATE and refused["published"] is False
    assert golden_tag in refused["error"] and not (tmp_path / "refused" / "out").exists()


def _nothing_said(built_rows: list[dict[str, Any]], root: Path, monkeypatch) -> list[str]:
    """Aspect labels in which no review of one product of the dataset praises or blames anything: its
    targets would name nothing, and an empty target teaches nothing."""
    victim = next(r["product_id"] for r in built_rows if r["profile"] == "mostly_negative")
    labels = read_rows(Path(get_settings().sft.aspect_labels_uri))
    for label in labels:
        if label["product_id"] == victim:
            label["aspects"] = []
    path = root / "review_labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in labels), encoding="utf-8")
    monkeypatch.setenv("LLMOPS_SFT__ASPECT_LABELS_URI", str(path))
    get_settings.cache_clear()
    return []


def _missing_language(built_rows: list[dict[str, Any]], root: Path, monkeypatch) -> list[str]:
    """A configured language that no review is written in."""
    monkeypatch.setenv("LLMOPS_SFT__LANGUAGES", json.dumps([*get_settings().ingestion.languages, "pt"]))
    get_settings.cache_clear()
    return []


@pytest.mark.parametrize(
    ("plant", "failed"),
    [
        (_nothing_said, "sft_examples.expect_column_values_to_be_between"),
        (_missing_language, "sft_mix.expect_column_pair_values_a_to_be_greater_than_b"),
    ],
    ids=["nothing-said", "missing-language"],
)
def test_a_failing_gate_stops_the_step_and_publishes_nothing(
    sft_contaminated, sft_built, sft_tags, tmp_path, monkeypatch, plant, failed
):
    built_rows = read_rows(sft_built[1] / "out" / "train" / "train.jsonl")
    extra = plant(built_rows, tmp_path, monkeypatch)
    before = sft_tags("sft/")
    try:
        code, result = run_dataset(tmp_path, sft_contaminated["golden_version"], *extra)
    finally:
        get_settings.cache_clear()
    assert code == EXIT_QUALITY_GATE
    assert result["status"] == "quality_gate_failed" and result["published"] is False
    assert failed in {
        f"{f['suite']}.{f['expectation']}" for f in result["quality_gate"]["failed_expectations"]
    }
    assert (tmp_path / "docs" / "index.html").is_file()  # Data Docs are written on failure too
    assert not (tmp_path / "out").exists()
    assert sft_tags("sft/") == before


def test_oversampling_reaches_floors_without_exceeding_the_copy_limit():
    targets = split.oversample_targets(
        {"mostly_positive": 60, "polarized": 10, "mixed": 1}, {"polarized": 0.2, "mixed": 0.1}, 3
    )
    total = sum(targets.values())
    assert targets["polarized"] >= 0.2 * total and targets["polarized"] <= 30
    assert targets["mixed"] == 3  # the floor needs more than three copies of one example: it stays short
    assert targets["mostly_positive"] == 60


def test_a_pinned_clean_version_gives_the_contexts_the_live_index_gives(sft_world, tmp_path):
    """With --clean-version, contexts come from that DVC version of the clean data, chunked and embedded
    by the embedding pipeline (the real MiniLM) into a scratch index: the same reviews as the live index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common.ids import content_hash
    from common.schemas import CLEAN_REVIEW

    settings = get_settings()
    store, index = sft_world.store, sft_world.index
    references = read_rows(Path(sft_world.references_uri))
    # Profiles that host no planted copy (those went to negative and polarized products).
    products = [
        next(r["product_id"] for r in references if r["profile"] == p) for p in ("mixed", "mostly_positive")
    ]
    hits = store.top_by(index, TopQuery(Filters(product_ids=products), (("review_id", "asc"),), k=10_000))
    partition = tmp_path / "clean" / "dt=2026-11-19"
    partition.mkdir(parents=True)
    rows = [
        {
            "review_id": h.review_id,
            "product_id": h.product_id,
            "star_rating": h.star_rating,
            "cleaned_text": h.text,
            "language": h.language,
            "toxicity_score": 0.01,
            "created_at": h.created_at,
            "helpful_votes": h.helpful_votes,
            "verified_purchase": h.verified_purchase,
            "content_hash": content_hash(h.text),
            "pii_entities": [],
        }
        for h in hits
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=CLEAN_REVIEW), partition / "part-00000.parquet")
    registry = DataRegistry.from_settings(settings)
    registry.ensure_exists()
    (version,) = registry.version_directories(
        {"reviews/clean/dt=2026-11-19": partition}, name="reviews/dt=2026-11-19", message="clean data"
    )

    pinned = context.open_context_source(settings, version.tag, products, tmp_path / "work")
    live = context.open_context_source(settings, None, products, tmp_path / "live")
    assert pinned.description == {"kind": "clean_version", "clean_version": version.tag}
    for language in settings.ingestion.languages:
        expected = live.retriever.balanced(products, language)
        got = pinned.retriever.balanced(products, language)
        for product_id in products:
            assert [(s.bucket, s.hit.review_id, s.hit.text) for s in got[product_id].snippets] == [
                (s.bucket, s.hit.review_id, s.hit.text) for s in expected[product_id].snippets
            ]
    assert {
        h.embedding_model
        for h in pinned.retriever.store.top_by(
            context.PINNED_INDEX, TopQuery(Filters(), (("chunk_id", "asc"),), k=1)
        )
    } == {settings.embedding.models[settings.embedding.model].version}
