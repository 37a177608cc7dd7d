"""What a quarantine row may say about a review's text: a bounded, PII-redacted preview and a keyed hash.

Quarantine is where reviews end that the chain could not publish, and so where raw text with e-mail
addresses, phone numbers and IBANs would otherwise pile up, outside the redaction the clean data gets.
A row therefore never holds the raw text. It holds:

- `redacted_text`: the text as the chain cleaned it (or, for a record rejected before cleaning, a cleaned
  prefix of it), passed through the chain's own `PiiRedactor` with the detected language when the chain
  got that far (the fallback engine otherwise), and at most `ingestion.max_clean_chars` long. Text that
  does not clean into something readable (not a string, not encodable as UTF-8, garbled, empty) has no
  preview: what is wrong with it is in the row's `detail`.
- `raw_text_hmac`: HMAC-SHA256 of the raw text's UTF-8 under a secret key. Whoever holds the key can
  tell whether a source row still holds the quarantined text (`python -m pipelines.ingestion.quarantine`
  hashes a file); without it, the hash cannot be tested against guessed texts, as a plain hash could.
  The key is long-lived (`ingestion.quarantine`): a new key changes every hash.

Cost: quarantine is about a tenth of the reviews, and each is redacted once, on at most a few times
`max_clean_chars` characters, however long its raw text (up to `max_raw_chars`, or beyond for the rows
quarantined for their length).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.pii import PiiRedactor
from common.settings import IngestionSettings, QuarantineSettings, get_settings
from pipelines.ingestion.cleaning import clean_text, garbled_detail
from pipelines.ingestion.language import UNKNOWN

log = logging.getLogger(__name__)

MIN_KEY_CHARS = 32
# Where a text is cut, an entity may be cut in half, and half an e-mail address or IBAN is no longer
# recognised, so it would be kept as it is. Text is therefore redacted over this many characters beyond
# the bound, and this much of the end of a cut text is dropped after redaction: the longest entity the
# recognisers look for with spaces in it (IBANs, phone and card numbers) is well under it, and one
# without spaces (an e-mail address: at most 254 characters) ends at the cut and goes whole.
MARGIN_CHARS = 256
# A record rejected before cleaning is previewed from a prefix of its raw text: markup and entities
# shrink under cleaning, and this many times the bound still leaves a full preview of most of them.
RAW_PREFIX_FACTOR = 4


class QuarantineKeyError(RuntimeError):
    """The HMAC key is missing or too weak: nothing can be quarantined without it."""


def _create_key_file(path: Path) -> None:
    """Write a new random key to `path` unless a key is already there, atomically: two processes that
    race both end up reading the one key that was linked into place first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(handle, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(handle)
    finally:
        os.close(handle)
    try:
        os.link(candidate, path)
        log.warning(
            "generated the quarantine HMAC key %s: keep it, a new key changes every raw_text_hmac", path
        )
    except FileExistsError:
        pass
    finally:
        candidate.unlink()


def _secret_value(secret_id: str) -> str:
    """The secret string of a Secrets Manager secret, read by the step itself with its own role, so the
    key is never in a job's environment or description."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise QuarantineKeyError(
            f"the quarantine HMAC key cannot be read from the secret {secret_id!r}: {exc}"
        ) from exc


def load_hash_key(settings: QuarantineSettings, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key, from the first of: the variable `hash_key_env`, the Secrets Manager secret
    `hash_key_secret` (aws), the key file `hash_key_file` (created once: local). Surrounding whitespace is
    dropped (a secret written with a trailing newline is the same key)."""
    environ = os.environ if environ is None else environ
    value = environ.get(settings.hash_key_env, "").strip()
    source = f"${settings.hash_key_env}"
    if not value and settings.hash_key_secret:
        value = _secret_value(settings.hash_key_secret).strip()
        source = f"secret {settings.hash_key_secret}"
    elif not value:
        if settings.hash_key_file is None:
            raise QuarantineKeyError(
                f"no quarantine HMAC key: set {settings.hash_key_env}, ingestion.quarantine.hash_key_secret"
                " (a Secrets Manager secret, as the aws profile does) or ingestion.quarantine.hash_key_file"
            )
        path = Path(settings.hash_key_file)
        if not path.exists():
            _create_key_file(path)
        value = path.read_text(encoding="utf-8").strip()
        source = str(path)
    if len(value) < MIN_KEY_CHARS:
        raise QuarantineKeyError(
            f"the quarantine HMAC key in {source} has {len(value)} characters; it needs at least "
            f"{MIN_KEY_CHARS} (for example `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return value.encode("utf-8")


def raw_text_hmac(key: bytes, text: Any) -> str | None:
    """HMAC-SHA256 (hex) of a raw text, or None for a value that is not a string.

    Lone surrogates (text decoded from invalid bytes) are hashed as they are rather than refused, so
    every string gets a hash; for valid text this is exactly the hash of its UTF-8 bytes.
    """
    if not isinstance(text, str):
        return None
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """At most `limit` characters of `text`, and whether anything was cut. A word cut in half is dropped
    (up to `MARGIN_CHARS` of it): an e-mail address or URL split at the cut goes whole."""
    if len(text) <= limit:
        return text, False
    head = text[: max(limit, 0)]
    if not head or head[-1].isspace() or text[limit].isspace():
        return head, True
    start = max(len(head) - MARGIN_CHARS, 0)
    for end in range(len(head) - 1, start - 1, -1):
        if head[end].isspace():
            return head[: end + 1], True
    return head[:start], True


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class QuarantineText:
    """The text columns of one quarantine row (`common.schemas.QUARANTINE_REVIEW`)."""

    redacted_text: str | None
    raw_text_hmac: str | None
    raw_text_chars: int | None
    language: str | None
    pii_entities: list[str] = field(default_factory=list)


class QuarantineRedactor:
    """Builds the text columns of quarantine rows with the chain's redactor and the HMAC key."""

    def __init__(self, redactor: PiiRedactor, key: bytes, max_chars: int, min_letter_share: float) -> None:
        if max_chars < 1:
            raise ValueError("the quarantine preview needs max_chars >= 1")
        self.redactor = redactor
        self.key = key
        self.max_chars = max_chars
        self.min_letter_share = min_letter_share

    @classmethod
    def from_settings(cls, ingestion: IngestionSettings, redactor: PiiRedactor) -> QuarantineRedactor:
        key = load_hash_key(ingestion.quarantine)
        return cls(redactor, key, ingestion.max_clean_chars, ingestion.min_letter_share)

    def describe(
        self,
        raw: Any,
        *,
        cleaned: str | None = None,
        language: str | None = None,
        redacted: tuple[str, list[str]] | None = None,
    ) -> QuarantineText:
        """The text columns for a record with raw text `raw`.

        `cleaned`: the chain's cleaned text when the record got that far (else a prefix of `raw` is
        cleaned here); `language`: the detected language, if any; `redacted`: the chain's own redacted
        text and entity types, for a record that passed redaction (it is only bounded here).
        """
        known = language if language and language != UNKNOWN else None
        if redacted is not None:
            preview: str | None = _cut(redacted[0], self.max_chars)[0].strip() or None
            entities = list(redacted[1])
        else:
            preview, entities = self._preview(raw, cleaned, known)
        return QuarantineText(
            redacted_text=preview,
            raw_text_hmac=raw_text_hmac(self.key, raw),
            raw_text_chars=len(raw) if isinstance(raw, str) else None,
            language=known,
            pii_entities=entities if preview is not None else [],
        )

    def _preview(self, raw: Any, cleaned: str | None, language: str | None) -> tuple[str | None, list[str]]:
        if not isinstance(raw, str) or not _is_utf8(raw):
            return None, []
        damaged_tail = False
        if cleaned is None:
            prefix, damaged_tail = _cut(raw, RAW_PREFIX_FACTOR * self.max_chars + MARGIN_CHARS)
            cleaned = clean_text(prefix)
        if not cleaned.strip() or not _is_utf8(cleaned):
            return None, []
        window, cut = _cut(cleaned, self.max_chars + MARGIN_CHARS)
        damaged_tail = damaged_tail or cut
        if garbled_detail(window, self.min_letter_share) is not None:
            return None, []
        redacted, entities = self.redactor.redact(window, language or UNKNOWN)
        if damaged_tail:
            # The cut may have split an entity at the very end, where redaction left it: drop that end.
            # Measured from the end, this holds however redaction shortened or lengthened the text.
            redacted = redacted[: max(len(redacted) - MARGIN_CHARS, 0)]
        preview = _cut(redacted, self.max_chars)[0].strip()
        return (preview or None), entities


def main(argv: Sequence[str] | None = None) -> int:
    """Print the raw_text_hmac of each file's text (UTF-8, exactly as stored: no newline is added or
    removed, so a file written with `printf %s` hashes like the source value)."""
    parser = argparse.ArgumentParser(
        description="The raw_text_hmac a quarantine row would hold for the text in each file, under the "
        "profile's quarantine key: to match a source row's text with a quarantine row without copying it."
    )
    parser.add_argument("files", nargs="+", type=Path, help="files holding one raw review text each")
    args = parser.parse_args(argv)
    key = load_hash_key(get_settings().ingestion.quarantine)
    for path in args.files:
        text = path.read_bytes().decode("utf-8")  # read_text would turn \r\n into \n
        print(f"{raw_text_hmac(key, text)}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
