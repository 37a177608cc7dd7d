"""An independent audit for PII left in published review text: the validate step's residual-PII gate.

Redaction (`pii.PiiRedactor`) runs presidio's recognizers. Checking its output with those same
recognizers can only confirm what they already found: a phone number in a grouping they reject, a
lower-case IBAN, a card number written with dots or an address written out as "jane punto doe arroba
example punto es" passes redaction and passes the check. This audit shares no pattern and no validator
with the redactor:

- IBAN: every run of alphanumeric groups that starts like one (two letters, two digits), compacted
  whatever its case and separators, checked by python-stdnum (mod-97 and the country's BBAN format);
- credit cards: every window of digit groups with 13-19 digits that is grouped like a card, checked
  with the Luhn digit (python-stdnum) and the issuers' number ranges and lengths;
- phone numbers: every window of digit groups, checked against phonenumbers' numbering plans
  (`is_valid_number`), with the evidence a written number carries (below);
- e-mail addresses: with `@` and written out with "at"/"dot" words or brackets in en, de, fr, es, it
  and nl, the domain's suffix checked against the public-suffix list bundled with tldextract;
- IP addresses: IPv4 and IPv6 candidates checked by `ipaddress`;
- URLs: anything with a scheme (`https://`, `ftp://` ...), `www.` addresses and `user:password@host`.

One failed review fails a whole daily run, so the rules are built to be exact, not generous:

- Dates (`03.12.2018`, `2019-05-12`) are masked before digits are read: read as digits they are valid
  German numbers.
- A phone window must show that it is dialled: a `+` or `00` prefix (then any country's plan counts),
  a trunk `0` (the national form in DE AT CH FR BE NL GB IE, and the area code in IT), or, in regions
  written without a trunk prefix (US, ES, IT mobiles), the whole run grouped like a phone number
  (`(201) 555-0123`, `612 34 56 78`) or a phone word just before it. A bare `3025551234` after
  "Bestellnummer" is an order number; the same digits after "Handy:" are not. A national number
  shortly after an identifier word in the same sentence ("Kundennummer 0123456", "Ref: 0612...")
  is an identifier too; `+` and `00` numbers are phone numbers wherever they stand.
- A card must be written as one block or in card groups (4-4-4-4, 4-6-5, ...): an order number such as
  `302-1234567-1234567` has card length and a valid Luhn digit one time in ten. A run written like a
  barcode that is a valid EAN/GTIN is one; Amazon order ids (`028-1234567-1234567`) are masked.
- IPv4 addresses whose parts are all single digits, or that follow a version word, are version
  strings (`2.1.0.3`, `Firmware 1.0.12.4`).
- "at" is an English preposition: with it, an address needs a local part that looks like one
  (`jane.doe`, `jdoe79`) or a mail provider's domain, so "bought it at amazon.com" is no address.

Placeholders left by redaction (`<PHONE_NUMBER>`) are masked first and never count. Findings carry
positions in the normalized text so a canary can be told apart from other PII in the text it was
planted into; the step reports only entity types and review ids, never the text.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# tldextract would fetch the public-suffix list from the network when constructed without this: an
# empty value makes it use the snapshot bundled with the package.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import phonenumbers
import regex
import tldextract
from stdnum import ean, iban, luhn

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IBAN = "IBAN_CODE"
CARD = "CREDIT_CARD"
IP = "IP_ADDRESS"
URL = "URL"
# In the order they are looked for: each finding is masked before the next detector reads the text,
# so the host of a URL is not also an address, and the digits of an IBAN are not also a phone number.
ENTITIES = (URL, EMAIL, IBAN, IP, CARD, PHONE)
DEFAULT_REGIONS = ("US", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "ES", "IT", "NL")

MASK = "\ufffc"  # neither a word character nor a separator: masked text joins nothing
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*>")
_INVISIBLE = regex.compile(r"\p{Cf}")


@dataclass(frozen=True)
class Finding:
    """One entity found: its type and where it lies in `normalize(text)`."""

    entity: str
    start: int
    end: int


def normalize(text: str) -> str:
    """The text as the audit reads it: compatibility forms folded (full-width digits and `＠`),
    invisible format characters removed, and redaction placeholders masked."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _PLACEHOLDER.sub(lambda m: MASK * len(m.group()), text)


def _masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + MASK * (end - start) + text[end:]
    return text


# --- URLs ---------------------------------------------------------------------------------------

_URL_PREFILTER = re.compile(r"(?i)://|www\d{0,3}\.|@")
_SCHEME_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s<>\"'`{}|\\^\ufffc]+")
_WWW_URL = re.compile(r"(?i)(?<![\w.@])www\d{0,3}\.[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s<>\"'`{}|\\^\ufffc]*")
_USERINFO = re.compile(r"(?i)(?<![\w.%+-])[\w.%+-]+:[^\s@/:\ufffc]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def _urls(text: str) -> list[tuple[int, int]]:
    if not _URL_PREFILTER.search(text):
        return []
    spans = [m.span() for m in _SCHEME_URL.finditer(text)]
    spans += [m.span() for m in _WWW_URL.finditer(_masked(text, spans))]
    spans += [m.span() for m in _USERINFO.finditer(_masked(text, spans))]
    return spans


# --- e-mail addresses ---------------------------------------------------------------------------

_AT_WORDS = r"at|ät|arobase|arroba|chiocciola|apenstaartje|klammeraffe"
_DOT_WORDS = r"dot|punkt|point|punto|punt"
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
# A literal "@" or "." stands alone or between two spaces: "der @Bild. Cover" is a mention and a
# sentence end, "jane . doe @ example . org" an address written to dodge a filter.
_AT = rf"(?:\s*{_OPEN}\s*(?:{_AT_WORDS}|@)\s*{_CLOSE}\s*|\s+(?:{_AT_WORDS})\s+|@|\s+@\s+)"
_DOT = rf"(?:\s*{_OPEN}\s*(?:{_DOT_WORDS}|\.)\s*{_CLOSE}\s*|\s+(?:{_DOT_WORDS})\s+|\.|\s+\.\s+)"
_ATOM = r"[\w%+-]+"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_EMAIL = re.compile(
    rf"(?i)(?<![\w.%+-])(?P<local>{_ATOM}(?:{_DOT}{_ATOM})*)(?P<at>{_AT})"
    rf"(?P<domain>{_LABEL}(?:{_DOT}{_LABEL})+)(?![\w-])"
)
_EMAIL_PREFILTER = re.compile(rf"(?i)@|\b(?:{_AT_WORDS})\b")
_DOT_ANY = re.compile(_DOT, re.IGNORECASE)
_PLAIN_AT = re.compile(r"(?i)\s+(?:at|ät)\s+")
# With a plain "at", these make the local part look like an address: jane.doe, jdoe79, j_doe.
_ADDRESS_LIKE_LOCAL = re.compile(r"[\d._%+-]")
# Words that stand before "at" in English prose far more often than a name does.
_PROSE_BEFORE_AT = frozenset(
    {
        "it",
        "them",
        "this",
        "that",
        "these",
        "those",
        "one",
        "ones",
        "me",
        "us",
        "him",
        "her",
        "you",
        "everything",
        "something",
        "anything",
        "all",
        "both",
        "mine",
        "ours",
        "stuff",
        "item",
        "items",
        "product",
        "products",
        "order",
        "price",
        "prices",
        "bought",
        "buy",
        "buying",
        "shop",
        "shopping",
        "available",
        "sold",
        "look",
        "looking",
        "looked",
        "purchased",
        "ordered",
        "sale",
        "cheaper",
        "cheap",
        "online",
        "here",
        "there",
        "well",
        "deal",
        "deals",
        "arrived",
        "delivered",
        "got",
        "get",
        "found",
        "find",
        "store",
        "offer",
    }
)
# Mail providers: "write to anna at gmx.de" is an address even with a bare name before the "at".
_MAIL_PROVIDERS = frozenset(
    {
        "gmail",
        "googlemail",
        "yahoo",
        "hotmail",
        "outlook",
        "live",
        "msn",
        "icloud",
        "me",
        "mac",
        "aol",
        "gmx",
        "web",
        "t-online",
        "freenet",
        "posteo",
        "mailbox",
        "protonmail",
        "proton",
        "orange",
        "wanadoo",
        "free",
        "sfr",
        "laposte",
        "libero",
        "virgilio",
        "tiscali",
        "alice",
        "tin",
        "telefonica",
        "movistar",
        "terra",
        "ziggo",
        "kpnmail",
        "hetnet",
        "planet",
        "home",
        "telenet",
        "skynet",
        "bluewin",
        "hispeed",
        "yandex",
        "mail",
        "zoho",
    }
)


@lru_cache(maxsize=1)
def _suffixes() -> tldextract.TLDExtract:
    # The bundled snapshot only: no cache folder, no download.
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=False)


def _is_address(match: re.Match[str]) -> bool:
    domain = _DOT_ANY.sub(".", match.group("domain")).lower()
    parts = _suffixes()(domain)
    if not parts.suffix or not parts.domain:
        return False
    if _PLAIN_AT.fullmatch(match.group("at")):
        local = match.group("local")
        dotted = _DOT_ANY.search(local) is not None
        if dotted or _ADDRESS_LIKE_LOCAL.search(local):
            return True
        # "jenny at btinternet dot com": a "dot" written out is no prose "at" either
        dot_written = "." not in match.group("domain")
        known = parts.domain in _MAIL_PROVIDERS
        return (known or dot_written) and local.lower() not in _PROSE_BEFORE_AT
    return True


def _emails(text: str) -> list[tuple[int, int]]:
    if not _EMAIL_PREFILTER.search(text):
        return []
    spans = []
    position = 0
    while match := _EMAIL.search(text, position):
        if _is_address(match):
            spans.append(match.span())
            position = match.end()
        else:  # an address may start inside what was taken for a local part ("write at jane.doe at ...")
            position = match.start() + 1
    return spans


# --- IBANs ---------------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?i)(?<![a-z0-9])[a-z]{2}\d{2}")
_IBAN_GROUP = re.compile(r"[ .-]?([A-Za-z0-9]+)")
_IBAN_LENGTHS = range(15, 35)


def _ibans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start in _IBAN_START.finditer(text):
        if spans and start.start() < spans[-1][1]:
            continue
        compact, position = "", start.start()
        while len(compact) < _IBAN_LENGTHS.stop and (group := _IBAN_GROUP.match(text, position)):
            compact += group.group(1).upper()
            position = group.end()
            if len(compact) in _IBAN_LENGTHS and iban.is_valid(compact, check_country=False):
                spans.append((start.start(), position))
                break
    return spans


# --- IP addresses ---------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?i)(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f.]*(?![\w:])")
_VERSIONS = (
    r"v|ver|vers|versi[oó]n\w*|versie|firmware|fw|build|release\w*|updat\w*|upgrad\w*|aktualisi\w*|"
    r"aggiorn\w*|actualiz\w*|bijgewerkt|jour|bios|software|os|ios|android|app|driver|treiber|pilote|"
    r"controlador|patch\w*|beta|alpha|rc|stable"
)
# "Firmware 1.0.12.4", "update to 1.0.12.4", "aggiornato a 1.0.12.4", "mise à jour 1.0.12.4",
# "1.0.12.4 beta"
_VERSION_BEFORE = re.compile(rf"(?i)\b(?:{_VERSIONS})\b(?:\W+\w{{1,4}}){{0,2}}\W{{0,3}}$")
_VERSION_AFTER = re.compile(rf"(?i)^\W{{0,3}}(?:{_VERSIONS})\b")


def _ips(text: str) -> list[tuple[int, int]]:
    spans = []
    if text.count(".") >= 3:
        for match in _IPV4.finditer(text):
            try:
                address = ipaddress.IPv4Address(match.group())
            except ValueError:
                continue
            if all(len(part) == 1 for part in match.group().split(".")) or address.packed[0] == 0:
                continue  # 2.1.0.3 and 0.25.1.0 are version numbers; 0.0.0.0/8 addresses no host
            before = _VERSION_BEFORE.search(text, max(0, match.start() - 32), match.start())
            if before or _VERSION_AFTER.search(text[match.end() : match.end() + 16]):
                continue
            spans.append(match.span())
    if text.count(":") >= 2:
        for match in _IPV6.finditer(text):
            candidate = match.group().rstrip(".")
            if sum(1 for part in re.split(r"[:.]", candidate) if part) < 3:
                continue  # "::", "fe80::1": too little to identify anyone, and mostly not addresses
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            spans.append((match.start(), match.start() + len(candidate)))
    return spans


# --- digit runs: cards and phone numbers -----------------------------------------------------------

# Numbers that are no phone or card whatever their digits, masked before digit runs are read:
# day-month-year and year-month-day with one separator kind, not continued by more digit groups
# (06.12.34.56.78 is a French phone number, not a date); month/year; Amazon order ids (028-...).
_DATE = re.compile(
    r"(?<![\d.\-/])(?:(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})|(\d{4})([./-])(\d{1,2})\6(\d{1,2}))"
    r"(?![\d]|[./-]\d)"
)
_MONTH_YEAR = re.compile(r"(?<![\d.\-/])(?:0?[1-9]|1[0-2])[./-](?:19|20)\d{2}(?![\d]|[./-]\d)")
_ORDER_ID = re.compile(r"(?<![\d-])\d{3}-\d{7}-\d{7}(?![\d-])")
# Groups of digits joined by one separator: a space, or a dash, dot or slash (a dash or slash may
# stand between spaces), or none after a closing parenthesis ("+49 (0)30"). "78. 5" is the end of a
# sentence and a new number, not one run.
_RUN = re.compile(r"(?:(?<![\d+])\+ ?|(?<![\w+]))\(?\d+\)?(?:(?: [-/] |[-./]| |(?<=\)))\(?\d+\)?)*")
_GROUP = re.compile(r"\(?(\d+)\)?")
_PHONE_WORDS = (
    r"tel|tél|telefon|telephone|téléphone|teléfono|telefono|telefoon|phone|call|called|calling|ring|"
    r"anrufen|angerufen|ruf|rufnummer|telefonnummer|handynummer|telefoonnummer|appelle[rz]?|appelé|"
    r"llama|llámame|llamar|llamé|chiama|chiamami|chiamare|chiamato|bel|bellen|gebeld|mobile?|móvil|"
    r"movil|cellulare|cell|handy|portable|gsm|whatsapp|sms|fax|hotline"
)
_PHONE_WORD = re.compile(rf"(?i)\b(?:{_PHONE_WORDS})\b")
_PHONE_WORD_BEFORE = re.compile(rf"(?i)\b(?:{_PHONE_WORDS})\b\W{{0,12}}$")
# A national number shortly after one of these words, in the same sentence, is an identifier, not a
# number to call ("Kundennummer 0123456", "Ref: 0612345678", "Bestell-Nr. 028..."), unless a phone
# word stands between them.
_IDENTIFIER_BEFORE = re.compile(
    r"(?i)\b(?:order|invoice|tracking|serial|serie|série|serienummer|sku|asin|ean|upc|gtin|isbn|imei|"
    r"model|modell|ref|reference|référence|referencia|riferimento|code|codice|código|barcode|commande|"
    r"facture|pedido|factura|seguimiento|ordine|fattura|bestelling|bestelnummer|factuur|"
    r"(?:bestell|kunden|serien|artikel|rechnungs|auftrags|sendungs|paket|klant|klanten|order|zending)"
    r"-?(?:nummer|nr)\w*|bestellung\w*|rechnung\w*)\b"
    r"(?:[\s-]*(?:nr|no|n°|nº|num|#)\.?)?(?:[^.!?\n]|\.(?!\s)){0,16}$"
)


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int
    end: int
    parenthesized: bool


def _not_callable_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _ORDER_ID.finditer(text)]
    spans += [m.span() for m in _MONTH_YEAR.finditer(text)]
    for match in _DATE.finditer(text):
        if match.group(1):
            first, second = int(match.group(1)), int(match.group(3))
            plausible = min(first, second) >= 1 and max(first, second) <= 31 and min(first, second) <= 12
        else:
            plausible = 1 <= int(match.group(7)) <= 12 and 1 <= int(match.group(8)) <= 31
        if plausible:
            spans.append(match.span())
    return spans


def _runs(text: str) -> list[tuple[bool, list[_Group]]]:
    """Each run of digit groups: whether it starts with `+`, and its groups."""
    runs = []
    for match in _RUN.finditer(text):
        groups = [
            _Group(g.group(1), g.start(), g.end(), g.group().startswith("("))
            for g in _GROUP.finditer(text, match.start(), match.end())
        ]
        runs.append((match.group().startswith("+"), groups))
    return runs


# (first prefix, last prefix, prefix digits, lengths): the issuers' ranges, widest brands last.
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (4, 4, 1, frozenset({13, 16, 19})),  # Visa
    (51, 55, 2, frozenset({16})),  # Mastercard
    (2221, 2720, 4, frozenset({16})),  # Mastercard 2-series
    (2200, 2204, 4, frozenset(range(16, 20))),  # Mir
    (34, 34, 2, frozenset({15})),  # American Express
    (37, 37, 2, frozenset({15})),
    (300, 305, 3, frozenset(range(14, 20))),  # Diners Club
    (3095, 3095, 4, frozenset(range(14, 20))),
    (36, 36, 2, frozenset(range(14, 20))),
    (38, 39, 2, frozenset(range(16, 20))),
    (3528, 3589, 4, frozenset(range(16, 20))),  # JCB
    (6011, 6011, 4, frozenset(range(16, 20))),  # Discover
    (644, 649, 3, frozenset(range(16, 20))),
    (65, 65, 2, frozenset(range(16, 20))),
    (62, 62, 2, frozenset(range(16, 20))),  # UnionPay
    (50, 50, 2, frozenset(range(13, 20))),  # Maestro
    (56, 69, 2, frozenset(range(13, 20))),
)
_CARD_LENGTHS = range(13, 20)


def _card_shaped(groups: Sequence[_Group]) -> bool:
    sizes = [len(g.digits) for g in groups]
    if any(g.parenthesized for g in groups):
        return False
    if len(sizes) == 1:
        return True
    fours = all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4
    return fours or sizes in ([4, 6, 5], [4, 6, 4], [4, 4, 5])  # Amex, Diners, 13-digit Visa


def is_card_number(digits: str) -> bool:
    """Luhn-valid, and in an issuer's range with one of its lengths."""
    if len(digits) not in _CARD_LENGTHS or not luhn.is_valid(digits):
        return False
    return any(
        low <= int(digits[:size]) <= high and len(digits) in lengths
        for low, high, size, lengths in _CARD_RANGES
    )


def _product_code(plus: bool, groups: Sequence[_Group]) -> bool:
    """A run written like a barcode is one when it is a valid EAN/UPC/GTIN: one block of 8 or 12-14
    digits, or grouped 1-5-5-1 or 1-6-6. A leading 0 or `+` keeps it a phone candidate (a German
    mobile is 12 digits, and one number in ten passes the EAN check); "EAN" or "UPC" before it still
    makes it an identifier."""
    digits = "".join(g.digits for g in groups)
    if plus or digits.startswith("0"):
        return False
    sizes = [len(g.digits) for g in groups]
    barcode_like = (len(sizes) == 1 and sizes[0] in (8, 12, 13, 14)) or sizes in ([1, 5, 5, 1], [1, 6, 6])
    return barcode_like and ean.is_valid(digits)


def _spaced(text: str, previous: _Group, group: _Group) -> bool:
    """Whether a number may start at `group` inside a run: only after a space. Glued to the group
    before by a dot or dash ("10.0.19045.3803", "12-4111-..."), it is part of that token."""
    return " " in text[previous.end : group.start]


def _phone_word_before(text: str, start: int) -> bool:
    return _PHONE_WORD_BEFORE.search(text, max(0, start - 40), start) is not None


def _after_identifier(text: str, start: int) -> bool:
    before = _IDENTIFIER_BEFORE.search(text, max(0, start - 48), start)
    return before is not None and not _PHONE_WORD.search(text, before.start() + 1, start)


class PiiAuditor:
    """Finds PII in text independently of the redactor (see the module docstring for the rules).

    Each detector starts with a cheap test: fewer than seven digits hold no card or phone number, no
    `@` or at-word no address, fewer than three dots or two colons no IP address, so most reviews are
    answered by a few `re` scans and never reach a validator.
    """

    def __init__(self, entities: Sequence[str] = ENTITIES, regions: Sequence[str] = DEFAULT_REGIONS) -> None:
        unknown = sorted(set(entities) - set(ENTITIES))
        if unknown:
            raise ValueError(f"no independent detector for {unknown}; audited entities: {list(ENTITIES)}")
        self.entities = tuple(e for e in ENTITIES if e in entities)
        self.regions = tuple(regions)
        trunk_prefixes = {}
        for region in self.regions:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if metadata is None:
                raise ValueError(f"unknown phone region {region!r}")
            trunk_prefixes[region] = metadata.national_prefix
        # Regions whose national numbers are written without a trunk 0 (US, ES, IT mobiles): a written
        # number there has no prefix to prove it is dialled, so its grouping must.
        self._unprefixed_regions = tuple(r for r in self.regions if trunk_prefixes[r] != "0")

    def detector(self, entity: str) -> Callable[[str], list[tuple[int, int]]]:
        """The spans of one entity in a normalized text (looked up on each scan: a detector replaced on
        the class, as a test breaks one on purpose, takes effect at once)."""
        detectors: dict[str, Callable[[str], list[tuple[int, int]]]] = {
            URL: self.urls,
            EMAIL: self.emails,
            IBAN: self.ibans,
            IP: self.ips,
            CARD: self.cards,
            PHONE: self.phones,
        }
        return detectors[entity]

    def scan(self, text: str | None) -> list[Finding]:
        """Every finding in `normalize(text)`, positions in that normalized text."""
        if not text:
            return []
        text = normalize(text)
        findings: list[Finding] = []
        for entity in self.entities:
            spans = self.detector(entity)(text)
            findings += [Finding(entity, start, end) for start, end in spans]
            text = _masked(text, spans)
        return findings

    def find(self, text: str | None) -> list[str]:
        """The sorted entity types found in `text`."""
        return sorted({finding.entity for finding in self.scan(text)})

    def urls(self, text: str) -> list[tuple[int, int]]:
        return _urls(text)

    def emails(self, text: str) -> list[tuple[int, int]]:
        return _emails(text)

    def ibans(self, text: str) -> list[tuple[int, int]]:
        return _ibans(text)

    def ips(self, text: str) -> list[tuple[int, int]]:
        return _ips(text)

    # -- digit runs --

    @staticmethod
    def _digit_runs(text: str) -> list[tuple[bool, list[_Group]]]:
        if sum(ch.isdigit() for ch in text) < 7:  # fewer cannot make a card or a phone number
            return []
        return _runs(_masked(text, _not_callable_spans(text)))

    def cards(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for plus, groups in self._digit_runs(text):
            if plus or _product_code(plus, groups):
                continue
            i = 0
            while i < len(groups):
                if i > 0 and not _spaced(text, groups[i - 1], groups[i]):
                    i += 1
                    continue
                for j in range(i, len(groups)):
                    window = groups[i : j + 1]
                    digits = "".join(g.digits for g in window)
                    if len(digits) > _CARD_LENGTHS.stop:
                        break
                    if _card_shaped(window) and is_card_number(digits):
                        spans.append((window[0].start, window[-1].end))
                        i = j
                        break
                i += 1
        return spans

    def phones(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for plus, groups in self._digit_runs(text):
            if _product_code(plus, groups) and not _phone_word_before(text, groups[0].start):
                continue  # a phone word wins: one number in ten passes the EAN check
            digits = sum(len(g.digits) for g in groups)
            if not plus and len(groups) >= 3 and digits in _CARD_LENGTHS and _card_shaped(groups):
                continue  # 5147 0279 1122 6095: a serial (or a card) in card groups, not 0279 1122
            i = 0
            while i < len(groups):
                starts_with_plus = plus and i == 0
                end = None
                if i == 0 or _spaced(text, groups[i - 1], groups[i]):
                    end = self._phone_from(text, groups, i, starts_with_plus)
                if end is not None:
                    start = text.rindex("+", 0, groups[i].start) if starts_with_plus else groups[i].start
                    spans.append((start, groups[end].end))
                    i = end
                i += 1
        return spans

    def _phone_from(self, text: str, groups: list[_Group], i: int, plus: bool) -> int | None:
        """The last group of a phone number starting at group `i`, if one does."""
        first = groups[i].digits
        if plus or (first.startswith("00") and not first.startswith("000")):
            return self._international(groups, i, plus)
        if _after_identifier(text, groups[i].start):
            return None
        if first.startswith("0"):
            return self._national(groups, i, self.regions)
        if i == 0 and self._unprefixed_regions and self._written_as_phone(text, groups):
            # The whole run or nothing: 302-5551234 in 302-5551234-1234567 is part of an order number.
            digits = "".join(g.digits for g in groups)
            valid = any(_plan(digits, region) == "valid" for region in self._unprefixed_regions)
            return len(groups) - 1 if 7 <= len(digits) <= 13 and valid else None
        return None

    @staticmethod
    def _international(groups: list[_Group], i: int, plus: bool) -> int | None:
        """With a `+` or `00`, the longest window that is a number in any country's plan; failing a
        valid one, the longest that has a possible length for its country code: ranges are allocated
        faster than the metadata learns of them, and nothing but a phone number is written
        `+44 7911 545009`."""
        digits = "" if plus else None
        valid = possible = None
        for j in range(i, len(groups)):
            group = groups[j]
            if j == i + 1 and group.parenthesized and group.digits == "0":
                continue  # +49 (0)151 ...: the trunk 0 written for national callers
            digits = group.digits[2:] if digits is None else digits + group.digits
            if len(digits) > 15:
                break
            if len(digits) >= 7:
                verdict = _plan("+" + digits, None)
                if verdict == "valid":
                    valid = j
                elif verdict == "possible":
                    possible = j
        return valid if valid is not None else possible

    @staticmethod
    def _national(groups: list[_Group], i: int, regions: Sequence[str]) -> int | None:
        """The last group of the longest window from group `i` that is valid in one of `regions`
        (German plans accept 0151 2345 as well as 0151 2345 6789: the whole number is masked)."""
        digits = ""
        valid = None
        for j in range(i, len(groups)):
            digits += groups[j].digits
            if len(digits) > 13:
                break
            if len(digits) >= 7 and any(_plan(digits, region) == "valid" for region in regions):
                valid = j
        return valid

    @staticmethod
    def _written_as_phone(text: str, groups: list[_Group]) -> bool:
        """A run without any prefix counts only if its grouping or a phone word says it is a number to
        call: `(201) 555-0123`, `612 34 56 78`, `Handy: 3331234567`."""
        if _phone_word_before(text, groups[0].start):
            return True
        sizes = [len(g.digits) for g in groups]
        if sizes and sizes[0] == 1 and len(sizes) > 1:  # 1 (201) 555-0123: the NANP trunk 1
            sizes = sizes[1:]
        return len(sizes) >= 2 and sizes[0] == 3 and all(size >= 2 for size in sizes)


@lru_cache(maxsize=65536)
def _plan(number: str, region: str | None) -> str | None:
    """`valid` for a number of an allocated range, `possible` for one of a possible length whose
    national number has at least 8 digits, else None."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(parsed):
        return "valid"
    if phonenumbers.is_possible_number(parsed) and len(str(parsed.national_number)) >= 8:
        return "possible"
    return None


# --- canaries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Canary:
    """A known PII value in a sentence as a reviewer might write it; `value` occurs in `sentence`.
    A phone number in national form is only a number in its `region`, so it is planted only when the
    region is configured."""

    entity: str
    language: str
    sentence: str
    value: str
    region: str | None = None


def _canary(entity: str, language: str, template: str, value: str, region: str | None = None) -> Canary:
    return Canary(entity, language, template.format(value), value, region)


# Fictitious but valid values (test cards, documentation IBANs and addresses), one of each entity
# at least, in the ways the redactor has been seen to miss: groupings, case, dots, written-out forms.
CANARIES: tuple[Canary, ...] = (
    _canary(PHONE, "de", "Ruf mich an unter {} wenn was ist.", "0151 2345 6789", "DE"),
    _canary(PHONE, "de", "Meine Nummer ist {} für Rückfragen.", "+49 151 23456789"),
    _canary(PHONE, "de", "Tel. {} ab 18 Uhr.", "030/1234567", "DE"),
    _canary(PHONE, "fr", "Appelez-moi au {} merci.", "0033 6 12 34 56 78"),
    _canary(PHONE, "fr", "Mon portable : {} le soir.", "06.12.34.56.78", "FR"),
    _canary(PHONE, "es", "Llámame al {} cuando puedas.", "612 34 56 78", "ES"),
    _canary(PHONE, "it", "Chiamami al {} dopo cena.", "+39 333 123 4567"),
    _canary(PHONE, "nl", "Bel me op {} graag.", "06-12345678", "NL"),
    _canary(PHONE, "en", "Call me on {} anytime.", "(201) 555-0123", "US"),
    _canary(PHONE, "en", "Text me at {} please.", "07911 123456", "GB"),
    _canary(IBAN, "de", "Überweisung bitte auf {} danke.", "de89 3704 0044 0532 0130 00"),
    _canary(IBAN, "fr", "Mon RIB : {} pour le remboursement.", "FR14 2004 1010 0505 0001 3M02 606"),
    _canary(IBAN, "es", "Mi cuenta es {} gracias.", "es91-2100-0418-4502-0005-1332"),
    _canary(IBAN, "nl", "Stort het op {} alstublieft.", "nl91abna0417164300"),
    _canary(CARD, "en", "My card {} was charged twice.", "4111.1111.1111.1111"),
    _canary(CARD, "de", "Karte {} wurde doppelt belastet.", "2221 0000 0000 0009"),
    _canary(CARD, "fr", "Ma carte {} a été débitée deux fois.", "6799-9901-0000-0000-019"),
    _canary(CARD, "it", "La carta {} è stata addebitata.", "378282246310005"),
    _canary(EMAIL, "en", "Write to {} for details.", "jane.doe@example.org"),
    _canary(EMAIL, "en", "Email me: {} thanks.", "jane dot doe at example dot com"),
    _canary(EMAIL, "de", "Schreibt mir an {} bitte.", "max.mustermann (at) example (punkt) de"),
    _canary(EMAIL, "fr", "Écrivez à {} merci.", "jean.dupont arobase example point fr"),
    _canary(EMAIL, "es", "Escríbeme a {} gracias.", "juan punto perez arroba example punto es"),
    _canary(EMAIL, "it", "Scrivimi a {} grazie.", "mario.rossi chiocciola example punto it"),
    _canary(EMAIL, "nl", "Mail naar {} graag.", "jan.jansen apenstaartje example punt nl"),
    _canary(EMAIL, "nl", "Of naar {} natuurlijk.", "jan[at]example[dot]nl"),
    _canary(IP, "en", "My router at {} keeps dropping.", "203.0.113.42"),
    _canary(IP, "de", "Der Server {} war nicht erreichbar.", "2001:db8:85a3::8a2e:370:7334"),
    _canary(URL, "en", "Camera feed at {} if you want.", "https://jdoe:s3cret@example.com/cam"),
    _canary(URL, "de", "Fotos unter {} ansehen.", "ftp://max:geheim@files.example.net/bilder"),
)


@dataclass
class CanaryTally:
    """Canaries planted and caught, by entity."""

    planted: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)

    def missed(self) -> dict[str, int]:
        return {entity: self.planted[entity] - self.caught[entity] for entity in self.planted}


_SENTENCE_START = re.compile(r"(?<=[.!?…])\s+(?=\S)")


def plant(text: str, canary: Canary, rng: random.Random) -> tuple[str, int]:
    """A shadow copy of `text` with the canary's sentence as a line of its own at one of its
    sentence boundaries (start, end or between two sentences), and where the canary's value starts.

    A line of its own, as a reviewer adds a contact line: planted inside a sentence, a canary could
    take on words that rightly make a number an identifier ("Bestell-Nr. <canary>"), and a rule doing
    its job would read as a broken detector. The text is normalized first, so positions match `scan`.
    """
    base = normalize(text).strip()
    ends = [m.end() for m in _SENTENCE_START.finditer(base)]
    at = rng.choice([0, *ends, len(base)])
    before, after = base[:at].rstrip(), base[at:]
    before = f"{before}\n" if before else ""
    return f"{before}{canary.sentence}\n{after}", len(before) + canary.sentence.index(canary.value)


def caught(auditor: PiiAuditor, text: str, canary: Canary, rng: random.Random) -> bool:
    """Whether the auditor finds the canary planted into a shadow copy of `text`: a finding of the
    canary's entity over its value, so PII already in the text cannot stand in for it."""
    shadow, start = plant(text, canary, rng)
    end = start + len(canary.value)
    return any(f.entity == canary.entity and f.start < end and start < f.end for f in auditor.scan(shadow))


def check_canaries(auditor: PiiAuditor, texts: Sequence[str], rng: random.Random, tally: CanaryTally) -> None:
    """Plant every canary of an audited entity into a shadow copy of one of `texts` (a sample of a
    batch, each canary in a different text while there are enough) and count what is caught.

    Nothing planted leaves this function: the shadow copies are scanned and dropped.
    """
    canaries = canaries_for(auditor)
    sample = rng.sample(list(texts), min(len(texts), len(canaries))) or [""]
    for index, canary in enumerate(canaries):
        tally.planted[canary.entity] += 1
        if caught(auditor, sample[index % len(sample)], canary, rng):
            tally.caught[canary.entity] += 1


def canaries_for(auditor: PiiAuditor) -> list[Canary]:
    """The canaries of the auditor's entities (and, for national phone numbers, its regions)."""
    return [
        c
        for c in CANARIES
        if c.entity in auditor.entities and (c.region is None or c.region in auditor.regions)
    ]
