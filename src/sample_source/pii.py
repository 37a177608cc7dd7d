"""Personal data planted in sample reviews: values that look and validate like the real thing.

A redaction step is only proven by values it must recognise for real: IBANs with correct mod-97 check
digits in each country's length and layout, Luhn-valid card numbers, phone numbers in each country's
national and international formats. Addresses and links use the reserved example domains (RFC 2606),
so nothing generated here points at a real mailbox or site.
"""

from __future__ import annotations

import random
import string
import unicodedata

from sample_source.vocab import PERSON_NAMES

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
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _mod97(text: str) -> int:
    """IBAN arithmetic: letters become 10..35, and the whole number is taken modulo 97."""
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: known country length and remainder 1 after moving the first four characters."""
    compact = iban.replace(" ", "").upper()
    country = compact[:2]
    if not compact.isalnum() or country not in BBAN_LAYOUT or len(compact) != 4 + len(BBAN_LAYOUT[country]):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def make_iban(rng: random.Random, country: str, grouped: bool) -> str:
    bban = "".join(
        rng.choice(string.ascii_uppercase) if kind == "a" else rng.choice(string.digits)
        for kind in BBAN_LAYOUT[country]
    )
    check = 98 - _mod97(bban + country + "00")
    iban = f"{country}{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if grouped else iban


def luhn_valid(number: str) -> bool:
    """The Luhn checksum card numbers carry; spaces and dashes between groups are ignored."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _luhn_complete(partial: str) -> str:
    """Append the check digit that makes `partial` pass the Luhn test."""
    for check in string.digits:
        if luhn_valid(partial + check):
            return partial + check
    raise AssertionError("unreachable: one of ten check digits always fits")


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


def _ascii(text: str) -> str:
    """'Jürgen.Müller' -> 'Jurgen.Muller': what people type into an address field."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "."))


def make_person(rng: random.Random, language: str) -> str:
    firsts, lasts = PERSON_NAMES[language]
    return f"{rng.choice(firsts)} {rng.choice(lasts)}"


def make_email(rng: random.Random, language: str) -> str:
    first, last = make_person(rng, language).split(" ", 1)
    local = rng.choice(
        (f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}{rng.randint(60, 99)}")
    )
    return f"{_ascii(local).lower()}@{rng.choice(EMAIL_DOMAINS)}"


def make_ip(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    first = rng.choice((31, 46, 62, 78, 81, 84, 85, 88, 91, 151, 176, 185, 212, 217))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def make_url(rng: random.Random, language: str) -> str:
    first, last = make_person(rng, language).split(" ", 1)
    handle = _ascii(first + last).lower()
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
