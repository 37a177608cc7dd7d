"""Names and places: spaCy NER through the real PiiRedactor, with pipelines the tests build offline
(a rule-based one with the labels of spaCy's trained pipelines, and a small statistical NER trained here),
and the production setup: every model the aws profile configures is one the task image installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import spacy
import yaml
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from common.pii import PiiModelError, PiiRedactor
from common.settings import load_settings
from tests.orchestration.aws_env import AWS_PROFILE_ENV

REPO = Path(__file__).resolve().parents[3]
ENTITIES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "URL", "STREET_ADDRESS"]


@Language.component("pii_test_unused_parser")
def _unused_parser(doc: Doc) -> Doc:
    raise AssertionError("the dependency parser ran, though presidio never reads its output")


def _ruler_model(path: Path, language: str, patterns: list[dict]) -> Path:
    nlp = spacy.blank(language)
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    # Where trained pipelines have their parser (token patterns: phrase patterns would run it on load).
    nlp.add_pipe("pii_test_unused_parser", name="parser", before="entity_ruler")
    nlp.to_disk(path)
    return path


def test_german_names_and_places_with_the_labels_of_spacys_german_pipelines(tmp_path):
    """de/fr/es/it/nl pipelines label PER, LOC, ORG and MISC: PER and LOC are redacted, the rest stays."""
    model = _ruler_model(
        tmp_path / "de_tiny",
        "de",
        [
            {"label": "PER", "pattern": [{"LOWER": "maria"}, {"LOWER": "schmidt"}]},
            {"label": "LOC", "pattern": [{"TEXT": "Hamburg"}]},
            {"label": "LOC", "pattern": [{"TEXT": "Hauptstraße"}]},
            {"label": "ORG", "pattern": [{"TEXT": "Amazon"}]},
            {"label": "MISC", "pattern": [{"TEXT": "Thermomix"}]},
        ],
    )
    redactor = PiiRedactor(["de"], ENTITIES, spacy_models={"de": str(model)})
    text = "Maria Schmidt aus Hamburg hat den Thermomix bei Amazon gekauft 👍, Lieferung an Hauptstraße 12."
    # The street the NER calls a place is inside the street address: one placeholder, not two.
    assert redactor.redact(text, "de") == (
        "<PERSON> aus <LOCATION> hat den Thermomix bei Amazon gekauft 👍, Lieferung an <STREET_ADDRESS>.",
        ["LOCATION", "PERSON", "STREET_ADDRESS"],
    )
    assert redactor.redact("Ruf Maria Schmidt an: 0151 12345678", "de") == (
        "Ruf <PERSON> an: <PHONE_NUMBER>",
        ["PERSON", "PHONE_NUMBER"],
    )


TRAINING = [
    ("María García vive en Sevilla.", [(0, 12, "PER"), (21, 28, "LOC")]),
    ("Pedro López trabaja en Valencia.", [(0, 11, "PER"), (23, 31, "LOC")]),
    ("Lucía Fernández es de Bilbao.", [(0, 15, "PER"), (22, 28, "LOC")]),
    ("La batidora llegó a Málaga para Juan Pérez.", [(20, 26, "LOC"), (32, 42, "PER")]),
    ("Muy buen producto, llegó rápido.", []),
    ("La batería dura dos horas.", []),
]


def _trained_model(path: Path) -> Path:
    """A statistical NER trained on a handful of sentences: what a real pipeline's `ner` component is."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("es")
    nlp.add_pipe("ner")
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": spans}) for text, spans in TRAINING]
    nlp.initialize(lambda: examples)
    for _ in range(25):
        nlp.update(examples, drop=0.0)
    nlp.to_disk(path)
    return path


def test_a_trained_ner_model_is_loaded_from_its_folder_and_redacts(tmp_path):
    model = _trained_model(tmp_path / "es_tiny")
    redactor = PiiRedactor(["es", "en"], ENTITIES, spacy_models={"es": str(model)})
    assert redactor.entities("es") == [*ENTITIES, "PERSON", "LOCATION"]
    assert redactor.redact("Pedro López trabaja en Valencia.", "es") == (
        "<PERSON> trabaja en <LOCATION>.",
        ["LOCATION", "PERSON"],
    )
    assert redactor.redact("Muy buen producto, llegó rápido.", "es") == (
        "Muy buen producto, llegó rápido.",
        [],
    )
    assert redactor.entities("en") == ENTITIES  # no model for English: no names looked for


MODEL_LINE = re.compile(
    r"^(?P<name>[a-z]{2}_core_(?:web|news)_sm) @ (?P<url>https://\S+/(?P=name)-(?P<version>[\d.]+)/"
    r"(?P=name)-(?P=version)-py3-none-any\.whl) --hash=sha256:(?P<sha>[0-9a-f]{64})$"
)


def test_the_aws_profile_names_the_models_the_task_image_installs_pinned_by_hash():
    profile = yaml.safe_load((REPO / "config" / "profiles" / "aws.yaml").read_text(encoding="utf-8"))
    models = profile["ingestion"]["pii"]["spacy_models"]
    assert sorted(models) == sorted(load_settings("local").ingestion.languages)
    lines = (REPO / "docker" / "tasks" / "requirements-spacy-models.txt").read_text(encoding="utf-8")
    pinned = [MODEL_LINE.match(line) for line in lines.splitlines() if line and not line.startswith("#")]
    assert all(pinned), lines
    assert sorted(m["name"] for m in pinned if m) == sorted(models.values())
    # The pipelines were built for the spaCy minor version the task requirements pin.
    spacy_pin = re.search(r"^spacy==(\d+\.\d+)\.", (REPO / "requirements-tasks.txt").read_text(), re.M)
    assert spacy_pin and {m["version"].rsplit(".", 1)[0] for m in pinned if m} == {spacy_pin[1]}
    dockerfile = (REPO / "docker" / "tasks" / "Dockerfile").read_text(encoding="utf-8")
    run = r"RUN pip install --require-hashes --no-deps -r requirements-spacy-models\.txt(?:.*\\\n)*.*"
    install = re.search(run, dockerfile)
    assert install and "COPY docker/tasks/requirements-spacy-models.txt" in dockerfile
    assert all(f"'{name}'" in install[0] for name in models.values())  # each one loaded at build time


def test_the_aws_profile_needs_its_models_installed_and_never_downloads_them(monkeypatch):
    for name, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(name, value)
    ingestion = load_settings("aws").ingestion
    if all(spacy.util.is_package(name) for name in ingestion.pii.spacy_models.values()):
        redactor = PiiRedactor.from_settings(ingestion)  # the task image
        assert all("PERSON" in redactor.entities(language) for language in ingestion.languages)
    else:
        with pytest.raises(PiiModelError, match="not installed"):
            PiiRedactor.from_settings(ingestion)
