"""The residual-PII audit: every kind of leak in every language and disguise, no false alarms on the
numbers reviews are full of, canaries, and the false-alarm rate on real reviews."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import pytest

from pipelines.ingestion import pii_audit
from pipelines.ingestion.pii_audit import (
    CANARIES,
    CARD,
    EMAIL,
    ENTITIES,
    IBAN,
    IP,
    PHONE,
    URL,
    CanaryTally,
    PiiAuditor,
    caught,
    check_canaries,
    is_card_number,
    normalize,
    plant,
)
from sample_source import pii as sample_pii

MARC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "marc" / "marc_test_all_langs.csv"

# (text, entity): leaks as reviewers write them, including the forms presidio's recognizers miss.
LEAKS = [
    # phone numbers: national and international forms of every configured region, odd groupings
    ("Bei Fragen ruft mich an: 0151 2345 6789, ich erkläre es gern.", PHONE),
    ("Meine Nummer +49 151 23456789 (auch WhatsApp).", PHONE),
    ("Erreichbar unter Tel.+49 (0)30 1234567 werktags.", PHONE),
    ("Festnetz 030/1234567 ab 18 Uhr, sonst Mailbox.", PHONE),
    ("Handy 0176 12345678 – gerne melden!", PHONE),
    ("Ik heb de klantenservice gebeld op 0157 7631 7208, 40 minuten gewacht.", PHONE),
    ("In Österreich 0664 1234567, bin oft unterwegs.", PHONE),
    ("Schweiz: +41 44 668 18 00 fragen.", PHONE),
    ("Appelez le 0033 6 12 34 56 78 pour plus d'infos.", PHONE),
    ("Mon numéro : 06.12.34.56.78, le soir.", PHONE),
    ("Contactez moi au +33 6 12 34 56 78 svp", PHONE),
    ("Belgique : 0470 12 34 56 après 17h.", PHONE),
    ("Llámame al 612 34 56 78 y te cuento.", PHONE),
    ("Mi móvil es +34 612 345 678, escríbeme.", PHONE),
    ("Chiamami al 333 123 4567 se hai dubbi.", PHONE),
    ("Cellulare: 3331234567 dopo le 18.", PHONE),
    ("Ufficio 06 1234 5678 a Roma.", PHONE),
    ("Bel me op 06-12345678 als je vragen hebt.", PHONE),
    ("Mijn nummer is +31 6 12345678.", PHONE),
    ("Call me at (201) 555-0123 if it breaks.", PHONE),
    ("My cell is 201.555.0123, text first.", PHONE),
    ("UK mobile 07911 123456, evenings only.", PHONE),
    ("Ring +44 7911 123456 for the spare parts.", PHONE),
    ("Ireland: 087 123 4567.", PHONE),
    # IBANs: any case, any grouping
    ("Erstattung bitte auf IBAN de89 3704 0044 0532 0130 00, danke.", IBAN),
    ("Konto DE89370400440532013000 für die Rückzahlung.", IBAN),
    ("Remboursez sur fr14 2004 1010 0505 0001 3m02 606 merci", IBAN),
    ("Account GB82-WEST-1234-5698-7654-32 for the refund.", IBAN),
    ("Rekening nl91.abna.0417.1643.00 graag.", IBAN),
    ("Il mio IBAN è IT60 X054 2811 1010 0000 0123 456.", IBAN),
    ("Mi cuenta ES91 2100 0418 4502 0005 1332, gracias.", IBAN),
    # cards: dotted, dashed, 2-series Mastercard, Amex grouping, 19-digit Maestro, one block
    ("My card 4111.1111.1111.1111 was charged twice.", CARD),
    ("Karte 4111 1111 1111 1111 doppelt belastet.", CARD),
    ("Mastercard 2221-0000-0000-0009 rejected.", CARD),
    ("Carte 5555 5555 5555 4444 débitée deux fois.", CARD),
    ("Amex 3782 822463 10005 was billed.", CARD),
    ("Maestro 6799.9901.0000.0000.019 addebitata.", CARD),
    ("Tarjeta 4111111111111111 cobrada dos veces.", CARD),
    ("Pagué con la tarjeta 3095-200712-2167 y me cobraron dos veces.", CARD),  # Diners, 4-6-4
    ("Hab mit der Karte 4528 9833 92644 bezahlt.", CARD),  # 13-digit Visa
    # e-mail addresses: plain, spaced, bracketed, written out in every language, full-width
    ("Write to jane.doe@example.org for the manual.", EMAIL),
    ("Mail me: jane dot doe at example dot com", EMAIL),
    ("jane.doe [at] example [dot] com for questions", EMAIL),
    ("Contact jdoe79 at gmail.com for photos.", EMAIL),
    ("Send it to anna at gmx.de please.", EMAIL),
    ("Happy to send photos, drop me a line at jenny at btinternet dot com.", EMAIL),
    ("jane . doe @ example . org works too", EMAIL),
    ("Schreibt mir an max.mustermann (at) example (punkt) de bitte.", EMAIL),
    ("Mail: max punkt mustermann ät web punkt de", EMAIL),
    ("max klammeraffe example punkt de antwortet schnell", EMAIL),
    ("Écrivez à jean.dupont arobase example point fr merci.", EMAIL),
    ("Escríbeme a juan punto perez arroba example punto es gracias.", EMAIL),
    ("Scrivimi a mario.rossi chiocciola example punto it grazie.", EMAIL),
    ("Mail naar jan.jansen apenstaartje example punt nl graag.", EMAIL),
    ("Adresse ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＯＲＧ (pleine chasse).", EMAIL),
    # IP addresses
    ("My router at 192.168.178.1 keeps dropping.", IP),
    ("Server 203.0.113.42 war nicht erreichbar.", IP),
    ("IPv6 2001:db8:85a3::8a2e:370:7334 assigned.", IP),
    ("Link-local fe80::1ff:fe23:4567:890a on eth0.", IP),
    ("Mapped ::ffff:192.0.2.128 address.", IP),
    # URLs, with user-info above all
    ("Camera feed https://jdoe:s3cret@example.com/cam if you want.", URL),
    ("Fotos unter ftp://max:geheim@files.example.net/bilder ansehen.", URL),
    ("Login admin:hunter2@cam.example.org works.", URL),
    ("My profile https://example.com/profile/jane has photos.", URL),
    ("Voir www.example.org/jean pour les photos.", URL),
]


@pytest.fixture(scope="module")
def auditor() -> PiiAuditor:
    return PiiAuditor()


@pytest.mark.parametrize(("text", "entity"), LEAKS, ids=[f"{e}-{i}" for i, (_, e) in enumerate(LEAKS)])
def test_every_kind_of_leak_is_found(auditor: PiiAuditor, text: str, entity: str):
    assert auditor.find(text) == [entity]


# Realistic review text full of numbers that are no PII: one hit fails a whole daily run.
NOT_PII = [
    "Bestellnummer 4111 1111 1111 1112, schnell geliefert, top Wasserkocher.",  # card length, fails Luhn
    "Order 302-1234567-1234567 arrived in two days.",
    "Bestell-Nr. 028-1234567-1234567, alles bestens.",
    "Bestellnummer 3025551234 kam nach 2 Tagen.",  # ten digits: a valid US number, written as an id
    "Order number 1234567890, delivered on time.",
    "Pedido 405-1234567-7654321, llegó tarde.",
    "Bestelling 12345678, geleverd op 1-6-2020.",
    "Kundennummer 0123456, Rechnung Nr. 2019-123456.",
    "Ref: 0612345678 sur la commande.",
    "Geliefert am 03.12.2018, Rechnung vom 2019-05-12.",
    "Acheté le 12/05/2019, reçu le 15.05.2019 à 14:30.",
    "Zeitraum 2015-2019, dann 01/2019 - 03/2020 im Einsatz.",
    "Kostet 19,99 € statt 24.99 €, also 5 € gespart.",
    "Prix 1 299 € au lieu de 1 499 €, 1 500 000 exemplaires vendus.",
    "Il prezzo è 39,99 euro, arrivato il 05/03/2020.",
    "Firmware 2.1.0.3 installiert, läuft stabil.",
    "After the update to 1.0.12.4 it loads faster, the 0.25.1.0 beta did not.",
    "Aggiornato a 1.0.12.4, actualizado a la 1.0.12.4, mise à jour 1.0.12.4, bijgewerkt naar 1.0.12.4.",
    "EAN 4006381333931 steht auf der Packung.",
    "Barcode 5901234123457 on the box, UPC 0 12345 67890 5.",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2.",
    "PLZ 10115 Berlin, Lieferung nach 75001 Paris, CP 28001 Madrid.",
    "Maße 30 x 40 x 50 cm, 2 x 1,5 m Kabel, 100-240V 50/60Hz.",
    "1920x1080, 24/7 im Einsatz, 16:9 und 3:2:1 bei 12:30:45.",
    "Sendungsnummer 00340434161234567890 kam nie an.",
    "Größen 36 38 40 42 44 46, ich habe 10 12 14 16 18 probiert.",
    "Samsung Galaxy S20 FE 5G 128GB, i7-8700K und RTX 3080.",
    "El número de serie 5147 0279 1122 6095 está debajo.",  # card groups, Luhn-invalid
    "Sinds de update naar firmware 10.0.19045.3803 valt de wifi niet meer weg.",
    "Tamaño 1.5 x 2.3 m, peso 0,5 kg, batería de 10.000 mAh.",
    "I bought it at amazon.com for 20 dollars; look at this dot com bubble.",
    "Ordered it at web.de shop, arrived at home. Score 10/10.",
    "Removed: <PHONE_NUMBER>, <EMAIL_ADDRESS>, <IBAN_CODE>, <CREDIT_CARD>, <IP_ADDRESS>, <URL>.",
    "Ruf <PHONE_NUMBER> an oder schreib an <EMAIL_ADDRESS> 5 Sterne.",
    "C'était 2 fois mieux, note 4.5/5, version 3.0.1 du logiciel.",
    "Twitter @marke fragen. Mit Adresse auf @Bild. Cover",
    "",
]


@pytest.mark.parametrize("text", NOT_PII)
def test_numbers_and_words_that_only_look_like_pii_pass(auditor: PiiAuditor, text: str):
    assert auditor.find(text) == []


def test_nothing_to_read_is_nothing_found(auditor: PiiAuditor):
    assert auditor.find(None) == auditor.find("") == auditor.find("   ") == []


def test_what_the_sample_generator_plants_is_all_found(auditor: PiiAuditor):
    """The sample source plants checksum-valid values in each language's formats; every one is a leak."""
    rng = random.Random(7)
    missed = []
    for _ in range(40):
        for language, country in sample_pii.IBAN_COUNTRY.items():
            values = [
                (PHONE, sample_pii.make_phone(rng, language)),
                (IBAN, sample_pii.make_iban(rng, country, grouped=rng.random() < 0.5)),
                (EMAIL, sample_pii.make_email(rng, language)),
                (CARD, sample_pii.make_card_number(rng)),
                (IP, sample_pii.make_ip(rng)),
            ]
            for entity, value in values:
                text = f"Top Produkt, 5 Sterne. Kontakt: {value} - geliefert am 12.05.2019, 2 Stück."
                if entity not in auditor.find(text):
                    missed.append((entity, value))
    assert missed == []


def test_findings_point_at_the_value_in_the_normalized_text(auditor: PiiAuditor):
    text = "Karte\u200b 4111.1111.1111.1111 und <PHONE_NUMBER> Tel. ０１５１ ２３４５ ６７８９"
    normalized = normalize(text)
    assert "\u200b" not in normalized and "<PHONE_NUMBER>" not in normalized
    found = {f.entity: normalized[f.start : f.end] for f in auditor.scan(text)}
    assert found == {CARD: "4111.1111.1111.1111", PHONE: "0151 2345 6789"}


def test_card_ranges_and_lengths():
    assert is_card_number("4111111111111111")
    assert is_card_number("2221000000000009")  # Mastercard 2-series
    assert is_card_number("378282246310005")  # Amex, 15 digits
    assert is_card_number("6799990100000000019")  # Maestro, 19 digits
    assert not is_card_number("4111111111111112")  # Luhn
    assert not is_card_number("7111111111111114")  # Luhn-valid, but no issuer starts with 7
    assert not is_card_number("37828224631000")  # Amex prefix at 14 digits


def test_only_the_configured_entities_are_audited():
    phones_only = PiiAuditor([PHONE], ["DE"])
    text = "Mail jane.doe@example.org oder 0151 2345 6789"
    assert phones_only.find(text) == [PHONE]
    assert PiiAuditor([EMAIL]).find(text) == [EMAIL]
    with pytest.raises(ValueError, match="no independent detector"):
        PiiAuditor([PHONE, "PERSON"])
    with pytest.raises(ValueError, match="unknown phone region"):
        PiiAuditor([PHONE], ["XX"])


def test_national_numbers_need_their_region():
    """Regions decide which national plans count; international numbers are found with any."""
    german_only = PiiAuditor([PHONE], ["DE"])
    assert german_only.find("Ruf an: 0151 2345 6789") == [PHONE]
    assert german_only.find("Call (201) 555-0123") == []
    assert german_only.find("Call +1 201 555 0123") == [PHONE]


# --- canaries ---------------------------------------------------------------------------------------


def test_the_canaries_cover_every_entity_in_several_languages():
    assert {c.entity for c in CANARIES} == set(ENTITIES)
    assert {c.language for c in CANARIES} == {"en", "de", "fr", "es", "it", "nl"}
    for entity in (PHONE, EMAIL):
        assert len({c.language for c in CANARIES if c.entity == entity}) == 6
    assert all(c.value in c.sentence for c in CANARIES)


def test_every_canary_is_caught_wherever_it_is_planted(auditor: PiiAuditor, sample_reviews):
    hosts = [
        *(text for texts in sample_reviews.values() for text in texts),
        *NOT_PII,
        "Bestell-Nr. 028-1234567-1234567. Kundennummer",  # ends on an identifier word
        "Write to jane.doe@example.org. Tel. 0151 2345 6789!",  # a host with PII of its own
    ]
    rng = random.Random(0)
    missed = [(c.value, host) for host in hosts for c in CANARIES if not caught(auditor, host, c, rng)]
    assert missed == []


def test_a_canary_is_planted_as_a_line_of_its_own_and_found_where_it_was_put():
    canary = CANARIES[0]
    shadow, start = plant("Erster Satz. Zweiter Satz! Dritter", canary, random.Random(3))
    assert shadow[start : start + len(canary.value)] == canary.value
    assert f"\n{canary.sentence}\n" in f"\n{shadow}"
    assert shadow.replace(canary.sentence, "").split() == ["Erster", "Satz.", "Zweiter", "Satz!", "Dritter"]


def test_pii_already_in_a_text_does_not_stand_in_for_a_missed_canary(monkeypatch, auditor: PiiAuditor):
    """The host text holds a phone number of its own. A phone detector that stops at the first number
    of a text still finds "a phone number" in the shadow copy, but not the canary, and the canary says
    so."""
    real = PiiAuditor.phones
    monkeypatch.setattr(PiiAuditor, "phones", lambda self, text: real(self, text)[:1])
    host = "Festnetz: 030 1234567."
    canary = next(c for c in CANARIES if c.entity == PHONE and c.value != "030 1234567")
    seed = next(s for s in range(50) if plant(host, canary, random.Random(s))[1] > len(host))  # after it
    shadow, _ = plant(host, canary, random.Random(seed))
    assert auditor.find(shadow) == [PHONE]
    assert not caught(auditor, host, canary, random.Random(seed))


def test_a_broken_detector_misses_its_canaries(monkeypatch, auditor: PiiAuditor):
    monkeypatch.setattr(PiiAuditor, "phones", lambda self, text: [])
    tally = CanaryTally()
    check_canaries(auditor, ["Guter Mixer, sehr leise.", "Top!"], random.Random(1), tally)
    phones = sum(1 for c in CANARIES if c.entity == PHONE)
    assert tally.planted[PHONE] == phones and tally.caught[PHONE] == 0
    assert tally.missed() == {entity: (phones if entity == PHONE else 0) for entity in ENTITIES}


def test_canaries_go_into_empty_batches_too(auditor: PiiAuditor):
    tally = CanaryTally()
    check_canaries(auditor, [], random.Random(0), tally)
    assert sum(tally.planted.values()) == len(CANARIES) == len(pii_audit.canaries_for(auditor))
    assert tally.caught == tally.planted


def test_canaries_follow_the_configured_entities_and_regions():
    """A national number is no number where its region is not configured: it is not planted there."""
    narrow = PiiAuditor([PHONE, IBAN], ["DE", "FR"])
    planted = pii_audit.canaries_for(narrow)
    assert {c.entity for c in planted} == {PHONE, IBAN}
    assert {c.region for c in planted if c.entity == PHONE} == {None, "DE", "FR"}
    assert all(caught(narrow, "Gutes Gerät.", c, random.Random(0)) for c in planted)


# --- real reviews ----------------------------------------------------------------------------------


def test_false_alarm_rate_on_real_reviews(auditor: PiiAuditor):
    """MARC reviews in six languages hold next to no PII. Whatever the audit finds there is reported
    by type; more than a handful in 3000 would fail daily runs for nothing."""
    if not MARC.is_file():
        pytest.skip(f"real review data not available at {MARC}")
    by_language: dict[str, list[str]] = {}
    with MARC.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_language.setdefault(row["lang"], []).append(row["text"])
    rng = random.Random(0)
    sample = [text for texts in by_language.values() for text in rng.sample(texts, 500)]
    found = Counter(entity for text in sample for entity in auditor.find(text))
    print(f"audit findings in {len(sample)} real reviews, by entity: {dict(found)}")
    assert len(sample) == 3000
    assert sum(found.values()) <= 3, dict(found)
