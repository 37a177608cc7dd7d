"""PII redaction: every entity kind in every language, exact output, no false positives, offline NER."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
import spacy

from common.pii import (
    PhoneOptions,
    PiiModelError,
    PiiRedactor,
    placeholder,
)
from common.settings import load_settings

MARC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "marc" / "marc_test_all_langs.csv"
PHONE = "PHONE_NUMBER"
PATTERN_ENTITIES = [
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "URL",
    "STREET_ADDRESS",
]

# One sentence per language with accents, emoji and mixed case around the slot, so that an exact
# comparison also proves that nothing outside the entity changed.
SENTENCES = {
    "en": "Great blender 👍 for Crème Brûlée! Contact {} – I answer FAST.",
    "de": "Schöner Mixer 👍, Größe passt. Schreib mir an {} – Grüße aus München!",
    "fr": "Très bon produit 😊, livré à l'heure. Contactez-moi : {} – Merci à tous.",
    "es": "¡Producto genial 😊! Envíame un mensaje a {} – señor Muñoz, AÑO 2024.",
    "it": "Prodotto perfetto 😊, città di Perugia. Scrivetemi a {} – è ottimo.",
    "nl": "Prima product 👍, snel geleverd. Mail me via {} – één ster minder, ÉCHT.",
}

ENTITIES = {
    "EMAIL_ADDRESS": {
        "en": "john.smith@example.com",
        "de": "lena.mueller@beispiel.de",
        "fr": "c.dubois@exemple.fr",
        "es": "maria_garcia@ejemplo.es",
        "it": "g.rossi@esempio.it",
        "nl": "j.de.vries@voorbeeld.nl",
    },
    "PHONE_NUMBER": {
        "en": "(415) 555-0132",
        "de": "+49 30 1234567",
        "fr": "06 12 34 56 78",
        "es": "+34 612 345 678",
        "it": "+39 347 123 4567",
        "nl": "+31 6 12345678",
    },
    "IBAN_CODE": {  # valid check digits
        "en": "GB82 WEST 1234 5698 7654 32",
        "de": "DE89 3704 0044 0532 0130 00",
        "fr": "FR76 3000 6000 0112 3456 7890 189",
        "es": "ES91 2100 0418 4502 0005 1332",
        "it": "IT60 X054 2811 1010 0000 0123 456",
        "nl": "NL91 ABNA 0417 1643 00",
    },
    "CREDIT_CARD": {  # Luhn-valid, with spaces, dashes or neither
        "en": "4111 1111 1111 1111",
        "de": "5500-0000-0000-0004",
        "fr": "4012888888881881",
        "es": "4111-1111-1111-1111",
        "it": "5500 0000 0000 0004",
        "nl": "4012 8888 8888 1881",
    },
    "IP_ADDRESS": {
        "en": "192.168.1.20",
        "de": "10.0.0.12",
        "fr": "172.16.254.1",
        "es": "8.8.4.4",
        "it": "203.0.113.7",
        "nl": "198.51.100.23",
    },
    "URL": {
        "en": "https://www.example.com/review?id=42",
        "de": "www.beispiel.de",
        "fr": "https://exemple.fr/avis/123",
        "es": "http://tienda.ejemplo.es",
        "it": "www.esempio.it/prodotto",
        "nl": "amzn.to/3xYzAb",
    },
    "STREET_ADDRESS": {
        "en": "221B Baker Street",
        "de": "Hauptstraße 12",
        "fr": "12 rue de la Paix",
        "es": "Calle Mayor 5",
        "it": "Via Roma 10",
        "nl": "Kerkstraat 3",
    },
}

# Ordinary review text full of numbers, dates, prices, sizes and missing spaces after full stops.
ORDINARY = {
    "en": "5 stars. Bought 2 x 20 cm, model XR-2000, for $29.99 on 12/03/2024.Works great, 1000 mAh.",
    "de": "5 Sterne! Modell XR-2000, 2 x 20 cm, 29,99 €, bestellt am 03.12.2018.Größe 140-160 cm passt.",
    "fr": "Note 4/5. Taille 38-40, 29,99 €, reçu le 12.03.2024, 230 V / 50 Hz.Produit.Fr conforme.",
    "es": "5 estrellas. Modelo XR-2000 de 2 x 20 cm, 29,99 €, llegó el 3/12/24.Es muy bueno, 1,5 kg.",
    "it": "Prodotto da 5 stelle, 2 x 20 cm, 29,99 €, arrivato il 12.03.2024.It funziona, versione 2.0.1.",
    "nl": "4 sterren. Model XR-2000, 2 x 20 cm, € 29,99, besteld op 03-12-2018, 250 ml, nr 302-1234567.",
}


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    return PiiRedactor.from_settings(load_settings("local").ingestion)


@pytest.mark.parametrize("language", sorted(SENTENCES))
@pytest.mark.parametrize("entity", PATTERN_ENTITIES)
def test_each_entity_is_replaced_by_its_typed_placeholder(redactor, entity, language):
    value = ENTITIES[entity][language]
    text = SENTENCES[language].format(value)
    redacted, found = redactor.redact(text, language)
    assert redacted == SENTENCES[language].format(placeholder(entity))
    assert found == [entity]
    assert redactor.find(text, language) == [entity]
    assert redactor.find(redacted, language) == []


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_all_entities_in_one_review(redactor, language):
    values = [ENTITIES[entity][language] for entity in PATTERN_ENTITIES]
    text = SENTENCES[language].format(", ".join(values))
    redacted, found = redactor.redact(text, language)
    assert redacted == SENTENCES[language].format(", ".join(placeholder(e) for e in PATTERN_ENTITIES))
    assert found == sorted(PATTERN_ENTITIES)
    assert redactor.redact(redacted, language) == (redacted, [])  # placeholders are not PII


@pytest.mark.parametrize("language", sorted(ORDINARY))
def test_ordinary_numbers_dates_and_prices_are_not_pii(redactor, language):
    assert redactor.redact(ORDINARY[language], language) == (ORDINARY[language], [])


def test_near_misses_are_not_redacted(redactor):
    # A wrong IBAN check digit and a card number that fails Luhn are not the entity.
    assert redactor.redact("IBAN DE88 3704 0044 0532 0130 00 ok", "de")[1] == []
    assert redactor.redact("Karte 4111 1111 1111 1112 ok", "de")[1] == []
    # A bare domain is not personal data; a missing space after a full stop is not a URL.
    assert redactor.redact("Bei Amazon.de gekauft.Es ist super.", "de")[1] == []


def test_overlaps_leave_no_half_entity(redactor):
    # The domain of an email is also a URL candidate: the email wins whole.
    assert redactor.redact("Mail an info@shop.example.de bitte", "de") == (
        "Mail an <EMAIL_ADDRESS> bitte",
        ["EMAIL_ADDRESS"],
    )
    # An email inside a URL goes with the URL.
    assert redactor.redact("see https://example.com/c?mail=jan@example.com now", "en") == (
        "see <URL> now",
        ["URL"],
    )
    # Partial overlap: neither entity survives in part.
    redacted, _ = redactor.redact("write jan@shop.de/kontakt today", "de")
    assert "jan" not in redacted and "shop" not in redacted and "@" not in redacted


def test_unconfigured_language_is_still_redacted(redactor):
    text = "連絡先 jan@example.com まで"
    assert redactor.redact(text, "ja") == ("連絡先 <EMAIL_ADDRESS> まで", ["EMAIL_ADDRESS"])
    assert redactor.redact("", "en") == ("", [])


def test_entities_come_from_settings():
    settings = load_settings("local").ingestion
    only_email = settings.model_copy(
        update={"pii": settings.pii.model_copy(update={"entities": ["EMAIL_ADDRESS"]})}
    )
    redactor = PiiRedactor.from_settings(only_email)
    text = "a@example.com or +49 30 1234567"
    assert redactor.redact(text, "de") == ("<EMAIL_ADDRESS> or +49 30 1234567", ["EMAIL_ADDRESS"])
    with pytest.raises(ValueError, match="SOCIAL_SECURITY"):
        PiiRedactor(["en"], ["SOCIAL_SECURITY"])


def _tiny_spacy_model(path: Path) -> Path:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": "maria"}, {"LOWER": "schmidt"}]},
            {"label": "GPE", "pattern": "Hamburg"},
        ]
    )
    nlp.to_disk(path)
    return path


def test_spacy_model_adds_person_and_location_for_its_language(tmp_path):
    model = _tiny_spacy_model(tmp_path / "en_tiny")
    redactor = PiiRedactor(["en", "de"], PATTERN_ENTITIES, spacy_models={"en": str(model)})
    text = "Maria Schmidt from Hamburg 😊 wrote to maria@example.com."
    assert redactor.redact(text, "en") == (
        "<PERSON> from <LOCATION> 😊 wrote to <EMAIL_ADDRESS>.",
        ["EMAIL_ADDRESS", "LOCATION", "PERSON"],
    )
    assert redactor.entities("en") == [*PATTERN_ENTITIES, "PERSON", "LOCATION"]
    # German has no model configured: names stay, patterns still apply.
    assert redactor.redact(text, "de") == (
        "Maria Schmidt from Hamburg 😊 wrote to <EMAIL_ADDRESS>.",
        ["EMAIL_ADDRESS"],
    )


def test_configured_but_missing_spacy_model_is_a_clear_error(tmp_path):
    with pytest.raises(PiiModelError, match="en_core_web_lg"):
        PiiRedactor(["en"], PATTERN_ENTITIES, spacy_models={"en": "en_core_web_lg"})
    with pytest.raises(PiiModelError, match="does not exist"):
        PiiRedactor(["en"], PATTERN_ENTITIES, spacy_models={"en": str(tmp_path / "nowhere")})
    with pytest.raises(ValueError, match="not configured"):
        PiiRedactor(["en"], PATTERN_ENTITIES, spacy_models={"pt": "pt_core_news_sm"})


def test_false_positive_rate_on_real_reviews(redactor):
    """Real reviews (MARC) hold next to no PII: whatever is found there is almost surely a false alarm."""
    if not MARC.is_file():
        pytest.skip(f"real review data not available at {MARC}")
    by_language: dict[str, list[str]] = {}
    with MARC.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["lang"] in SENTENCES:
                by_language.setdefault(row["lang"], []).append(row["text"])
    rng = random.Random(0)
    sample = [(lang, text) for lang, texts in by_language.items() for text in rng.sample(texts, 500)]
    flagged = [(lang, text) for lang, text in sample if redactor.find(text, lang)]
    rate = len(flagged) / len(sample)
    assert rate <= 0.002, f"false-positive rate {rate:.4f}: {flagged[:5]}"


# --- the ways people really write PII -------------------------------------------------------------
# (entity, language, value): each value in its language's sentence is replaced whole by its placeholder.
REAL_WORLD = [
    # IBANs in any letter case, grouped by spaces or dashes or not at all; mod-97 decides.
    ("IBAN_CODE", "de", "de89 3704 0044 0532 0130 00"),
    ("IBAN_CODE", "de", "De89370400440532013000"),
    ("IBAN_CODE", "de", "DE89-3704-0044-0532-0130-00"),
    ("IBAN_CODE", "de", "AT61 1904 3002 3457 3201"),
    ("IBAN_CODE", "de", "ch93 0076 2011 6238 5295 7"),
    ("IBAN_CODE", "fr", "fr76 3000 6000 0112 3456 7890 189"),
    ("IBAN_CODE", "fr", "BE68 5390 0754 7034"),
    ("IBAN_CODE", "es", "es9121000418450200051332"),
    ("IBAN_CODE", "it", "it60x0542811101000000123456"),
    ("IBAN_CODE", "nl", "nl91abna0417164300"),
    ("IBAN_CODE", "en", "gb82 west 1234 5698 7654 32"),
    ("IBAN_CODE", "en", "IE29 AIBK 9311 5212 3456 78"),
    # Every major issuer, 13-19 digits, grouped by spaces, dashes or dots; Luhn decides.
    ("CREDIT_CARD", "en", "4111.1111.1111.1111"),  # Visa
    ("CREDIT_CARD", "en", "4111 1111 1111 1111 003"),  # Visa, 19 digits
    ("CREDIT_CARD", "de", "2221 0000 0000 0009"),  # Mastercard 2-series
    ("CREDIT_CARD", "de", "2720.9900.0000.0007"),
    ("CREDIT_CARD", "fr", "5105-1051-0510-5100"),  # Mastercard
    ("CREDIT_CARD", "fr", "3782 822463 10005"),  # American Express
    ("CREDIT_CARD", "es", "3714-496353-98431"),
    ("CREDIT_CARD", "es", "6011 0009 9013 9424"),  # Discover
    ("CREDIT_CARD", "it", "3566 0020 2036 0505"),  # JCB
    ("CREDIT_CARD", "it", "3056 930902 5904"),  # Diners Club, 14 digits
    ("CREDIT_CARD", "nl", "6759 6498 2643 8453 532"),  # Maestro, 19 digits
    ("CREDIT_CARD", "nl", "6799990100000000019"),
    ("CREDIT_CARD", "de", "6200 0000 0000 0005"),  # UnionPay
    ("CREDIT_CARD", "en", "2200 0000 0000 0004"),  # Mir
    # Phone numbers, national and international, with spaces, dots, dashes, slashes, parentheses, 00.
    ("PHONE_NUMBER", "de", "0151 12345678"),
    ("PHONE_NUMBER", "de", "0171/1234567"),
    ("PHONE_NUMBER", "de", "0160-1234567"),
    ("PHONE_NUMBER", "de", "0176 123 456 78"),
    ("PHONE_NUMBER", "de", "015112345678"),
    ("PHONE_NUMBER", "de", "0151 - 123 456 78"),
    ("PHONE_NUMBER", "de", "+49 151 12345678"),
    ("PHONE_NUMBER", "de", "+49 (0)151 12345678"),
    ("PHONE_NUMBER", "de", "+49.151.123.456.78"),
    ("PHONE_NUMBER", "de", "0049 151 12345678"),
    ("PHONE_NUMBER", "de", "0049 (0)30 1234567"),
    ("PHONE_NUMBER", "de", "0049 1511 2345 678"),
    ("PHONE_NUMBER", "de", "(030) 1234567"),
    ("PHONE_NUMBER", "de", "030/123 456 78"),
    ("PHONE_NUMBER", "de", "0664 1234567"),  # Austria
    ("PHONE_NUMBER", "de", "+43 664 1234567"),
    ("PHONE_NUMBER", "de", "044 668 18 00"),  # Switzerland
    ("PHONE_NUMBER", "de", "0041 79 123 45 67"),
    ("PHONE_NUMBER", "fr", "06.12.34.56.78"),
    ("PHONE_NUMBER", "fr", "06-12-34-56-78"),
    ("PHONE_NUMBER", "fr", "0612345678"),
    ("PHONE_NUMBER", "fr", "01 42 68 53 00"),
    ("PHONE_NUMBER", "fr", "+33 (0)6 12 34 56 78"),
    ("PHONE_NUMBER", "fr", "0033 6 12 34 56 78"),
    ("PHONE_NUMBER", "fr", "0033612345678"),
    ("PHONE_NUMBER", "fr", "0470 12 34 56"),  # Belgium
    ("PHONE_NUMBER", "fr", "+32 470 12 34 56"),
    ("PHONE_NUMBER", "es", "612 34 56 78"),
    ("PHONE_NUMBER", "es", "91 123 45 67"),
    ("PHONE_NUMBER", "es", "0034 612 345 678"),
    ("PHONE_NUMBER", "es", "+34-612-345-678"),
    ("PHONE_NUMBER", "es", "(+34) 612 345 678"),
    ("PHONE_NUMBER", "it", "347 1234567"),
    ("PHONE_NUMBER", "it", "347.123.4567"),
    ("PHONE_NUMBER", "it", "06 1234 5678"),
    ("PHONE_NUMBER", "it", "02-12345678"),
    ("PHONE_NUMBER", "it", "0039 347 1234567"),
    ("PHONE_NUMBER", "it", "+39 06 1234 5678"),
    ("PHONE_NUMBER", "nl", "06-12345678"),
    ("PHONE_NUMBER", "nl", "06 12 34 56 78"),
    ("PHONE_NUMBER", "nl", "0612345678"),
    ("PHONE_NUMBER", "nl", "020-1234567"),
    ("PHONE_NUMBER", "nl", "+31 (0)6 1234 5678"),
    ("PHONE_NUMBER", "nl", "0031 6 12345678"),
    ("PHONE_NUMBER", "nl", "0470 12 34 56"),  # Belgium
    ("PHONE_NUMBER", "en", "415-555-0132"),
    ("PHONE_NUMBER", "en", "415.555.0132"),
    ("PHONE_NUMBER", "en", "+1 (415) 555-0132"),
    ("PHONE_NUMBER", "en", "1-415-555-0132"),
    ("PHONE_NUMBER", "en", "07911 123456"),
    ("PHONE_NUMBER", "en", "+44 (0)7911 123456"),
    ("PHONE_NUMBER", "en", "0044 7911 123456"),
    ("PHONE_NUMBER", "en", "020 7123 4567"),
    ("PHONE_NUMBER", "en", "087 123 4567"),  # Ireland
    ("PHONE_NUMBER", "en", "+353 87 123 4567"),
    # E-mail addresses with "at" and "dot" written out, in each language's words and brackets.
    ("EMAIL_ADDRESS", "en", "anna at gmail dot com"),
    ("EMAIL_ADDRESS", "en", "anna.smith [at] gmail [dot] com"),
    ("EMAIL_ADDRESS", "en", "anna{at}gmail{dot}co{dot}uk"),
    ("EMAIL_ADDRESS", "en", "anna @ gmail.com"),
    ("EMAIL_ADDRESS", "en", "ANNA AT GMAIL DOT COM"),
    ("EMAIL_ADDRESS", "en", "anna@gmail(dot)com"),
    ("EMAIL_ADDRESS", "de", "anna (at) web punkt de"),
    ("EMAIL_ADDRESS", "de", "anna at web.de"),  # "at" is no German word: the plain dot is enough
    ("EMAIL_ADDRESS", "de", "anna.mueller(at)web.de"),
    ("EMAIL_ADDRESS", "de", "anna [ät] gmx [punkt] de"),
    ("EMAIL_ADDRESS", "fr", "anna arobase orange point fr"),
    ("EMAIL_ADDRESS", "fr", "jean point dupont arobase free point fr"),
    ("EMAIL_ADDRESS", "es", "anna arroba gmail punto com"),
    ("EMAIL_ADDRESS", "es", "anna(arroba)hotmail.es"),
    ("EMAIL_ADDRESS", "it", "anna chiocciola libero punto it"),
    ("EMAIL_ADDRESS", "it", "giulia[at]gmail(dot)com"),
    ("EMAIL_ADDRESS", "nl", "anna apenstaartje ziggo punt nl"),
    ("EMAIL_ADDRESS", "nl", "anna at ziggo punt nl"),
    # A URL with user and password is one URL.
    ("URL", "en", "https://anna:secret@example.com/account"),
    ("URL", "de", "ftp://jan:geheim@files.example.org/fotos"),
    ("URL", "fr", "https://anna@example.com"),
    # IPv4 and IPv6 addresses that the ipaddress module parses.
    ("IP_ADDRESS", "en", "2001:db8::1"),
    ("IP_ADDRESS", "de", "fe80::1ff:fe23:4567:890a"),
    ("IP_ADDRESS", "fr", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ("IP_ADDRESS", "es", "::ffff:192.0.2.128"),
    ("IP_ADDRESS", "nl", "192.168.178.1"),
    # Street and house number in each language's word order.
    ("STREET_ADDRESS", "de", "Berliner Str. 5a"),
    ("STREET_ADDRESS", "de", "Kaiser-Wilhelm-Allee 10"),
    ("STREET_ADDRESS", "de", "Mühlweg 3"),
    ("STREET_ADDRESS", "fr", "5 bis avenue Foch"),
    ("STREET_ADDRESS", "fr", "10, place de la République"),
    ("STREET_ADDRESS", "es", "C/ Alcalá 20"),
    ("STREET_ADDRESS", "es", "Avenida de la Constitución nº 12"),
    ("STREET_ADDRESS", "it", "Piazza Garibaldi, 3"),
    ("STREET_ADDRESS", "it", "via dei Mille 14"),
    ("STREET_ADDRESS", "nl", "Dorpsweg 12b"),
    ("STREET_ADDRESS", "nl", "Laan van Meerdervoort 5"),
    ("STREET_ADDRESS", "en", "10 Downing Street"),
    ("STREET_ADDRESS", "en", "1600 Pennsylvania Avenue"),
]


@pytest.mark.parametrize(("entity", "language", "value"), REAL_WORLD)
def test_pii_written_as_people_write_it_is_redacted_whole(redactor, entity, language, value):
    text = SENTENCES[language].format(value)
    assert redactor.redact(text, language) == (SENTENCES[language].format(placeholder(entity)), [entity])


# Look like PII to a pattern, and are not: dates, prices, order and serial numbers, barcodes, postal
# codes, years, versions, measures and product names, in the way reviews write them.
LOOK_ALIKES = {
    "de": [
        "Bestellt am 03.12.2018, geliefert am 5.12.18, Rechnung vom 03-12-2018 bzw. 2018-12-03.",
        "Im Zeitraum 03.12.2018 - 05.12.2018 und 03.12.2018-05.12.2018 war es nicht lieferbar.",
        "Preis 1.299,00 €, vorher € 1.299,00, jetzt 1 299,00 € oder 1.299.000 € bzw. EUR 12.345.678.",
        "Bestellnummer 3021234567, Auftrag 0301234567, Artikelnummer 015112345678.",
        "Bestellnr. 302-1234567-1234567, Sendungsnummer 00340434161234567890.",
        "Seriennummer 1234 5678 9012 3456, Karte 4111 1111 1111 1112, Nummer 1234567812345678.",
        "EAN 4006381333931, Barcode 0012345678905, nochmal 4006381333931.",
        "80331 München, 10115 Berlin, 1010 Wien, 8001 Zürich.",
        "Jahrgang 2018, von 1990-2000, gekauft 2018, 2019, 2020, Größe 38 40 42 44 46.",
        "Firmware 2.1.0.3, Version 4.2.1.10, Softwareversion 1.0.0.12, v2.1.0.3.",
        "Nach dem Firmware-Update auf 2.1.0.3 läuft alles, mit Firmware 10.0.19045.3803 nicht.",
        "iPhone 15 Pro, Galaxy S23, RTX 4090, i7-12700K, 140-160 cm, 2 x 20 cm, 1000 mAh.",
        "Maße 24 x 36 x 12 cm, 5000 mAh 20000 mAh, 2,5 kg, 10.000 mAh, 1.500 W, 230 V / 50 Hz.",
        "ISBN 978-3-16-148410-0, Öffnungszeiten 10:00-18:00, Lieferzeit 2-3 Tage.",
        "IBAN DE88 3704 0044 0532 0130 00 ist falsch, Art.-Nr. 0123456789.",
        "Verkäufer 1a, Rückweg 2 Stunden, Sitzplatz 3, Platz 1 in der Tabelle.",
    ],
    "fr": [
        "Reçu le 12.03.2024, 29,99 €, 1 299,00 €, commande 0123456789, taille 38-40.",
        "Code postal 75001 Paris, 13001 Marseille, né en 1985, modèle 0612345678.",
        "Référence 0612345678 et version 2.1.0.3, la voiture a 5 places, 2 cours de français.",
    ],
    "es": [
        "Llegó el 3/12/24, 29,99 €, pedido 612345678, código postal 28013 Madrid.",
        "Precio 1.299,00 €, 1.299 €, año 2024, referencia 612 345 678, versión 2.1.0.3.",
    ],
    "it": [
        "Arrivato il 12.03.2024, 29,99 €, ordine 3471234567, CAP 00186 Roma, versione 2.0.1.",
        "Prezzo 1.299,00 €, codice articolo 347 123 4567, arrivato via Amazon, 2 giorni dopo.",
        "Spedito via Prime 1 giorno dopo, comprato via Amazon 5 stelle.",
    ],
    "nl": [
        "Besteld op 03-12-2018, € 29,99, bestelling 0612345678, postcode 1012 AB Amsterdam.",
        "Bestelnummer 06-12345678, artikel 020-1234567, versie 2.1.0.3, nr 302-1234567.",
    ],
    "en": [
        "Bought on 12/03/2024 for $29.99, $1,299.00, order #302-1234567-1234567, order 4155550132.",
        "Model 3021234567, serial 4155550132, SKU 415-555-0132, 4155550132 units sold.",
        "ZIP 94105, SW1A 1AA London, D02 X285 Dublin, 1985, iPhone 15 Pro, 1080p, 4K 60fps.",
        "Ratio 3:2, at 12:30:45, open 10:00-18:00, not an address: 256.1.1.1, 1.2.3, 999.999.999.999.",
        "Updated the firmware to 2.1.0.3, build 10.0.19041.1, tracking 1Z999AA10123456784.",
        "I bought it at amazon dot com, look at amazon.de. Look at Amazon. It is cheaper. Thanks @amazon.de",
        "Give it 5 Stars, 2 Way Radio, 10 Best Way to cook.",
    ],
    # A language without its own engine: an Amazon order number is no US phone number either.
    "zh": ["订单编号：503-4265464-1830254。 尺码选项为7c，8，9c。"],
}


@pytest.mark.parametrize(
    ("language", "text"), [(language, text) for language, texts in LOOK_ALIKES.items() for text in texts]
)
def test_look_alikes_are_left_as_written(redactor, language, text):
    assert redactor.redact(text, language) == (text, [])


@pytest.mark.parametrize(
    ("language", "words", "number"),
    [
        ("es", "Llámame al", "612345678"),
        ("it", "Chiamami al", "3471234567"),
        ("en", "Call me on", "4155550132"),
        ("es", "Tel.", "912345678"),
    ],
)
def test_a_digit_run_without_separators_is_a_phone_number_after_a_phone_word(
    redactor, language, words, number
):
    """A bare run of digits without a trunk 0 is as often an order number: the word before it decides."""
    assert redactor.redact(f"{words} {number} ok", language) == (f"{words} <PHONE_NUMBER> ok", [PHONE])
    assert redactor.redact(f"Nummer {number} ok", language) == (f"Nummer {number} ok", [])


def test_an_order_word_of_an_earlier_sentence_does_not_hide_a_phone_number(redactor):
    """The word before a number decides only within its sentence: ordering a size is not an order number."""
    text = "Valt klein, ik moest een L bestellen. Mijn nummer is +32 (0)498 52 30 41 als de verkoper belt."
    assert redactor.redact(text, "nl") == (
        "Valt klein, ik moest een L bestellen. Mijn nummer is <PHONE_NUMBER> als de verkoper belt.",
        [PHONE],
    )
    # An abbreviation right before the number is no sentence end: it still names the number.
    assert redactor.redact("Ref. 0301234567 kam nicht an", "de") == ("Ref. 0301234567 kam nicht an", [])


def test_a_version_is_not_an_ip_address_but_an_address_is(redactor):
    for words in (
        "Firmware",
        "firmware version",
        "Version:",
        "v",
        "FW-Version",
        "versión",
        "versione",
        "versie",
    ):
        text = f"Nach Update: {words} 2.1.0.3 installiert."
        assert redactor.redact(text, "de") == (text, []), words
    assert redactor.redact("Router 2.1.0.3 antwortet nicht", "de") == (
        "Router <IP_ADDRESS> antwortet nicht",
        ["IP_ADDRESS"],
    )


def test_a_card_number_runs_no_further_than_the_card(redactor):
    assert redactor.redact("Karte 4111 1111 1111 1111 12/26 CVC 123", "de") == (
        "Karte <CREDIT_CARD> 12/26 CVC 123",
        ["CREDIT_CARD"],
    )
    # An IBAN's digits are not a card or a phone number of their own.
    assert redactor.redact("IBAN fr7630006000011234567890189.", "fr") == ("IBAN <IBAN_CODE>.", ["IBAN_CODE"])


def test_phone_numbers_next_to_other_numbers(redactor):
    assert redactor.redact("PLZ 80331 089 1234567 anrufen", "de") == (
        "PLZ 80331 <PHONE_NUMBER> anrufen",
        [PHONE],
    )
    assert redactor.redact("030 1234567 / 0151 1234567, 2 Stück", "de") == (
        "<PHONE_NUMBER> / <PHONE_NUMBER>, 2 Stück",
        [PHONE],
    )
    assert redactor.redact("Am 03.12.2018 0151 12345678 angerufen", "de") == (
        "Am 03.12.2018 <PHONE_NUMBER> angerufen",
        [PHONE],
    )
    # A word that counts after a short number ("2 mal", "18 ore") does not make a phone number a count.
    assert redactor.redact("Ruf 0151 1234567 mal an", "de") == ("Ruf <PHONE_NUMBER> mal an", [PHONE])
    assert redactor.redact("Nach dem Update: ruf an 0151 1234567", "de")[1] == [PHONE]
    assert redactor.redact("Chiamami al 347 1234567 ore 18", "it") == (
        "Chiamami al <PHONE_NUMBER> ore 18",
        [PHONE],
    )


def test_a_url_keeps_the_punctuation_of_its_sentence(redactor):
    assert redactor.redact("Fotos (https://example.com/a), danach https://example.com/b.", "en") == (
        "Fotos (<URL>), danach <URL>.",
        ["URL"],
    )


def test_national_numbers_of_every_configured_country_are_read_in_every_language():
    """A German mobile number in a Dutch review, a Swiss one in a Spanish review: people move and travel."""
    redactor = PiiRedactor(["nl", "es"], [PHONE])
    assert redactor.redact("De verkoper gaf me (0157) 76317208.", "nl") == (
        "De verkoper gaf me <PHONE_NUMBER>.",
        [PHONE],
    )
    assert redactor.redact("Me dio su móvil 078 839 27 39 ayer", "es")[1] == [PHONE]
    # Only the configured countries: a US number needs +1 in a setup for Germany alone.
    german_only = PiiRedactor(["de"], [PHONE], phone=PhoneOptions(regions=["DE"]))
    assert german_only.redact("Hotline 302-555-0132 anrufen", "de")[1] == []
    assert german_only.redact("Hotline +1 302 555 0132 anrufen", "de")[1] == [PHONE]
