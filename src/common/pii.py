"""PII detection and redaction with presidio: typed placeholders before review text leaves ingestion,
and the same detectors on what the summarizer writes (evaluation, batch guardrails, monitoring).

Presidio's default `AnalyzerEngine()` loads (and, when missing, downloads) a large spaCy model. Review
PII that matters here (emails, phone numbers, IBANs, cards, IPs, URLs, street addresses) is found by
pattern recognizers with checksum and format validators, which need no NLP at all, so each language gets
an engine with presidio's `NoOpNlpEngine` and an explicit registry. Most recognizers are this project's
(`pii_recognizers`): presidio's own miss forms reviewers really write (lower-case IBANs, dotted card
groups, German mobile numbers, spelled-out e-mail addresses) and redact look-alikes (versions as IPs).
Names and places need a real NER model: a language that maps to an installed spaCy model in
`ingestion.pii.spacy_models` gets a `SpacyNlpEngine` and PERSON/LOCATION on top. A configured model that
is not installed is an error, never a download.
"""

from __future__ import annotations

import os

# tldextract (used by presidio's email validation) reads this when it is imported: an empty value
# makes it use its bundled public-suffix snapshot instead of fetching the list from the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy.language
import spacy.util
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, NoOpNlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer, UrlRecognizer
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

from common.pii_recognizers import (
    CardNumberRecognizer,
    IbanAnyCaseRecognizer,
    IpAddressRecognizer,
    PhoneNumberRecognizer,
    SpelledEmailRecognizer,
    StreetAddressRecognizer,
)
from common.settings import IngestionSettings, PiiSettings, project_home

_OPTIONAL_PATH = r"""(?:/[^\s()<>\"']*)?)"""


class _ProseUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer, less the punctuation of the sentence around a URL.

    Its path pattern takes any character but spaces and quotes, so "see https://x.example/a, then" ended
    the URL at "a," and "(https://x.example/a)" at "a)": the comma or bracket went into the placeholder.
    A trailing full stop, comma, colon, semicolon, "!" or "?", and a closing bracket the URL did not
    open, belong to the sentence. Every pattern kept needs a "/" or "www": a text with neither (most
    reviews) skips the scans, whose backtracking over long dotted runs costs seconds.
    """

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if "/" not in text and "www" not in text.lower():
            return []
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            while result.end > result.start and (
                text[result.end - 1] in ".,;:!?"
                or (
                    text[result.end - 1] in ")]"
                    and text.count("(", result.start, result.end) + text.count("[", result.start, result.end)
                    < text.count(")", result.start, result.end) + text.count("]", result.start, result.end)
                )
            ):
                result.end -= 1
        return results


class _AtSignEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, run only on a text with an "@" (its pattern needs one)."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if "@" not in text:
            return []
        return super().analyze(text, entities, nlp_artifacts, regex_flags)


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
        # User and password before the host: the whole URL is one finding (not an e-mail address inside).
        Pattern(
            "URL with user info",
            r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s/?#@<>\"']+@[^\s<>\"']*[^\s<>\"'.,;:!?)]",
            0.6,
        ),
        *kept,
        Pattern("www URL", r"(?i)\bwww\d{0,3}[.]" + base, 0.5),
        Pattern("Non schema URL with path", "(?i)" + with_path, 0.5),
    ]
    return _ProseUrlRecognizer(patterns=patterns, supported_language=supported_language)


# The recognizers redaction runs, by entity: none needs an NLP model.
_RECOGNIZERS: dict[str, Callable[[str], list[EntityRecognizer]]] = {
    "EMAIL_ADDRESS": lambda language: [
        _AtSignEmailRecognizer(supported_language=language),
        SpelledEmailRecognizer(language),
    ],
    "IBAN_CODE": lambda language: [IbanAnyCaseRecognizer(language)],
    "CREDIT_CARD": lambda language: [CardNumberRecognizer(language)],
    "IP_ADDRESS": lambda language: [IpAddressRecognizer(language)],
    "URL": lambda language: [_url_recognizer(language)],
    "STREET_ADDRESS": lambda language: [StreetAddressRecognizer(language)],
}
PHONE = "PHONE_NUMBER"
NER_ENTITIES = ("PERSON", "LOCATION")
# Language code of the pattern-only engine used for a text whose language is not configured: the
# pattern recognizers do not depend on the language, so such a text is still redacted.
_FALLBACK_LANGUAGE = "xx"


_PII_DEFAULTS = PiiSettings(entities=[])


@dataclass(frozen=True)
class PhoneOptions:
    """The countries whose national phone formats are read, in a review of any language.

    A German number turns up in a Dutch review, and a Swiss one in a Spanish review: every review is read
    for every configured country. Numbers written with + or 00 name their country and are read for any.
    """

    regions: Sequence[str] = tuple(_PII_DEFAULTS.phone_regions)


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
            recognizers.append(PhoneNumberRecognizer(language, phone.regions))
        elif entity in _RECOGNIZERS:
            recognizers.extend(_RECOGNIZERS[entity](language))
        elif entity not in NER_ENTITIES:
            known = sorted([*_RECOGNIZERS, PHONE, *NER_ENTITIES])
            raise ValueError(f"unknown PII entity {entity!r} in ingestion.pii.entities; known: {known}")
    return recognizers


# Components of spaCy's trained pipelines that presidio never reads (it takes entities, tokens and
# lemmas): the dependency parser is a large share of each review's NER time.
_UNUSED_PIPES = ("parser",)


def _skip_unused_pipes(nlp: spacy.language.Language) -> None:
    for name in _UNUSED_PIPES:
        if name in nlp.pipe_names:
            nlp.disable_pipe(name)


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
        _skip_unused_pipes(nlp_engine.get_nlp(language))
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
    language's recognizers only, which keeps the per-review cost to a handful of regex scans; validators
    (checksums, phonenumbers) run only on the candidates those find. PERSON and LOCATION are looked for
    only in languages with a spaCy model.
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
            phone=PhoneOptions(ingestion.pii.phone_regions),
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
