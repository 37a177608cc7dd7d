"""PII redaction with presidio: typed placeholders before review text leaves ingestion.

Presidio's default `AnalyzerEngine()` loads (and, when missing, downloads) a large spaCy model. Review
PII that matters here (emails, phone numbers, IBANs, cards, IPs, URLs) is found by presidio's own
pattern and checksum recognizers, which need no NLP at all, so each language gets an engine with
presidio's `NoOpNlpEngine` and an explicit registry. Names and places need a real NER model: a language
that maps to an installed spaCy model in `ingestion.pii.spacy_models` gets a `SpacyNlpEngine` and
PERSON/LOCATION on top. A configured model that is not installed is an error, never a download.
"""

from __future__ import annotations

import os

# tldextract (used by presidio's email validation) reads this when it is imported: an empty value
# makes it use its bundled public-suffix snapshot instead of fetching the list from the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy.util
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpEngine, NoOpNlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
)
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

from common.settings import IngestionSettings, PiiSettings, project_home

_OPTIONAL_PATH = r"""(?:/[^\s()<>\"']*)?)"""


def _url_recognizer(supported_language: str = "en") -> UrlRecognizer:
    """Presidio's URL recognizer, without its bare-domain patterns.

    Presidio matches any `word.tld`, with no boundary after the TLD. In reviews that flags every missing
    space after a full stop ("Geld.Es", "erachte.Zwei", "product.it"): 3.4% of real reviews had such a
    false URL. A URL here needs a scheme, a `www.` prefix or a path (`amzn.to/abc`); a bare domain such as
    "amazon.de" is not personal data and is left as written.
    """
    base = UrlRecognizer.BASE_URL_REGEX
    if not base.endswith(_OPTIONAL_PATH):
        raise RuntimeError("presidio's UrlRecognizer.BASE_URL_REGEX changed shape; review the URL patterns")
    with_path = base[: -len(_OPTIONAL_PATH)] + _OPTIONAL_PATH[: -len("?)")] + ")"
    kept = [p for p in UrlRecognizer.PATTERNS if p.name in ("Standard Url", "Quoted URL")]
    patterns = [
        *kept,
        Pattern("www URL", r"(?i)\bwww\d{0,3}[.]" + base, 0.5),
        Pattern("Non schema URL with path", "(?i)" + with_path, 0.5),
    ]
    return UrlRecognizer(patterns=patterns, supported_language=supported_language)


# Presidio recognizers that need no NLP model, by the entity they find.
_PATTERN_RECOGNIZERS: dict[str, Callable[..., PatternRecognizer]] = {
    "EMAIL_ADDRESS": EmailRecognizer,
    "IBAN_CODE": IbanRecognizer,
    "CREDIT_CARD": CreditCardRecognizer,
    "IP_ADDRESS": IpRecognizer,
    "URL": _url_recognizer,
}
PHONE = "PHONE_NUMBER"
NER_ENTITIES = ("PERSON", "LOCATION")
# Language code of the pattern-only engine used for a text whose language is not configured: the
# pattern recognizers do not depend on the language, so such a text is still redacted.
_FALLBACK_LANGUAGE = "xx"


_PII_DEFAULTS = PiiSettings(entities=[])


@dataclass(frozen=True)
class PhoneOptions:
    """How phone numbers are matched: the national formats to know, and phonenumbers' strictness.

    Presidio's default strictness (VALID) also reads dotted dates such as 03.12.2018 as German numbers;
    STRICT_GROUPING (2) keeps the grouping a person would write and drops those.
    """

    regions: Sequence[str] = tuple(_PII_DEFAULTS.phone_regions)
    leniency: int = _PII_DEFAULTS.phone_leniency


class PiiModelError(RuntimeError):
    """A configured spaCy model cannot be used (not installed, or not loadable offline)."""


def placeholder(entity: str) -> str:
    """The text that replaces an entity: `<EMAIL_ADDRESS>`, `<PHONE_NUMBER>`, ..."""
    return f"<{entity}>"


def _spacy_model_location(name: str) -> str:
    """A model given as a path resolves against the project home; a package name stays as it is.

    Presidio's `SpacyNlpEngine` would try to download anything it cannot find: checking first turns a
    missing model into a clear error instead of a network call that fails offline.
    """
    looks_like_path = "/" in name or "\\" in name or name.startswith(".")
    if looks_like_path:
        path = Path(name) if Path(name).is_absolute() else project_home() / name
        if not path.is_dir():
            raise PiiModelError(f"spaCy model folder {name!r} does not exist ({path})")
        return str(path)
    if not spacy.util.is_package(name):
        raise PiiModelError(
            f"spaCy model {name!r} is configured in ingestion.pii.spacy_models but is not installed; "
            "install its package in the task image or remove it from the configuration"
        )
    return name


def _recognizers(language: str, entities: Sequence[str], phone: PhoneOptions) -> list[EntityRecognizer]:
    recognizers: list[EntityRecognizer] = []
    for entity in entities:
        if entity == PHONE:
            recognizers.append(
                PhoneRecognizer(
                    supported_language=language,
                    supported_regions=tuple(phone.regions),
                    leniency=phone.leniency,
                )
            )
        elif entity in _PATTERN_RECOGNIZERS:
            recognizers.append(_PATTERN_RECOGNIZERS[entity](supported_language=language))
        elif entity not in NER_ENTITIES:
            known = sorted([*_PATTERN_RECOGNIZERS, PHONE, *NER_ENTITIES])
            raise ValueError(f"unknown PII entity {entity!r} in ingestion.pii.entities; known: {known}")
    return recognizers


def _engine(
    language: str, entities: Sequence[str], phone: PhoneOptions, spacy_model: str | None
) -> tuple[AnalyzerEngine, list[str]]:
    """One analyzer for one language, and the entities it looks for."""
    pattern_entities = [e for e in entities if e not in NER_ENTITIES]
    recognizers = _recognizers(language, pattern_entities, phone)
    nlp_engine: NlpEngine
    if spacy_model is None:
        nlp_engine = NoOpNlpEngine(models=[{"lang_code": language, "model_name": "none"}])
        wanted = pattern_entities
    else:
        location = _spacy_model_location(spacy_model)
        nlp_engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": location}])
        try:
            nlp_engine.load()
        except (OSError, ValueError) as exc:
            raise PiiModelError(
                f"spaCy model {spacy_model!r} for {language!r} cannot be loaded: {exc}"
            ) from exc
        recognizers.append(
            SpacyRecognizer(supported_language=language, supported_entities=list(NER_ENTITIES))
        )
        wanted = [*pattern_entities, *NER_ENTITIES]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[language])
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[language])
    return engine, wanted


class PiiRedactor:
    """Finds PII in one review with the engine of its language and replaces it with typed placeholders.

    Engines are built once (construction loads any spaCy model); each call analyzes one text with one
    language's recognizers only, which keeps the per-review cost to a handful of regex scans and the
    phone-number matcher. PERSON and LOCATION are looked for only in languages with a spaCy model.
    """

    def __init__(
        self,
        languages: Sequence[str],
        entities: Sequence[str],
        phone: PhoneOptions | None = None,
        spacy_models: dict[str, str] | None = None,
    ) -> None:
        phone = phone or PhoneOptions()
        spacy_models = spacy_models or {}
        unknown = sorted(set(spacy_models) - set(languages))
        if unknown:
            raise ValueError(f"ingestion.pii.spacy_models names languages that are not configured: {unknown}")
        self._engines: dict[str, tuple[AnalyzerEngine, list[str]]] = {
            language: _engine(language, entities, phone, spacy_models.get(language)) for language in languages
        }
        self._fallback = _engine(_FALLBACK_LANGUAGE, entities, phone, None)
        self._anonymizer = AnonymizerEngine()
        all_entities = {e for _, wanted in self._engines.values() for e in wanted}
        self._operators = {
            entity: OperatorConfig("replace", {"new_value": placeholder(entity)}) for entity in all_entities
        }

    @classmethod
    def from_settings(cls, ingestion: IngestionSettings) -> PiiRedactor:
        return cls(
            languages=ingestion.languages,
            entities=ingestion.pii.entities,
            phone=PhoneOptions(ingestion.pii.phone_regions, ingestion.pii.phone_leniency),
            spacy_models=ingestion.pii.spacy_models,
        )

    def entities(self, language: str) -> list[str]:
        """The entity types looked for in a text of `language`."""
        return list(self._engine_for(language)[1])

    def _engine_for(self, language: str) -> tuple[AnalyzerEngine, list[str]]:
        return self._engines.get(language, self._fallback)

    def _analyze(self, text: str, language: str) -> list[RecognizerResult]:
        engine, wanted = self._engine_for(language)
        code = language if language in self._engines else _FALLBACK_LANGUAGE
        return engine.analyze(text=text, language=code, entities=wanted)

    def find(self, text: str, language: str) -> list[str]:
        """The sorted entity types present in `text` (a residual check after redaction).

        The same as the types `redact` replaces: a number inside an IBAN is part of the IBAN, not a
        phone number of its own.
        """
        return self.redact(text, language)[1]

    def redact(self, text: str, language: str) -> tuple[str, list[str]]:
        """`text` with each entity replaced by its placeholder, and the sorted entity types replaced.

        Overlapping findings are resolved by the anonymizer: a finding inside another (the domain of an
        email matched as a URL) is dropped, and partial overlaps are trimmed in favour of the higher
        score, so no entity is left half replaced.
        """
        if not text:
            return text, []
        results = self._analyze(text, language)
        if not results:
            return text, []
        anonymized = self._anonymizer.anonymize(
            text=text,
            # Annotated as presidio_anonymizer's own result class; the analyzer's are what it documents.
            analyzer_results=results,  # type: ignore[arg-type]
            operators=self._operators,
            conflict_resolution=ConflictResolutionStrategy.REMOVE_INTERSECTIONS,
        )
        return anonymized.text, sorted({item.entity_type for item in anonymized.items})


def residual_pii_patterns(entities: Sequence[str] | None = None) -> dict[str, str]:
    """Regexes that detect PII left in published text, by entity, from presidio's own recognizers.

    Each value is one Python `re` pattern: the recognizer's patterns joined as alternatives, with its
    case-insensitive flag written inline. They are the raw patterns, without presidio's checksums
    (Luhn, IBAN check digits) and validations, so they over-match slightly: a hit is a reason to look,
    and `ResidualPiiCheck` looks. Phone numbers have no regex in presidio (it uses
    the phonenumbers library) and so no entry here.
    """
    wanted = list(entities) if entities is not None else list(_PATTERN_RECOGNIZERS)
    patterns: dict[str, str] = {}
    for entity in wanted:
        if entity not in _PATTERN_RECOGNIZERS:
            continue
        recognizer = _PATTERN_RECOGNIZERS[entity]()
        flags = recognizer.global_regex_flags or 0
        inline = "(?i)" if flags & re.IGNORECASE else ""
        alternatives = []
        for pattern in recognizer.patterns:  # type: ignore[has-type]  # unannotated in presidio
            regex = pattern.regex
            if regex.startswith("(?i)"):
                regex, inline = regex[len("(?i)") :], "(?i)"
            alternatives.append(f"(?:{regex})")
        combined = inline + "|".join(alternatives)
        re.compile(combined)  # the patterns are consumed with Python's `re`: fail here, not there
        patterns[entity] = combined
    return patterns


class ResidualPiiCheck:
    """Finds PII left in published text with presidio's own pattern recognizers (the validate step's check).

    Each recognizer's patterns, joined into one regex, are a cheap first pass over every text; on a hit
    the recognizer itself decides, with the checksums and validation redaction used (Luhn for cards,
    IBAN check digits, e-mail domains). The raw pattern alone reads a 16-digit order number as a card,
    and one such review would fail a whole run's quality gate.
    """

    def __init__(self, entities: Sequence[str] | None = None) -> None:
        self._checks = [
            (entity, re.compile(pattern), _PATTERN_RECOGNIZERS[entity]())
            for entity, pattern in residual_pii_patterns(entities).items()
        ]

    def find(self, text: str | None) -> list[str]:
        """The sorted entity types presidio still finds in `text`."""
        if not text:
            return []
        return sorted(
            entity
            for entity, regex, recognizer in self._checks
            if regex.search(text) and recognizer.analyze(text, [entity])
        )
