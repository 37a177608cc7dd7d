"""Text repair for review bodies: markup, encoding damage, invisible characters and whitespace.

The reference design lowercased every review and stripped every non-ASCII character before anything
else, which destroyed accents, emoji and the very signal language detection needs. Here the text keeps
its case, accents and emoji; only what no reader would call content is removed. Encoding damage (UTF-8
read as Latin-1 or CP1252, once or twice, the client bug behind the "silent data corruption" incident) is
repaired with ftfy, and what cannot be repaired is reported by `garbled_detail` so the record is
quarantined instead of producing meaningless embeddings.

Cost matters (every review passes here): BeautifulSoup only runs on text that a cheap regex says
contains markup or entities, and ftfy, which is fast on clean text, does the rest.
"""

from __future__ import annotations

import unicodedata

import ftfy
import regex
from bs4 import BeautifulSoup
from ftfy.badness import is_bad

# A tag (`<p>`, `</review>`, `<br/>`, `<a href=...>`), a comment or an HTML entity, as an HTML parser
# reads them: `<3` and `a < b` are not markup.
_MARKUP = regex.compile(
    r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
)
# Elements whose content is never review text.
_DROPPED_ELEMENTS = ["script", "style", "noscript", "template", "head", "title"]
# Elements that end a line when rendered: their text must not run into the next element's.
_BLOCK_ELEMENTS = [
    "p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "section", "article", "header", "footer", "dd", "dt",
]  # fmt: skip

# ftfy's defaults, except that typographic quotes stay as the reviewer typed them.
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, explain=False, normalization="NFC")

# Control, format (zero-width space, BOM, bidi marks, invisible tag characters used to smuggle hidden
# instructions) and surrogate characters; line breaks and tabs are whitespace, handled below. The zero
# width joiner is kept only inside emoji sequences (family, profession emoji), where it is part of the
# picture, and dropped everywhere else.
_INVISIBLE = regex.compile(r"[[\p{Cc}\p{Cf}\p{Cs}]--[\t\n\x0b\x0c\x85\u200d]]", flags=regex.V1)
_LONE_ZWJ = regex.compile(
    r"(?<![\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F])\u200d|\u200d(?!\p{Extended_Pictographic})"
)
_LINE_BREAKS = regex.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_SPACES = regex.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = regex.compile(r" ?\n ?")
_BLANK_LINES = regex.compile(r"\n{3,}")

# Characters that say nothing about intelligibility: emoji (with their modifiers and joiners),
# punctuation and whitespace. A review of "Super!!! 👍👍👍" is readable; one of "Ã°Å¸â€˜Â" is not.
_NEUTRAL = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F\u200D\p{P}\s]+")
_LETTER = regex.compile(r"\p{L}")
_COMBINING = regex.compile(r"\p{Mn}+")


def looks_like_markup(text: str) -> bool:
    """Cheap pre-check that decides whether the (slow) HTML parser runs at all."""
    return _MARKUP.search(text) is not None


def strip_markup(text: str) -> str:
    """The visible text of an HTML fragment: scripts and styles dropped, entities unescaped, and a
    line break wherever a browser would break the line."""
    soup = BeautifulSoup(text, "html.parser")
    for element in soup(_DROPPED_ELEMENTS):
        element.decompose()
    for br in soup("br"):
        br.replace_with("\n")
    for element in soup(_BLOCK_ELEMENTS):
        element.insert_before("\n")
        element.insert_after("\n")
    return soup.get_text()


def normalize_whitespace(text: str) -> str:
    """Single spaces, single line breaks, at most one blank line, nothing at either end."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def clean_text(text: str) -> str:
    """The readable content of a raw review, with its case, accents and emoji intact."""
    if looks_like_markup(text):
        text = strip_markup(text)
    text = ftfy.fix_text(text, _FTFY)
    text = _INVISIBLE.sub("", text)
    if "\u200d" in text:
        text = _LONE_ZWJ.sub("", text)
    return normalize_whitespace(text)


def letter_share(text: str) -> float:
    """Letters among the characters that are neither punctuation, whitespace nor emoji (1.0 if none)."""
    rest = _NEUTRAL.sub("", text)
    if not rest:
        return 1.0
    return len(_LETTER.findall(rest)) / len(rest)


def garbled_detail(text: str, min_letter_share: float) -> str | None:
    """Why a cleaned text is unintelligible, or None when it reads as text.

    Three signs of damage that ftfy could not repair: a replacement character (bytes were lost),
    a residual mojibake sequence (ftfy's own detector), and too few letters among the remaining
    characters (symbol soup). Punctuation and emoji do not count against a review: "!!!" and "😍😍" are
    how real people write.
    """
    if "\ufffd" in text:
        return "contains the replacement character U+FFFD (bytes lost in an encoding error)"
    if is_bad(text):
        return "residual mojibake that could not be repaired"
    if _LETTER.search(text) is None:
        return "no letters"
    share = letter_share(text)
    if share < min_letter_share:
        return f"letter share {share:.2f} below {min_letter_share:.2f}"
    return None


def fold_for_matching(text: str) -> str:
    """An accent-free copy for pattern matching ("Ignorez les instructions précédentes" ->
    "Ignorez les instructions precedentes"), so one pattern covers accented and unaccented spellings.
    Never stored: the published text keeps its accents."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))
