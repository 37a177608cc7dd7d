"""Text repair for review bodies: markup, encoding damage, invisible characters and whitespace.

The reference design lowercased every review and stripped every non-ASCII character before anything
else, which destroyed accents, emoji and the very signal language detection needs. Here the text keeps
its case, accents and emoji; only what no reader would call content is removed. Encoding damage (UTF-8
read as Latin-1 or CP1252, once or twice, the client bug behind the "silent data corruption" incident) is
repaired with ftfy, and what cannot be repaired is reported by `garbled_detail` so the record is
quarantined instead of producing meaningless embeddings.

Markup policy. Published text is rendered by web pages and fed to a language model, so it must never
carry markup back out, whatever escaping depth the source used (`<script>`, `&lt;script&gt;`,
`&amp;lt;script&amp;gt;`, `&#60;script&#62;`, `&#x3C;`, `&ltscript&gt` without semicolons, mixed):

- Character references are decoded exactly once, by `decode_references` after the tag strip. ftfy's own
  `unescape_html` is off: decoding a second time is how `&lt;script&gt;` used to come out as a live
  `<script>` tag. Content references keep their single decode, so a feed that escaped `&` twice publishes
  `&amp;`, as it sent it, rather than guessing.
- An escaped `<` or `>` (at any depth: `&lt;`, `&amp;lt;`, `&#38;#60;`, with or without semicolons) is
  markup, not content: it is turned into the character and parsed with the raw tags, so an escaped
  `<script>` loses its body like a raw one and an escaped `<br>` still breaks the line. Parsing repeats
  while the text still holds markup (nested escapes, `<scr<b>ipt>`), at most `MAX_MARKUP_LAYERS` times.
- Whatever no parser removes (an unclosed `<img src=x onerror=...`, markup rebuilt beyond the bound, or
  made by a later repair: ftfy folds fullwidth `＜` to `<`, a dropped zero-width space joins `<` and
  `script`) is made inert: a `<` that would open a tag, comment or declaration gets a space after it.
  Hence the invariant the tests check on every input: no `<` directly before a letter, `/letter`, `!`
  or `?letter`, and no reference that decodes to `<` or `>`.
- `javascript:`, `vbscript:` and `data:` URLs are removed with their payload, also when a tab, newline
  or `&colon;` splits the scheme as browsers tolerate. A bare "JavaScript: ..." followed by a space is
  not a URL; only its colon goes, so the word can never start one.
- Ordinary text is left as written: `<3`, `a < b`, `5 > 3`, "Kraft & Ausdauer", "R&D", "AT&T" do not look
  like markup to any HTML parser and never reach one.

Private-use characters (U+E000-U+F8FF, planes 15 and 16) and noncharacters have no meaning outside the
font or program that assigned them (icon fonts, vendor logos, smuggled payloads): they are dropped with
the invisible characters.

Cost matters (every review passes here): BeautifulSoup only runs on text that a cheap regex says
contains markup or references, and ftfy, which is fast on clean text, does the rest.
"""

from __future__ import annotations

from html import unescape
from html.entities import html5 as _HTML5_REFERENCES

import ftfy
import regex
from bs4 import BeautifulSoup
from ftfy.badness import is_bad

# Parsing passes over markup hidden under more escaping; real double-escaped feeds need two.
MAX_MARKUP_LAYERS = 4

# A tag (`<p>`, `</review>`, `<br/>`, `<a href=...>`), a comment or declaration, or a character reference
# (`&amp;`, `&#233;`, `&copy 2020`), as an HTML parser reads them: `<3`, `a < b` and "R&D" are not markup.
# HTML's legacy references may omit the semicolon (`&amp`, `&eacute`); only whole names count.
_LEGACY_NAMES = "|".join(sorted((n for n in _HTML5_REFERENCES if not n.endswith(";")), key=len, reverse=True))
_MARKUP = regex.compile(
    r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--|<![A-Za-z\[]|<\?[A-Za-z]"
    rf"|&(?:[A-Za-z][A-Za-z0-9]{{1,31}};|\#[0-9]{{1,7}};?|\#[xX][0-9A-Fa-f]{{1,6}};?|(?:{_LEGACY_NAMES})(?![A-Za-z0-9]))"
)
# What an HTML tokenizer treats as the start of a tag, an end tag, a comment, a declaration or a
# processing instruction. `<3`, `< b` and `</3` are text to it.
_OPENS_TAG = r"[A-Za-z]|/[A-Za-z]|!(?:--|\[|[A-Za-z])|\?[A-Za-z]"
_TAG_START = regex.compile(rf"<(?={_OPENS_TAG})")
_TEXT_BRACKET = regex.compile(rf"<(?!{_OPENS_TAG})")
# An escaped `&` (`&amp;`, `&#38;`, `&#x26;`, semicolon optional), any number of times, then an escaped `<`
# or `>`: markup at any escaping depth. `(?![0-9])` keeps `&#600;` (a letter) out.
_ESCAPED_AMP = r"(?:amp|AMP|\#0*38(?![0-9])|\#[xX]0*26(?![0-9A-Fa-f]));?"
_MARKUP_REFERENCE = regex.compile(
    rf"&(?:{_ESCAPED_AMP})*"
    r"(?:(?P<lt>(?:lt|LT|\#0*60(?![0-9])|\#[xX]0*3[cC](?![0-9A-Fa-f]));?)"
    r"|(?:gt|GT|\#0*62(?![0-9])|\#[xX]0*3[eE](?![0-9A-Fa-f]));?)"
)
# A character reference as written: named (its whole alphanumeric run, so `&notes` is not `&not` + "es")
# or numeric.
_REFERENCE = regex.compile(
    r"&(?:(?P<name>[A-Za-z][A-Za-z0-9]*)(?P<semicolon>;)?|#[0-9]+;?|#[xX][0-9A-Fa-f]+;?)"
)
# Script URLs as browsers read them: scheme letters may be split by tabs and line breaks, and the colon
# may be a reference. A data: URL always has a comma after its media type.
_URL_GAP = r"[\t\n\r]*"
_URL_COLON = rf"{_URL_GAP}(?::|&(?:{_ESCAPED_AMP})*(?:colon|\#0*58(?![0-9])|\#[xX]0*3[aA](?![0-9A-Fa-f]));?)"


def _scheme(name: str) -> str:
    return _URL_GAP.join(name)


_SCRIPT_SCHEME = (
    rf"(?<![\p{{L}}\p{{N}}])(?P<scheme>{_scheme('javascript')}|{_scheme('vbscript')})(?P<colon>{_URL_COLON})"
)
_UNSAFE_URL = regex.compile(
    rf"{_SCRIPT_SCHEME}(?=\S)\S*|(?<![\p{{L}}\p{{N}}]){_scheme('data')}{_URL_COLON}[\w.+/-]*(?:;[\w.+=-]*)*,\S*",
    flags=regex.IGNORECASE,
)
_SCRIPT_SCHEME_WORD = regex.compile(_SCRIPT_SCHEME, flags=regex.IGNORECASE)
_URL_GAPS = regex.compile(_URL_GAP)

# Elements whose content is never review text.
_DROPPED_ELEMENTS = ["script", "style", "noscript", "template", "head", "title"]
# Elements that end a line when rendered: their text must not run into the next element's.
_BLOCK_ELEMENTS = [
    "p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "section", "article", "header", "footer", "dd", "dt",
]  # fmt: skip

# ftfy's defaults, except that typographic quotes stay as the reviewer typed them and that references
# are not decoded a second time (see the markup policy above).
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, unescape_html=False, explain=False, normalization="NFC")

# Control, format (zero-width space, BOM, bidi marks, invisible tag characters used to smuggle hidden
# instructions), surrogate, private-use and noncharacter code points; line breaks and tabs are whitespace,
# handled below. The zero width joiner is kept only inside emoji sequences (family, profession emoji),
# where it is part of the picture, and dropped everywhere else.
_INVISIBLE = regex.compile(
    r"[[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Noncharacter_Code_Point}]--[\t\n\x0b\x0c\x85\u200d]]", flags=regex.V1
)
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

NO_WORDS_DETAIL = "no letters: only emoji, digits or symbols"


def looks_like_markup(text: str) -> bool:
    """Cheap pre-check that decides whether the (slow) HTML parser runs at all."""
    return _MARKUP.search(text) is not None


def holds_markup(text: str) -> bool:
    """Whether a tag could still open in `text`, or a reference in it decodes to `<` or `>`: what
    `clean_text` guarantees never to publish."""
    return _TAG_START.search(text) is not None or _MARKUP_REFERENCE.search(text) is not None


def _unescape_markup_characters(text: str) -> str:
    return _MARKUP_REFERENCE.sub(lambda match: "<" if match["lt"] else ">", text)


def _decode_reference(match: regex.Match[str]) -> str:
    name = match["name"]
    if name is None:
        return unescape(match[0])  # numeric; invalid code points become U+FFFD, as in browsers
    key = name + ";" if match["semicolon"] else name
    return _HTML5_REFERENCES.get(key, match[0])  # unknown names ("AT&T;", "&notes") stay as written


def decode_references(text: str) -> str:
    """Character references decoded once: named ones by their whole name, legacy ones (`&amp`,
    `&eacute`) also without semicolon, numeric ones by code point."""
    return _REFERENCE.sub(_decode_reference, text) if "&" in text else text


def strip_markup(text: str) -> str:
    """The visible text of an HTML fragment: scripts and styles dropped, and a line break wherever a
    browser would break the line. References are left as written (`decode_references` decodes them):
    the parser sees every `&` escaped, and every `<` that starts no tag (`<3`, `</3`, `<!<`) escaped too,
    so that only what `_TAG_START` calls markup is parsed as markup."""
    soup = BeautifulSoup(_TEXT_BRACKET.sub("&lt;", text.replace("&", "&amp;")), "html.parser")
    for element in soup(_DROPPED_ELEMENTS):
        element.decompose()
    for br in soup("br"):
        br.replace_with("\n")
    for element in soup(_BLOCK_ELEMENTS):
        element.insert_before("\n")
        element.insert_after("\n")
    return soup.get_text()


def neutralize_markup(text: str) -> str:
    """Markup that parsing left, made inert: escaped `<` and `>` decoded, and a space after every `<`
    that would open a tag. Inserting the space cannot create a new tag start, so one pass suffices."""
    return _TAG_START.sub("< ", _unescape_markup_characters(text))


def remove_residual_markup(text: str) -> str:
    """Markup still present in decoded text (escaped more than once, nested, or rebuilt by a repair),
    parsed away layer by layer without decoding any other reference, then neutralized."""
    for _ in range(MAX_MARKUP_LAYERS):
        if not holds_markup(text):
            return text
        stripped = strip_markup(_unescape_markup_characters(text))
        if stripped == text:  # an unclosed tag the parser leaves as text
            break
        text = stripped
    return neutralize_markup(text)


def remove_markup(text: str) -> str:
    """Tags, comments and scripts removed at every escaping depth; references decoded once."""
    if looks_like_markup(text) or _MARKUP_REFERENCE.search(text) is not None:
        text = decode_references(strip_markup(_unescape_markup_characters(text)))
    return remove_residual_markup(text)


def remove_unsafe_urls(text: str) -> str:
    """`javascript:`, `vbscript:` and `data:` URLs removed with their payload; the colon of a bare
    "JavaScript:" in prose removed, so that no script scheme survives in any form."""
    if ":" not in text and "&" not in text:  # no scheme without a colon, literal or `&colon;`
        return text
    for _ in range(MAX_MARKUP_LAYERS):
        stripped = _UNSAFE_URL.sub(" ", text)
        if stripped == text:
            break
        text = stripped  # removing one URL can join the parts of another
    return _SCRIPT_SCHEME_WORD.sub(lambda match: _URL_GAPS.sub("", match["scheme"]), text)


def _drop_invisible(text: str) -> str:
    if text.isprintable():  # no control, format, private-use or unassigned character, no line break
        return text
    text = _INVISIBLE.sub("", text)
    if "\u200d" in text:
        text = _LONE_ZWJ.sub("", text)
    return text


def normalize_whitespace(text: str) -> str:
    """Single spaces, single line breaks, at most one blank line, nothing at either end."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def clean_text(text: str) -> str:
    """The readable content of a raw review, with its case, accents and emoji intact, and no markup
    or script URL at any escaping depth (see the markup policy above)."""
    text = remove_markup(text)
    text = ftfy.fix_text(text, _FTFY)
    text = _drop_invisible(text)
    # ftfy's width folding (`＜script＞`), a dropped invisible character (`<\u200bscript>`) or a decoded
    # reference can have rebuilt markup: what was decoded once is not decoded again, only stripped.
    text = remove_residual_markup(text)
    text = remove_unsafe_urls(text)
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
    how real people write. A text without any letter is not damaged, it has no words: `no_words_detail`.
    """
    if "\ufffd" in text:
        return "contains the replacement character U+FFFD (bytes lost in an encoding error)"
    if is_bad(text):
        return "residual mojibake that could not be repaired"
    if _LETTER.search(text) is None:
        return None
    share = letter_share(text)
    if share < min_letter_share:
        return f"letter share {share:.2f} below {min_letter_share:.2f}"
    return None


def no_words_detail(text: str) -> str | None:
    """Why a text says nothing in words ("👍👍👍", "10/10", "!!!"), or None when it has letters."""
    return NO_WORDS_DETAIL if _LETTER.search(text) is None else None
