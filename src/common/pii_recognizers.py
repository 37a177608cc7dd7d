"""Presidio recognizers for personal data as people write it in reviews; a checksum or a format decides.

Presidio's stock recognizers miss forms reviewers use (a lower-case IBAN, a card grouped by dots or from
the Mastercard 2-series, a German mobile number that phonenumbers' strict grouping rejects, an address
spelled "anna at gmail dot com") and take look-alikes for PII (a firmware version for an IP address, a
10-digit order number for a phone number). Each recognizer here finds candidates with one cheap regular
expression, so a review without digits or an at-sign costs a few scans, and a validator decides:

- IBAN: python-stdnum (mod-97 and each country's length and layout), any letter case, any grouping.
- Card: an issuer's number range and length (13-19 digits) and the Luhn checksum; one separator throughout.
- Phone: phonenumbers' validity for the configured countries, or for any country when the number is
  written with + or 00; shape rules drop dates, prices and serials, context words order numbers.
- IP address: the ipaddress module parses; a dotted quad right after version words is a version.
- E-mail written out: local words and brackets for "at" and "dot", the top-level domain must exist.
- Street address: a street-type word with a house number, in each language's word order.

Nothing here loads a model: these run with presidio's `NoOpNlpEngine` as well as with spaCy.
"""

from __future__ import annotations

import os

# Read when tldextract is imported (presidio's e-mail recognizer uses its default extractor): an empty
# value keeps it on the bundled public-suffix snapshot instead of fetching the list from the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import importlib.util
import ipaddress
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from stdnum import ean, iban, luhn

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IBAN = "IBAN_CODE"
CARD = "CREDIT_CARD"
IP = "IP_ADDRESS"
STREET = "STREET_ADDRESS"

# Confidence of each finding. Overlaps are resolved by the anonymizer: a finding inside another is
# dropped whatever its score; in a partial overlap the higher score keeps its characters. Checksums
# make IBAN and card findings the surest.
SCORES = {IBAN: 1.0, CARD: 1.0, EMAIL: 0.9, IP: 0.9, PHONE: 0.8, STREET: 0.7}

_SPACE = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break space, thin space
_LANGUAGES = ("en", "de", "fr", "es", "it", "nl")


class _Recognizer(EntityRecognizer):
    """An entity recognizer without a model: `_find` yields the spans, this wraps them as results."""

    ENTITY = ""

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language)

    def load(self) -> None:
        """Nothing to load: the recognizer is a regular expression and a validator."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self.ENTITY not in entities:
            return []
        metadata = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.__class__.__name__,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }
        score = SCORES[self.ENTITY]
        return [
            RecognizerResult(self.ENTITY, start, end, score, recognition_metadata=dict(metadata))
            for start, end in self._find(text)
        ]

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        raise NotImplementedError


# --- context words --------------------------------------------------------------------------------
# A number is read by the words right before it: "Tel." makes a bare digit run a phone number,
# "Bestellnummer" makes a valid-looking one an order number. The nearest such word within the window
# decides. Stems match compounds ("Handynummer", "Seriennummer", "telefoonnummer").
_CONTEXT_WINDOW = 40
_PHONE_WORDS = (
    r"tel|t[ée]l[ée]?phone?\w*|phone\w*|telef[oó]n\w*|telefoon\w*|handy\w*|mobil\w*|m[oó]vil\w*|cell\w*"
    r"|celular|portable|gsm|whats\s?app|fax\w*|festnetz\w*|fisso|fixe|fijo|call\w*|ring\s+me|text\s+me"
    r"|anruf\w*|anrufen|ruf\w*|r[üu]ckruf\w*|erreichbar\w*|appel\w*|joindre|ll[aá]m\w*|chiam\w*|bel|bellen"
    r"|belt|belde|gebeld|hotline\w*|contact\w*|kontakt\w*|contatt\w*|contacto"
)
_NOT_PHONE_WORDS = (
    r"\w*bestel\w*|order\w*|commande\w*|pedido\w*|ordine\w*|auftrag\w*|artikel\w*|article\w*"
    r"|art[ií]culo\w*|articolo\w*|s[eé]ri[ae]\w*|s/n|sn|imei|ean|gtin|upc|isbn|asin|sku|mod[eè]l\w*"
    r"|referen\w*|r[ée]f[ée]rence\w*|riferiment\w*|ref|rechnung\w*|invoice\w*|factur\w*|fattura\w*"
    r"|tracking\w*|sendung\w*|suivi|seguimiento|spedizione|zending\w*|kunden-?n(?:umme)?r\w*|klantnummer"
    r"|(?:customer|client)\s+(?:no|nr|number|id)|(?:numéro|n°)\s+(?:de\s+)?client|número\s+de\s+cliente"
    r"|codice\s+cliente|ticket\w*|vorgang\w*|chargen\w*|batch|barcode\w*|code-barres|strichcode\w*|paket\w*"
    r"|colis|paquete|pacco|pakket\w*|gutschein\w*|coupon\w*|voucher\w*|pin|puk|iban|bic|konto\w*"
    r"|account\w*|compte|cuenta|conto|rekening\w*"
    r"|(?:art|best|kd|auftr|rechn?|lief|ref)\.?-?\s?nr"  # Art.-Nr., Best.-Nr., Kd.-Nr. (not Tel.-Nr.)
)
_CONTEXT = re.compile(rf"\b(?:(?P<phone>{_PHONE_WORDS})|(?P<other>{_NOT_PHONE_WORDS}))\b", re.IGNORECASE)


# Where a sentence ends: a context word before it speaks of something else ("... een L bestellen. Mijn
# nummer is +32 ..." orders a size, then gives a phone number). An abbreviation right before the number
# ("Ref. 0301234567", "Tel. 0151 ...") is no sentence end: a new sentence starts with a word.
_SENTENCE_END = re.compile(r"[.!?;]\s+(?=[^\W\d_])|\n")


def _context(text: str, start: int) -> str | None:
    """`phone`, `other` or None: the kind of the context word nearest before `start`, in its sentence."""
    window_start = max(0, start - _CONTEXT_WINDOW)
    for end in _SENTENCE_END.finditer(text, window_start, start):
        window_start = end.end()
    kind = None
    for match in _CONTEXT.finditer(text, window_start, start):
        kind = match.lastgroup
    return kind


# What a number is when a unit or a currency stands next to it: a quantity or a price.
_UNIT = (
    r"(?:[€$£%‰°″\"]|(?:eur|euros?|usd|chf|gbp|cm|mm|km|m|m2|m²|kg|g|mg|ml|cl|l|mah|wh|kwh|v|w|kw|hz|khz"
    r"|mhz|ghz|gb|mb|tb|kb|mbit|px|dpi|fps|rpm|x|stk|st|stück|pcs|pc|pz|uds|ud|mal|fois|veces|volte|keer"
    r"|times|tage?n?|jours?|d[ií]as?|giorn[oi]|dag(?:en)?|wochen?|weeks?|semaines?|semanas?|settiman[ae]"
    r"|monate?n?|months?|mois|mes(?:es)?|mes[ei]|maand(?:en)?|stunden?|heures?|horas?|ore|uur|hours?"
    r"|minuten?|minutes?|minutos?|minuti|jahre?n?|ans|años?|ann[oi]|jaar|years?|sterne?n?|stars?|étoiles?"
    r"|estrellas?|stell[ae]|sterren|pezz[io]|stuks?|piezas?|pièces?)\b)"
)
_UNIT_AFTER = re.compile(rf"[{_SPACE}]?{_UNIT}", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(rf"(?:[€$£]|\b(?:eur|usd|chf|gbp|fr|sfr|chf))\.?[{_SPACE}]?$", re.IGNORECASE)


# --- IBAN -----------------------------------------------------------------------------------------
_IBAN_CANDIDATE = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z]{{2}}\d{{2}}(?:[{_SPACE}.\-]?[A-Za-z0-9]){{11,32}}")
_IBAN_MIN = 15  # Norway's, the shortest


class IbanAnyCaseRecognizer(_Recognizer):
    """IBANs in any letter case, grouped by spaces, dashes or dots or not at all.

    The candidate is greedy (it may run into the next word); the longest prefix that ends on a word
    boundary and that python-stdnum validates is the IBAN. A wrong check digit leaves the text alone.
    """

    ENTITY = IBAN

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        for match in _IBAN_CANDIDATE.finditer(text):
            ends = [match.start() + i + 1 for i, ch in enumerate(match.group()) if ch.isalnum()]
            compact = "".join(ch for ch in match.group() if ch.isalnum())
            for length in range(len(compact), _IBAN_MIN - 1, -1):
                end = ends[length - 1]
                if end < len(text) and text[end].isalnum():
                    continue
                if iban.is_valid(compact[:length], check_country=False):
                    yield match.start(), end
                    break


# --- card numbers ---------------------------------------------------------------------------------
# Issuer number ranges (the leading digits, compared at their own length) and the lengths each issues.
_CARD_RANGES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),
    ("6011", "6011", (16, 17, 18, 19)),  # Discover
    ("644", "649", (16, 17, 18, 19)),
    ("65", "65", (16, 17, 18, 19)),
    ("62", "62", (16, 17, 18, 19)),  # UnionPay (Discover's 622126-622925 included)
    ("3528", "3589", (16, 17, 18, 19)),  # JCB
    ("300", "305", (14, 15, 16, 17, 18, 19)),  # Diners Club
    ("3095", "3095", (14, 15, 16, 17, 18, 19)),
    ("36", "36", (14, 15, 16, 17, 18, 19)),
    ("38", "39", (16, 17, 18, 19)),
    ("50", "50", (13, 14, 15, 16, 17, 18, 19)),  # Maestro
    ("56", "69", (13, 14, 15, 16, 17, 18, 19)),
    ("2200", "2204", (16, 17, 18, 19)),  # Mir
    ("60", "60", (16,)),  # RuPay
    ("81", "82", (16,)),
    ("508", "508", (16,)),
    ("353", "353", (16,)),
    ("356", "356", (16,)),
    ("9792", "9792", (16,)),  # Troy
)
# The most digit groups one card or phone number is written in ("+33 (0)6 12 34 56 78": 7); a longer
# run is searched in windows of this many groups, so a list of numbers costs linear time.
_MAX_GROUPS = 8
_DIGIT_RUN = re.compile(rf"(?<![\w+,\-])(?<!\d\.)\d+(?:[{_SPACE}.\-]\d+)*")


def card_issued(digits: str) -> bool:
    """Whether an issuer gives out card numbers of this length that start this way."""
    return any(
        low <= digits[: len(low)] <= high and len(digits) in lengths for low, high, lengths in _CARD_RANGES
    )


def _groups(run: re.Match[str]) -> list[tuple[int, int]]:
    return [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run.group())]


class CardNumberRecognizer(_Recognizer):
    """Card numbers of every major issuer, 13-19 digits, ungrouped or grouped by one kind of separator.

    The issuer's range and length and the Luhn checksum decide; a digit run longer than the card (an
    expiry or a count after it) is cut back group by group. Grouped, a card is written as it is embossed:
    four digits first, then groups of four (or six: American Express, Diners Club) and a last group of
    three to six, so a list of numbers ("41 42 43 ...") never adds up to a card. An ungrouped 13-digit
    number that is a valid EAN-13 barcode is a barcode (13-digit cards are no longer issued).
    """

    ENTITY = CARD

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        for run in _DIGIT_RUN.finditer(text):
            groups = _groups(run)
            i = 0
            while i < len(groups):
                last = min(len(groups), i + _MAX_GROUPS)
                found = next((j for j in range(last, i, -1) if self._is_card(text, groups[i:j])), None)
                if found is None:
                    i += 1
                    continue
                yield groups[i][0], groups[found - 1][1]
                i = found

    @staticmethod
    def _is_card(text: str, groups: list[tuple[int, int]]) -> bool:
        digits = "".join(text[s:e] for s, e in groups)
        if not 13 <= len(digits) <= 19:
            return False
        separators = {text[e:s] for (_, e), (s, _) in itertools.pairwise(groups)}
        if len(separators) > 1:
            return False
        sizes = [e - s for s, e in groups]
        embossed = sizes[0] == 4 and all(size in (4, 6) for size in sizes[1:-1]) and 3 <= sizes[-1] <= 6
        if len(groups) > 1 and not embossed:
            return False
        if len(groups) == 1 and len(digits) == 13 and ean.is_valid(digits):
            return False
        return card_issued(digits) and luhn.is_valid(digits)


# --- phone numbers --------------------------------------------------------------------------------
_PHONE_RUN = re.compile(rf"(?<![\w+\-])(?<!\d[.,])(?:\+[{_SPACE}]?|\(\+?)?\d[\d{_SPACE}().\-/–]*")
# Between two digit groups of one number: spaces, one of - . / –, and parentheses around an area code.
_PHONE_GAP = re.compile(rf"[{_SPACE}]{{0,2}}\)?[{_SPACE}]{{0,2}}[-./–]?[{_SPACE}]{{0,2}}\(?\+?[{_SPACE}]?")
_DATE_SEPARATORS = ".-/"
_MIN_PHONE_DIGITS = 7
_MAX_NATIONAL_DIGITS = 13
_MAX_INTERNATIONAL_DIGITS = 17  # 00, a country code and at most 15 digits in all
_EAN_LENGTHS = (8, 12, 13, 14)


@dataclass
class _Segment:
    """Digit groups joined as one phone number may join them; `plus` when a + stands before the first."""

    groups: list[tuple[int, int]]
    gaps: list[str]
    plus: int | None  # position of the + (or of "(+"), None without one


@cache
def _uses_trunk_zero(region: str) -> bool:
    """Whether national numbers of `region` are dialled with a leading 0 (not so in ES, IT, US)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.national_prefix == "0"


class PhoneNumberRecognizer(_Recognizer):
    """Phone numbers in national and international forms, validated by phonenumbers.

    A candidate is a run of digit groups joined by spaces, dots, dashes, slashes or parentheses. It is a
    phone number when phonenumbers finds it valid: written with + or 00, for the country its code names;
    otherwise for one of `regions` (any of them: a German number turns up in a Dutch review), and for a
    country whose national numbers start with a trunk 0 (DE, FR, NL, GB...) only when it does, so a
    digit run without a 0 is no German or Dutch number (it may be a US, Spanish or Italian one, and then
    has a group of three digits or more: "38 40 42 44 46" is a list of sizes). A number inside a longer
    run starts after a space, with its trunk 0 ("PLZ 80331 089 1234567"), never after a dot or a dash
    (10.0.19045.3803).

    What a phone number never looks like is excluded before phonenumbers is asked: a date (03.12.2018,
    2018-12-03), a dotted quad (IP address or version), a price or quantity (a currency or unit next to
    it, a decimal comma after it), a block of 4-digit groups (card, IBAN, serial), an Amazon order number,
    the tail of a letter-and-digit code (DE88 3704 ...), a version after a version word. A run of digits
    with no separator at all is a phone number only when it starts with 0 or 00, or when a phone word
    (Tel., Handy, appelez...) stands before it; an order, serial or barcode word before a number keeps
    it as written.
    """

    ENTITY = PHONE

    def __init__(self, supported_language: str, regions: Sequence[str]) -> None:
        self.regions = tuple(regions)
        super().__init__(supported_language=supported_language)

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        for run in _PHONE_RUN.finditer(text):
            for segment in self._segments(text, run):
                yield from self._numbers(text, segment)

    @staticmethod
    def _segments(text: str, run: re.Match[str]) -> Iterator[_Segment]:
        """Split a run where its groups are not joined the way one phone number joins them."""
        groups = _groups(run)
        plus = run.start() if text[run.start()] in "+(" and "+" in text[run.start() : groups[0][0]] else None
        current = _Segment([groups[0]], [], plus)
        for previous, group in itertools.pairwise(groups):
            gap = text[previous[1] : group[0]]
            if _PHONE_GAP.fullmatch(gap) and sum(gap.count(c) for c in "-./–") <= 1 and "+" not in gap:
                current.groups.append(group)
                current.gaps.append(gap)
            else:
                yield current
                current = _Segment([group], [], None)
        yield current

    def _numbers(self, text: str, segment: _Segment) -> Iterator[tuple[int, int]]:
        groups = segment.groups
        if self._never_a_phone(text, segment):
            return
        excluded = self._excluded_groups(text, segment)
        i = 0
        while i < len(groups):
            found = None
            for j in range(min(len(groups), i + _MAX_GROUPS), i, -1):
                if any(k in excluded for k in range(i, j)):
                    continue
                span = self._phone(text, segment, i, j)
                if span is not None:
                    found = j
                    yield span
                    break
            i = found if found is not None else i + 1

    @staticmethod
    def _never_a_phone(text: str, segment: _Segment) -> bool:
        groups = segment.groups
        start = segment.plus if segment.plus is not None else groups[0][0]
        sizes = [e - s for s, e in groups]
        # A block of 4-digit groups is a card, an IBAN or a serial number (0049 1511 2345 678 is not).
        digits = text[groups[0][0] : groups[0][1]]
        block = len(groups) >= 4 and all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4
        if block and segment.plus is None and not digits.startswith("00"):
            return True
        # An Amazon order number: 302-1234567-1234567.
        if sizes[:3] == [3, 7, 7] and all(gap == "-" for gap in segment.gaps[:2]):
            return True
        # The tail of a code written with letters and digits ("DE88 3704 0044 ...", "XR 2000 ...").
        before = text[max(0, start - 12) : start]
        if re.search(rf"(?<![\w])(?=\w*[A-Za-z])(?=\w*\d)\w+[{_SPACE}\-]$", before):
            return True
        # A version ("Firmware 10.0.19045.3803").
        return bool(_VERSION_RIGHT_BEFORE.search(text[max(0, start - _VERSION_WINDOW) : start]))

    @staticmethod
    def _excluded_groups(text: str, segment: _Segment) -> set[int]:
        """Groups no phone number may include: dates, dotted quads, and quantities or prices."""
        groups, gaps = segment.groups, segment.gaps
        sizes = [e - s for s, e in groups]
        excluded: set[int] = set()
        for k in range(len(groups) - 2):
            sep = gaps[k].strip(_SPACE)
            if sep not in tuple(_DATE_SEPARATORS) or gaps[k + 1].strip(_SPACE) != sep:
                continue
            continued = (k > 0 and gaps[k - 1].strip(_SPACE) == sep) or (
                k + 3 < len(groups) and gaps[k + 2].strip(_SPACE) == sep
            )
            first, second = (int(text[s:e]) for s, e in groups[k : k + 2])
            day_first = (
                sizes[k] <= 2 and sizes[k + 1] <= 2 and sizes[k + 2] in (2, 4)
                and 1 <= first <= 31 and 1 <= second <= 12
            )  # fmt: skip
            year_first = sizes[k] == 4 and sizes[k + 1] <= 2 and sizes[k + 2] <= 2 and 1 <= second <= 12
            if not continued and (day_first or year_first):
                excluded.update((k, k + 1, k + 2))
        # Exactly four dotted groups, the first without a trunk 0 (06.12.34.56.78 and 078.839.27.39 are
        # French and Swiss numbers, 10.0.0.12 and 2.1.0.3 an address and a version).
        for k in range(len(groups) - 3):
            dotted = all(gaps[k + m] == "." for m in range(3)) and all(sizes[k + m] <= 3 for m in range(4))
            dotted = dotted and text[groups[k][0]] != "0"
            continued = (k > 0 and gaps[k - 1] == ".") or (k + 4 < len(groups) and gaps[k + 3] == ".")
            if dotted and not continued:
                excluded.update(range(k, k + 4))
        end = groups[-1][1]
        after = text[end : end + 16]
        # A unit after a short group makes it a quantity ("030 1234567 2 Stück"); "0151 1234567 mal" is
        # "call me" in German, with a phone number before "mal".
        if re.match(r"[.,]\d|[^\W\d_]", after) or (sizes[-1] <= 4 and _UNIT_AFTER.match(after)):
            excluded.add(len(groups) - 1)
        if _CURRENCY_BEFORE.search(text[max(0, groups[0][0] - 5) : groups[0][0]]):
            excluded.add(0)
        return excluded

    def _phone(self, text: str, segment: _Segment, i: int, j: int) -> tuple[int, int] | None:
        """The span of groups i..j-1 when they are a valid phone number, else None."""
        groups = segment.groups
        digits = "".join(text[s:e] for s, e in groups[i:j])
        international = (i == 0 and segment.plus is not None) or (i == 0 and digits.startswith("00"))
        limit = _MAX_INTERNATIONAL_DIGITS if international else _MAX_NATIONAL_DIGITS
        if not _MIN_PHONE_DIGITS <= len(digits) <= limit:
            return None
        if i > 0 and not (digits.startswith("0") and not digits.startswith("00")):
            return None  # a number inside a run starts with its trunk 0
        if i > 0 and not any(ch in _SPACE for ch in segment.gaps[i - 1]):
            return None  # ... after a space: "10.0.19045" is one thing, not "10." and a number
        if sum(1 for s, e in groups[i:j] if e - s == 1) > 2:
            return None  # "+33 (0)6 12 ..." has two one-digit groups; "0 1 2 3 4 5 6 7" is a count
        start = segment.plus if i == 0 and segment.plus is not None else groups[i][0]
        if start > 0 and text[start - 1] == "(" and segment.plus is None:
            start -= 1
        end = groups[j - 1][1]
        if end < len(text) and text[end] == ")" and text.count("(", start, end) > text.count(")", start, end):
            end += 1
        context = _context(text, start)
        if context == "other":
            return None
        ungrouped = j - i == 1 and segment.plus is None and not (start < groups[i][0])
        if ungrouped and context != "phone":
            if not digits.startswith("0"):
                return None
            if len(digits) in _EAN_LENGTHS and ean.is_valid(digits):
                return None
        written = text[start:end]
        if international:
            if segment.plus is None:  # 00 49 ... as +49 ..., keeping the grouping ("(0)30") for phonenumbers
                prefix = re.match(r"\(?00", written)
                written = "+" + (written[prefix.end() :] if prefix else digits[2:])
            return (start, end) if _valid(written, None) else None
        if not digits.startswith("0") and max(e - s for s, e in groups[i:j]) < 3:
            return None
        for region in self.regions:
            if _uses_trunk_zero(region) and not digits.startswith("0"):
                continue
            if _valid(written, region):
                return start, end
        return None


def _valid(written: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(written, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


# --- IP addresses ---------------------------------------------------------------------------------
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:.]*\d)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}"
)
# A dotted quad right after one of these is a version number ("Firmware 2.1.0.3", "v 10.0.19041.1").
_VERSION_WORD = (
    r"\b(?:\w*versi[oó]n\w*|\w*versione\w*|\w*versie\w*|\w*firmware\w*|fw|v|ver|build|release|rel"
    r"|\w*update\w*|upgrade\w*|aktualisiert|software\w*|sw|bios|ios|android|rev|revision|patch\w*"
    r"|mises?\s+à\s+jour|actualizaci[oó]n|aggiornament\w*|driver\w*|treiber\w*)"
)
# "Firmware auf 2.1.0.3", "updated the firmware to 2.1.0.3": up to two short words in between.
_VERSION_WORDS = re.compile(_VERSION_WORD + r"(?:\W+\w{1,4}){0,2}\W*$", re.IGNORECASE)
# A phone number's own words may follow an update ("Update: ruf an 0151 ..."): only right before.
_VERSION_RIGHT_BEFORE = re.compile(_VERSION_WORD + r"\W*$", re.IGNORECASE)
_VERSION_WINDOW = 24


class IpAddressRecognizer(_Recognizer):
    """IPv4 and IPv6 addresses that the ipaddress module parses.

    A dotted quad and a four-part version number look the same; the words before it tell them apart.
    Right after a version word (version, Firmware, v, build, update, versione...) it is a version and
    stays. Everywhere else a parsable quad is an address: "8.8.4.4" or "10.0.0.12" in a review about a
    router is personal data far more often than a bare version number with no word for it. An IPv6
    address needs two groups with a digit among them, so that a colon in prose is never one.
    """

    ENTITY = IP

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        if "." in text:
            for match in _IPV4.finditer(text):
                if _parses(match.group(), ipaddress.IPv4Address) and not _VERSION_WORDS.search(
                    text[max(0, match.start() - _VERSION_WINDOW) : match.start()]
                ):
                    yield match.span()
        if "::" in text or text.count(":") >= 7:
            for match in _IPV6.finditer(text):
                candidate = match.group().rstrip(".")
                if sum(1 for g in candidate.split(":") if g) >= 2 and _parses(
                    candidate, ipaddress.IPv6Address
                ):
                    yield match.start(), match.start() + len(candidate)


def _parses(candidate: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(candidate)
    except ValueError:
        return False
    return True


# --- e-mail addresses written out -----------------------------------------------------------------
# "at" and "dot" as people write them to dodge address harvesters, in the six languages.
_AT_WORDS = r"at|ät|arobase|arrobas?|chiocciola|apenstaartje|apestaartje|klammeraffe"
_UNAMBIGUOUS_AT = r"arobase|arrobas?|chiocciola|apenstaartje|apestaartje|klammeraffe"
_DOT_WORDS = r"dot|punkt|point|punto|punt"
_S = f"[{_SPACE}]"
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
_AT = (
    rf"(?:{_S}*{_OPEN}{_S}*(?:{_AT_WORDS}|@){_S}*{_CLOSE}{_S}*"  # (at) [at] {at} <at> [@]
    rf"|{_S}+[@＠]{_S}+|[@＠]{_S}*"  # @, also spaced (but "thanks @amazon.de" is a handle)
    rf"|{_S}+(?P<word_at>{_AT_WORDS}){_S}+"  # at, arobase, arroba, chiocciola...
    rf"|{_S}*[-_](?:{_AT_WORDS})[-_]{_S}*)"  # -at- _at_
)
_DOT = (
    rf"(?:{_S}*{_OPEN}{_S}*(?:{_DOT_WORDS}|\.){_S}*{_CLOSE}{_S}*"  # (dot) [punkt] {.}
    rf"|{_S}+(?:{_DOT_WORDS}){_S}+"  # dot, punkt, point, punto, punt
    r"|\.)"  # a plain dot, without spaces (". Com" is the end of a sentence)
)
_LOCAL = r"[^\W_][\w+\-]*"
_LABEL = r"[^\W_](?:[\w\-]{0,61}[^\W_])?"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+\-@＠])(?P<local>{_LOCAL}(?:{_DOT}{_LOCAL})*)(?P<at>{_AT})(?P<domain>{_LABEL}(?:{_DOT}{_LABEL})+)(?![\w@＠])",
    re.IGNORECASE,
)
_HINT = re.compile(rf"[@＠]|\b(?:{_AT_WORDS})\b", re.IGNORECASE)
_ANY_DOT = re.compile(
    rf"{_S}*(?:{_OPEN}{_S}*(?:{_DOT_WORDS}|\.){_S}*{_CLOSE}|\b(?:{_DOT_WORDS})\b|\.){_S}*", re.IGNORECASE
)
_TLD = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


@cache
def _stop_words() -> frozenset[str]:
    """Function words of the six languages: "it at amazon dot com" is prose, not an address.

    spaCy's stop-word lists, read from their own modules: importing a language package (spacy.lang.fr)
    would also build its tokenizer exceptions, seconds of work for a word list.
    """
    import spacy.lang

    words: set[str] = set()
    for language in _LANGUAGES:
        path = Path(spacy.lang.__file__).parent / language / "stop_words.py"
        spec = importlib.util.spec_from_file_location(f"_pii_stop_words_{language}", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"spaCy has no stop-word list for {language!r} at {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        words |= module.STOP_WORDS
    return frozenset(words)


class SpelledEmailRecognizer(_Recognizer):
    """E-mail addresses with "at" and "dot" written out, bracketed or spaced in any of the six languages.

    "anna at gmail dot com", "anna (at) web punkt de", "anna arobase orange point fr", "anna arroba gmail
    punto com", "anna chiocciola libero punto it", "anna apenstaartje ziggo punt nl", "anna[at]web[dot]de",
    "anna @ gmail.com". The domain must end in a real public suffix, and the word before "at" may not be a
    function word ("it at amazon dot com"). In English "at" is also a preposition, so there a bare "at"
    counts only with a spelled-out or bracketed dot: "look at amazon.de" stays prose, while a German
    "anna at web.de" is an address (English text of unknown language is read the English way).
    """

    ENTITY = EMAIL

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        if not _HINT.search(text):
            return
        # A rejected candidate may hold the start of a real one ("a line at mike.obrien (at) eircom
        # (dot) net" first reads "line at mike.obrien"): the search resumes inside it, not after it.
        position = 0
        while (match := _SPELLED_EMAIL.search(text, position)) is not None:
            if self._is_address(match):
                yield match.span()
                position = match.end()
            else:
                position = match.start() + 1

    def _is_address(self, match: re.Match[str]) -> bool:
        domain_labels = [label for label in _ANY_DOT.split(match.group("domain")) if label]
        suffix = _TLD.extract_str(".".join(domain_labels))
        if not suffix.suffix or not suffix.domain:
            return False
        word_at = match.group("word_at")
        if word_at and not re.fullmatch(_UNAMBIGUOUS_AT, word_at, re.IGNORECASE):
            local_word = [w for w in _ANY_DOT.split(match.group("local")) if w][-1].lower()
            if local_word in _stop_words() or local_word.isdigit():
                return False
            spelled_dot = re.search(rf"{_S}|{_OPEN}", match.group("domain")) is not None
            english = self.supported_language not in _LANGUAGES or self.supported_language == "en"
            if english and not spelled_dot:
                return False
        return True


# --- street addresses -----------------------------------------------------------------------------
_NUMBER = r"\d{1,4}(?:[ ]?[a-zA-Z](?![\w]))?"  # 12, 12a, 12 b
_NOT_QUANTITY = rf"(?![{_SPACE}]?(?i:{_UNIT}))"  # "Rückweg 2 Stunden", "via Amazon, 2 giorni"
_UP = "A-ZÄÖÜÀÂÇÉÈÊËÎÏÔÛÙÁÍÓÚÑ"
_LOW = "a-zäöüßàâçéèêëîïôûùáíóúñ'"
_NAME = rf"[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)*"  # Mayor, Kaiser-Wilhelm
_DE_SUFFIX = r"straße|strasse|str\.|gasse|allee|weg|platz|damm|chaussee"
_DE_WORD = r"Straße|Strasse|Str\.|Gasse|Allee|Weg|Platz|Damm|Ufer|Ring|Chaussee"
# Compounds of -weg and -platz that name no street ("Rückweg 2 Tage", "Sitzplatz 3").
_NOT_STREETS_DE = (
    r"(?:(?:Aus|Um|Heim|Rück|Hin|Irr|Arbeits|Schul|Liefer|Versand|Rechts|Dienst|Ab|Zu|Fuß)weg"
    r"|(?:Park|Sitz|Arbeits|Stell|Spiel|Steh|Tabellen|Stamm|Camping|Zelt|Liege|Lager|Speicher|Stau)platz)\b"
)
_NL_SUFFIX = r"straat|weg|laan|plein|gracht|kade|singel|dijk|steeg"
_FR_TYPE = r"rue|avenue|av\.|boulevard|bd|place|chemin|impasse|allée|quai|route"
_FR_ARTICLE = r"de la|de l'|du|des|de|d'|la|le|les|l'"
_ES_TYPE = r"calle|avenida|avda\.?|plaza|paseo|camino|carretera|ronda|travesía"
_ES_ARTICLE = r"de la|de los|de las|del|de|la|el|los|las"
_IT_TYPE = r"via|viale|piazza|piazzale|corso|vicolo|largo|strada|contrada"
_IT_ARTICLE = r"dei|degli|delle|del|della|dello|di|de"
_EN_TYPE = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Drive|Boulevard|Blvd\.?|Close|Crescent|Terrace|Square"
    r"|Parkway|Highway"
)
_SP = f"[{_SPACE}]"
_STREET_PATTERNS: Mapping[str, str] = {
    # Hauptstraße 12, Berliner Str. 5a, Mühlweg 3, Kaiser-Wilhelm-Allee 10
    "de": rf"\b(?!{_NOT_STREETS_DE})(?:[{_UP}][{_LOW}\-]*(?:{_DE_SUFFIX})|{_NAME}[ \-](?:{_DE_WORD}))"
    rf"{_SP}?{_NUMBER}\b{_NOT_QUANTITY}",
    # Kerkstraat 3, Dorpsweg 12b, Stationsplein 1, Laan van Meerdervoort 5
    "nl": rf"\b(?:[{_UP}][{_LOW}\-]*(?:{_NL_SUFFIX})|(?:Laan|Plein|Weg) van (?:de |der |den )?{_NAME})"
    rf"{_SP}?{_NUMBER}\b{_NOT_QUANTITY}",
    # 12 rue de la Paix, 5 bis avenue Foch, 10, place de la République
    "fr": rf"\b\d{{1,4}}(?:{_SP}?(?:bis|ter|[a-d])\b)?,?{_SP}+(?i:{_FR_TYPE}){_SP}+"
    rf"(?:(?i:{_FR_ARTICLE}){_SP}?)?{_NAME}",
    # Calle Mayor 5, C/ Alcalá, 20, Avenida de la Constitución nº 12
    "es": rf"\b(?:(?i:{_ES_TYPE})|C/){_SP}*(?:(?i:{_ES_ARTICLE}){_SP}+)?{_NAME}(?:{_SP}+{_NAME}){{0,3}},?"
    rf"{_SP}*(?:n[º°o]\.?{_SP}*)?{_NUMBER}\b{_NOT_QUANTITY}",
    # Via Roma 10, Piazza Garibaldi, 3, Corso Vittorio Emanuele II 12
    "it": rf"\b(?i:{_IT_TYPE}){_SP}+(?:(?i:{_IT_ARTICLE}){_SP}+|(?i:dell'))?{_NAME}"
    rf"(?:{_SP}+(?:{_NAME}|[IVX]+))*?,?{_SP}*(?:n\.?{_SP}*)?{_NUMBER}\b{_NOT_QUANTITY}",
    # 221B Baker Street, 10 Downing St, 1600 Pennsylvania Avenue
    "en": rf"\b\d{{1,5}}[A-Za-z]?{_SP}+(?:{_NAME}{_SP}+){{1,3}}(?:{_EN_TYPE})\b",
}


class StreetAddressRecognizer(_Recognizer):
    """A street with its house number, in the word order of the review's language.

    It takes a street-type word (Straße, straat, rue, calle, via, Street...) next to a capitalised name and
    a house number; a number followed by a unit or a count ("Rückweg 2 Stunden") is a quantity. An
    unconfigured language gets every language's patterns.
    """

    ENTITY = STREET

    def __init__(self, supported_language: str) -> None:
        patterns = (
            [_STREET_PATTERNS[supported_language]]
            if supported_language in _STREET_PATTERNS
            else list(_STREET_PATTERNS.values())
        )
        self._regex = re.compile("|".join(f"(?:{p})" for p in patterns))
        super().__init__(supported_language=supported_language)

    def _find(self, text: str) -> Iterator[tuple[int, int]]:
        for match in self._regex.finditer(text):
            yield match.span()
