"""The summarizer's prompt contract: one versioned file, one way to render it, one way to read answers.

`prompts/summarize_reviews.yaml` holds the system instructions, the user template that lists the
numbered review snippets, and the JSON schema of the answer. Since version 2 every pro and con is a claim
that cites the snippets it stands on (`{"text": ..., "evidence": [2, 5]}`), so a shopper can be shown
the reviews behind it. Earlier versions stay beside it (`summarize_reviews.v1.yaml`: plain phrases) and
are loaded by number (`load_prompt(version=1)`), so answers of a model trained on one still parse; a
parsed answer is the same `ReviewSummary` either way (a version 1 phrase is a claim without evidence).

Training renders prompts and targets here, batch inference and serving send the same chat messages, and
evaluation parses answers here, so the chat a model is trained on cannot drift from the one it is served
and judged with.

- `messages(snippets)`: the chat for OpenAI-compatible chat APIs (vLLM, the local server); the server
  applies the model's chat template.
- `render_prompt(tokenizer, snippets)`: the same chat through the tokenizer's own chat template, with
  the generation prompt: the text training and local generation feed the model.
- `render_completion(tokenizer, target)`: the canonical JSON answer and the tokenizer's end-of-turn, the
  text the model is trained to write after the prompt.
- `parse_summary(text, snippet_count)`: a validated `ReviewSummary`, or `SummaryFormatError` with a
  reason code that evaluation and monitoring count; given the number of snippets shown, a citation of a
  snippet that was not shown is rejected (`evidence`).

Every summary, training run and evaluation records `version` and `sha256` (the hash of the file's
canonical content: comments and layout do not change it, any content edit does).

The answer's shape and limits (keys, types, item counts, lengths) are checked by `jsonschema` against
the file's `output_schema`; what a JSON schema cannot say (a phrase of blanks, one sentence) by
`ReviewSummary`.

Light on purpose (YAML, hashlib, jsonschema, pydantic): DAG files and the MWAA workers import it at
parse time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from string import Template
from typing import Any, Literal, Protocol

import yaml
from jsonschema import Draft202012Validator, SchemaError
from jsonschema import ValidationError as SchemaViolation
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator

PROMPTS_DIR = "prompts"
DEFAULT_PROMPT = "summarize_reviews"
ANSWER_KEYS = ("pros", "cons", "summary")  # canonical order: the summary is written after what it weighs
# A sentence end followed by more text: a second sentence.
_SECOND_SENTENCE = re.compile(r"[.!?][\"')\]]*\s+\S")
_SENTINEL = "ANSWER-SENTINEL-4F1C"  # text no chat template produces on its own


class PromptError(ValueError):
    """The prompt file or the input to render is not what the contract needs."""


FormatFailure = Literal["not_json", "not_an_object", "schema", "evidence"]


class SummaryFormatError(ValueError):
    """A model answer that is not a valid summary; `reason` is what evaluation counts."""

    def __init__(self, reason: FormatFailure, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class ChatTokenizer(Protocol):
    """What the contract needs from a tokenizer: a transformers tokenizer has both."""

    eos_token: str | None

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...


class Claim(BaseModel):
    """One pro or con: a short phrase and the numbers (from 1) of the snippets that say it. Answers of
    contract version 1 have no evidence: their phrases are claims with an empty `evidence`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    text: str
    evidence: tuple[int, ...] = ()


class ReviewSummary(BaseModel):
    """An answer of the summarizer. What the contract's JSON schema cannot express (no phrase of blanks,
    a one-sentence summary, citations of snippets that were shown) is checked when it is validated with
    the schema as context (what `parse_summary` does, after the schema itself)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    pros: tuple[Claim, ...]
    cons: tuple[Claim, ...]
    summary: str

    def phrases(self, key: Literal["pros", "cons"]) -> list[str]:
        """The texts of the pros or the cons, in order."""
        return [claim.text for claim in getattr(self, key)]

    def shopper_text(self) -> str:
        """What a shopper reads: every pro, every con and the summary sentence, one a line (what toxicity
        and PII checks of an answer look at)."""
        return "\n".join([*self.phrases("pros"), *self.phrases("cons"), self.summary])

    @model_validator(mode="after")
    def _within_contract(self, info: ValidationInfo) -> ReviewSummary:
        context = info.context or {}
        if not context.get("output_schema"):
            return self
        for key in ("pros", "cons"):
            if any(not claim.text.strip() for claim in getattr(self, key)):
                raise ValueError(f"{key} holds an empty phrase")
            if any(len(set(claim.evidence)) < len(claim.evidence) for claim in getattr(self, key)):
                raise ValueError(f"{key} holds a claim that cites a snippet twice")
        summary = self.summary.strip()
        if not summary:
            raise ValueError("summary is empty")
        if "\n" in summary or _SECOND_SENTENCE.search(summary):
            raise ValueError("summary must be one sentence")
        return self


def _schema_problem(error: SchemaViolation) -> str:
    """One schema violation in words a person reading an evaluation report understands."""
    where = ".".join(str(part) for part in error.absolute_path) or "answer"
    size = len(error.instance) if isinstance(error.instance, list | str) else None
    if error.validator == "maxItems":
        return f"{where} has {size} items, at most {error.validator_value} are allowed"
    if error.validator == "maxLength":
        return f"{where} is {size} characters, at most {error.validator_value} are allowed"
    if error.validator == "minLength" and size == 0:
        return f"{where} is empty"
    return f"{where}: {error.message}"


@dataclass(frozen=True)
class PromptContract:
    """One loaded prompt file. Load it with `load_prompt`; the module functions use the default one."""

    name: str
    version: int | str
    system: str
    user_template: str
    snippet_template: str
    output_schema: dict[str, Any]
    sha256: str
    path: Path = field(compare=False)

    @classmethod
    def from_file(cls, path: str | Path) -> PromptContract:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise PromptError(f"cannot read the prompt file {path}: {error}") from error
        required = ("name", "version", "system", "user_template", "snippet_template", "output_schema")
        missing = [key for key in required if not isinstance(data, dict) or key not in data]
        if missing:
            raise PromptError(f"{path} lacks {', '.join(missing)}")
        schema = data["output_schema"]
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            raise PromptError(f"{path}: output_schema is not a JSON schema: {error.message}") from None
        if sorted(schema.get("properties", {})) != sorted(ANSWER_KEYS):
            raise PromptError(f"{path}: output_schema must describe exactly {', '.join(ANSWER_KEYS)}")
        for template_key, names in (
            ("user_template", ("count", "snippets")),
            ("snippet_template", ("index",)),
        ):
            found = set(Template(data[template_key]).get_identifiers())
            if not set(names) <= found:
                raise PromptError(f"{path}: {template_key} must use ${', $'.join(names)}")
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return cls(
            name=data["name"],
            version=data["version"],
            system=data["system"].strip(),
            user_template=data["user_template"],
            snippet_template=data["snippet_template"],
            output_schema=schema,
            sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            path=path,
        )

    @cached_property
    def answer_validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.output_schema)

    @property
    def prompt_id(self) -> str:
        """`name@vVERSION+HASH12`: what summaries, runs and model cards record."""
        return f"{self.name}@v{self.version}+{self.sha256[:12]}"

    # ---- rendering ------------------------------------------------------------------------------

    def user_message(self, snippets: Sequence[Mapping[str, Any]]) -> str:
        """The user turn: the numbered snippets, each with its star rating, on one line each."""
        if not snippets:
            raise PromptError("there is nothing to summarize: no review snippets")
        lines = []
        for index, snippet in enumerate(snippets, start=1):
            text, stars = snippet.get("text"), snippet.get("star_rating")
            if not isinstance(text, str) or not text.strip():
                raise PromptError(f"snippet {index} has no text")
            if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
                raise PromptError(f"snippet {index} has star_rating {stars!r}, not an integer from 1 to 5")
            # Folded onto one line: a snippet cannot start a line that looks like another snippet.
            lines.append(
                Template(self.snippet_template).substitute(
                    index=index, star_rating=stars, text=" ".join(text.split())
                )
            )
        return Template(self.user_template).substitute(count=len(lines), snippets="\n".join(lines))

    def messages(self, snippets: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Chat messages for an OpenAI-compatible chat API; the server applies the chat template."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user_message(snippets)},
        ]

    def render_prompt(self, tokenizer: ChatTokenizer, snippets: Sequence[Mapping[str, Any]]) -> str:
        """The prompt text through the tokenizer's own chat template, ending with the generation prompt.

        Tokenize it with `add_special_tokens=False`: the template already holds every special token
        the model expects (as vLLM does for chat requests)."""
        rendered = tokenizer.apply_chat_template(
            self.messages(snippets), tokenize=False, add_generation_prompt=True
        )
        if not isinstance(rendered, str):
            raise PromptError(f"the chat template rendered {type(rendered).__name__}, not text")
        return rendered

    def render_completion(self, tokenizer: ChatTokenizer, target: Mapping[str, Any] | ReviewSummary) -> str:
        """The canonical JSON answer and the tokenizer's end-of-turn: what the model learns to write."""
        return canonical_json(target) + end_of_turn(tokenizer)

    # ---- reading answers ------------------------------------------------------------------------

    def parse_summary(self, text: str, snippet_count: int | None = None) -> ReviewSummary:
        """A model answer as a validated `ReviewSummary`; `SummaryFormatError` says why it is not one.

        With `snippet_count` (how many snippets the prompt showed), every cited number must be one of
        them (`evidence` otherwise): a claim that cites a snippet nobody showed stands on nothing.

        Read tolerantly (`strict=False`): a model may write a raw control character, a newline say, inside
        a string, which strict JSON rejects although the answer is plain. What it means is then judged by
        the schema and `ReviewSummary` like any other value (a newline does not make two sentences one)."""
        try:
            value = json.loads(text.strip(), strict=False)
        except (json.JSONDecodeError, TypeError, AttributeError) as error:
            raise SummaryFormatError(
                "not_json", f"the answer is not JSON ({error}): {str(text)[:80]!r}"
            ) from None
        if not isinstance(value, dict):
            raise SummaryFormatError(
                "not_an_object", f"the answer is a JSON {type(value).__name__}, not an object"
            )
        violations = sorted(
            self.answer_validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if violations:
            raise SummaryFormatError("schema", "; ".join(_schema_problem(e) for e in violations))
        claims = {key: tuple(_as_claim(item) for item in value[key]) for key in ("pros", "cons")}
        try:
            summary = ReviewSummary.model_validate(
                {**claims, "summary": value["summary"]}, context={"output_schema": self.output_schema}
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in error.errors()
            )
            raise SummaryFormatError("schema", problems) from None
        if snippet_count is not None:
            unknown = [
                f"{key}.{index} cites snippet {number}"
                for key in ("pros", "cons")
                for index, claim in enumerate(getattr(summary, key))
                for number in claim.evidence
                if number > snippet_count
            ]
            if unknown:
                raise SummaryFormatError(
                    "evidence", f"{'; '.join(unknown)}, but only {snippet_count} were shown"
                )
        return summary


def _as_claim(item: Any) -> dict[str, Any]:
    """A pro or con as `Claim` reads it: a version 1 phrase becomes a claim without evidence."""
    if isinstance(item, str):
        return {"text": item}
    return {"text": item["text"], "evidence": tuple(item["evidence"])}


def canonical_json(target: Mapping[str, Any] | ReviewSummary) -> str:
    """The one serialization of an answer: keys in `ANSWER_KEYS` order (a claim's `text` before its
    `evidence`), compact, UTF-8 kept as is. Plain-phrase items (version 1 targets) are written as given."""
    data = answer_dict(target) if isinstance(target, ReviewSummary) else target
    missing = [key for key in ANSWER_KEYS if key not in data]
    if missing:
        raise PromptError(f"the target lacks {', '.join(missing)}")
    ordered = {
        key: [_ordered_claim(item) for item in data[key]] if key in ("pros", "cons") else data[key]
        for key in ANSWER_KEYS
    }
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def answer_dict(summary: ReviewSummary) -> dict[str, Any]:
    """A parsed answer as plain JSON values in the current contract's shape (claims with evidence)."""
    return {
        "pros": [{"text": c.text, "evidence": list(c.evidence)} for c in summary.pros],
        "cons": [{"text": c.text, "evidence": list(c.evidence)} for c in summary.cons],
        "summary": summary.summary,
    }


def _ordered_claim(item: Any) -> Any:
    if isinstance(item, Mapping):
        return {key: item[key] for key in ("text", "evidence") if key in item} | dict(item)
    return item


def end_of_turn(tokenizer: ChatTokenizer) -> str:
    """The text the chat template closes an assistant turn with, up to and including the EOS token.

    Read from the template itself (`<|im_end|>` for ChatML models such as Qwen, `<|eot_id|>` for
    Llama 3), so a completion ends exactly as the template would close it, and generation stops there."""
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "?"}, {"role": "assistant", "content": _SENTINEL}], tokenize=False
    )
    if not isinstance(rendered, str) or _SENTINEL not in rendered:
        raise PromptError("the chat template does not render the assistant's message as given")
    tail = rendered.rsplit(_SENTINEL, 1)[1]
    eos = tokenizer.eos_token
    if eos and eos in tail:
        return tail[: tail.index(eos) + len(eos)]
    tail = tail.rstrip()
    if tail:
        return tail
    if not eos:
        raise PromptError("the tokenizer has no EOS token and its chat template closes no turn")
    return eos


def prompt_path(name: str = DEFAULT_PROMPT) -> Path:
    """`<project home>/prompts/<name>.yaml` (the repository locally, the image or MWAA DAG folder else)."""
    from common.settings import project_home

    return project_home() / PROMPTS_DIR / f"{name}.yaml"


def version_path(version: int | str, name: str = DEFAULT_PROMPT) -> Path:
    """Where an earlier version of a contract is kept: `prompts/<name>.v<version>.yaml`."""
    return prompt_path(f"{name}.v{version}")


@lru_cache(maxsize=8)
def _load_cached(path: str) -> PromptContract:
    return PromptContract.from_file(path)


def load_prompt(path: str | Path | None = None, *, version: int | str | None = None) -> PromptContract:
    """The contract in `path` (default: the summarizer's), read once per process and path. With
    `version`, that version of the summarizer's contract: the current file when it is that version,
    else the kept earlier one (what a model trained on it is served and judged with)."""
    if path is not None:
        return _load_cached(str(Path(path)))
    current = _load_cached(str(prompt_path()))
    if version is None or str(version) == str(current.version):
        return current
    kept = version_path(version)
    if not kept.exists():
        raise PromptError(f"no version {version} of the prompt contract: {kept} does not exist")
    return _load_cached(str(kept))


# ---- the default contract --------------------------------------------------------------------


def version() -> int | str:
    return load_prompt().version


def content_hash() -> str:
    return load_prompt().sha256


def messages(snippets: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return load_prompt().messages(snippets)


def render_prompt(tokenizer: ChatTokenizer, snippets: Sequence[Mapping[str, Any]]) -> str:
    return load_prompt().render_prompt(tokenizer, snippets)


def render_completion(tokenizer: ChatTokenizer, target: Mapping[str, Any] | ReviewSummary) -> str:
    return load_prompt().render_completion(tokenizer, target)


def parse_summary(text: str, snippet_count: int | None = None) -> ReviewSummary:
    return load_prompt().parse_summary(text, snippet_count)
