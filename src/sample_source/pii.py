"""Personal data planted in sample reviews: values that look and validate like the real thing.

A redaction step is only proven by values it must recognise for real: IBANs with correct mod-97 check
digits in each country's length and layout, Luhn-valid card numbers, phone numbers in each country's
national and international formats (written by hand: Faker's phone numbers are often ones that
phone validators reject). Check digits come from python-stdnum; names, and the user names in addresses
and links, from Faker's locale for the review's language. Addresses and links use the reserved example
domains (RFC 2606), so nothing generated here points at a real mailbox or site.
"""

from __future__ import annotations

import functools
import random
import string

from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn

# Review language -> the IBAN country of a customer writing in it, and that country's BBAN layout
# ("n" a digit, "a" an upper-case letter).
IBAN_COUNTRY = {"en": "GB", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "nl": "NL"}
BBAN_LAYOUT = {
    "GB": "aaaa" + "n" * 14,
    "DE": "n" * 18,
    "FR": "n" * 23,
    "ES": "n" * 20,
    "IT": "a" + "n" * 22,
    "NL": "aaaa" + "n" * 10,
}
# French mobile blocks in use (06 39 is unallocated), so phone validators accept the numbers.
FR_MOBILE_06 = tuple(n for n in range(10, 89) if n != 39)
FR_MOBILE_07 = tuple(range(30, 90))
# Review language -> the Faker locale its customers' names come from.
NAME_LOCALE = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL"}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def iban_valid(iban: str) -> bool:
    """ISO 13616: the registry's length and BBAN structure for the country, and the mod-97 check digits.

    The national check digits some BBANs carry (the French RIB key, the Spanish and Italian control
    characters) are not checked: the generated BBANs are random, and neither presidio's IBAN recognizer
    nor the ingestion PII audit checks them either.
    """
    return stdnum_iban.is_valid(iban, check_country=False)


def make_iban(rng: random.Random, country: str, grouped: bool) -> str:
    bban = "".join(
        rng.choice(string.ascii_uppercase) if kind == "a" else rng.choice(string.digits)
        for kind in BBAN_LAYOUT[country]
    )
    iban = country + stdnum_iban.calc_check_digits(f"{country}00{bban}") + bban
    return stdnum_iban.format(iban) if grouped else iban


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of a card number's 12 to 19 digits; spaces and dashes between groups are ignored."""
    digits = number.replace(" ", "").replace("-", "")
    return digits.isdigit() and 12 <= len(digits) <= 19 and luhn.is_valid(digits)


def _luhn_complete(partial: str) -> str:
    return partial + luhn.calc_check_digit(partial)


def make_card_number(rng: random.Random) -> str:
    """Visa, Mastercard or Amex, grouped the way people type them (spaces or dashes)."""
    brand = rng.random()
    sep = rng.choice((" ", "-"))
    if brand < 0.15:  # Amex: 15 digits, 4-6-5
        number = _luhn_complete(rng.choice(("34", "37")) + _digits(rng, 12))
        return sep.join((number[:4], number[4:10], number[10:]))
    prefix = "4" if brand < 0.6 else str(rng.randint(51, 55))
    number = _luhn_complete(prefix + _digits(rng, 15 - len(prefix)))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def make_phone(rng: random.Random, language: str) -> str:
    """A number in one of the formats customers of that language's main country write."""
    style = rng.random() < 0.5
    if language == "en":
        if style:  # North American: (NPA) NXX-XXXX
            area = rng.choice(("415", "212", "617", "312", "206"))
            return f"({area}) {rng.randint(201, 989)}-{_digits(rng, 4)}"
        return f"+44 7{rng.choice('4589')}{_digits(rng, 2)} {_digits(rng, 6)}"  # 76xx are pagers
    if language == "de":
        if style:
            return f"+49 30 {_digits(rng, 7)}"
        return f"01{rng.choice(('51', '52', '60', '70', '71', '76'))} {_digits(rng, 8)}"
    if language == "fr":
        first = rng.choice(("6", "7"))
        lead = str(rng.choice(FR_MOBILE_06 if first == "6" else FR_MOBILE_07))
        pairs = " ".join((lead, *(_digits(rng, 2) for _ in range(3))))
        return f"0{first} {pairs}" if style else f"+33 {first} {pairs}"
    if language == "es":
        if style:
            return f"+34 6{_digits(rng, 2)} {_digits(rng, 3)} {_digits(rng, 3)}"
        return f"6{_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}"
    if language == "it":
        mobile = f"3{rng.choice(('20', '28', '33', '35', '39', '40', '47', '49'))}"
        return f"+39 {mobile} {_digits(rng, 3)} {_digits(rng, 4)}" if style else f"{mobile} {_digits(rng, 7)}"
    if language == "nl":
        mobile = f"{rng.randint(1, 5)}{_digits(rng, 7)}"  # 06-1 to 06-5 are mobile numbers
        return f"+31 6 {mobile}" if style else f"06-{mobile}"
    raise ValueError(f"no phone format for language {language!r}")


@functools.cache
def _faker_of(locale: str) -> Faker:
    return Faker(locale)


def _faker(rng: random.Random, language: str) -> Faker:
    """The language's Faker, reseeded with one draw of `rng` per value: the same seed gives the same rows.

    Faker's own state never carries over between values, so what one value draws cannot shift the next.
    """
    fake = _faker_of(NAME_LOCALE[language])
    fake.seed_instance(rng.getrandbits(64))
    return fake


def make_person(rng: random.Random, language: str) -> str:
    fake = _faker(rng, language)
    return f"{fake.first_name()} {fake.last_name()}"


def make_email(rng: random.Random, language: str) -> str:
    """A user name made from a name of the language's locale, spelt as the locale types it ('juergen45')."""
    return f"{_faker(rng, language).user_name()}@{rng.choice(EMAIL_DOMAINS)}"


def make_ip(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    first = rng.choice((31, 46, 62, 78, 81, 84, 85, 88, 91, 151, 176, 185, 212, 217))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def make_url(rng: random.Random, language: str) -> str:
    handle = _faker(rng, language).user_name()  # lower-case letters, digits and inner hyphens only
    return rng.choice(
        (
            f"https://blog.example.com/{handle}/review-{rng.randint(10, 999)}",
            f"https://www.example.org/~{handle}/photos",
            f"http://{handle}.example.net/posts/{rng.randint(1000, 9999)}",
        )
    )


# PII defect code -> Presidio entity type of the planted value.
PII_ENTITY = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "iban": "IBAN_CODE",
    "credit_card": "CREDIT_CARD",
    "ip": "IP_ADDRESS",
    "url": "URL",
    "person": "PERSON",
}


def make_value(rng: random.Random, kind: str, language: str) -> str:
    if kind == "email":
        return make_email(rng, language)
    if kind == "phone":
        return make_phone(rng, language)
    if kind == "iban":
        return make_iban(rng, IBAN_COUNTRY[language], grouped=rng.random() < 0.5)
    if kind == "credit_card":
        return make_card_number(rng)
    if kind == "ip":
        return make_ip(rng)
    if kind == "url":
        return make_url(rng, language)
    if kind == "person":
        return make_person(rng, language)
    raise ValueError(f"unknown PII kind {kind!r}")
