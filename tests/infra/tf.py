"""The Terraform configuration as data, for tests that assert what it does.

HCL is parsed with checkov's own parser (bc-python-hcl2, module `hcl2`), the one `make test-infra`
already installs. That parser wraps each attribute value in a one-element list and keeps expressions as
"${...}" strings; nested blocks are lists of dicts. `attr` and `blocks` read those shapes, so a test
reads a resource the way it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
ENVIRONMENTS = ("staging", "prod")


@dataclass(frozen=True)
class Block:
    """A top-level block: kind is resource, data, module, variable, output, provider or terraform."""

    kind: str
    type: str
    name: str
    body: dict[str, Any]
    directory: Path

    @property
    def address(self) -> str:
        where = self.directory.relative_to(TERRAFORM)
        return f"{where}: {self.kind} {self.type} {self.name}".replace("  ", " ")


def attr(body: dict[str, Any], key: str, default: Any = None) -> Any:
    """An attribute's value (the parser wraps it in a one-element list)."""
    value = body.get(key)
    if value is None:
        return default
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    # A template whose interpolations contain quotes comes back wrapped once more: ${"...${x}..."}.
    if isinstance(value, str) and value.startswith('${"') and value.endswith('"}'):
        value = value[3:-2]
    return value


def blocks(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Nested blocks of one kind (`statement`, `rule`, ...), always as a list."""
    value = body.get(key, [])
    return value if isinstance(value, list) else [value]


@cache
def _load_dir(directory: Path) -> tuple[Block, ...]:
    found: list[Block] = []
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        found.append(Block(kind, type_, name, body, directory))
        for kind in ("module", "variable", "output", "provider"):
            for entry in parsed.get(kind, []):
                for name, body in entry.items():
                    found.append(Block(kind, "", name, body, directory))
        for body in parsed.get("terraform", []):
            found.append(Block("terraform", "", "", body, directory))
        for body in parsed.get("locals", []):
            found.append(Block("locals", "", "", body, directory))
    return tuple(found)


def load(directory: Path) -> list[Block]:
    return list(_load_dir(directory.resolve()))


def stack_dirs() -> list[Path]:
    """Every directory holding Terraform: modules and root stacks."""
    return sorted(
        {p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts},
    )


def root_dirs() -> list[Path]:
    """The root stacks terraform is run in."""
    roots = [TERRAFORM / "bootstrap"]
    for env in ENVIRONMENTS:
        roots += [TERRAFORM / "environments" / env, TERRAFORM / "environments" / env / "serving"]
    return roots


def all_blocks() -> Iterator[Block]:
    for directory in stack_dirs():
        yield from load(directory)


def find(directory: Path, kind: str, type_: str = "", name: str | None = None) -> list[Block]:
    return [
        b for b in load(directory) if b.kind == kind and b.type == type_ and (name is None or b.name == name)
    ]


def one(directory: Path, kind: str, type_: str = "", name: str | None = None) -> Block:
    matches = find(directory, kind, type_, name)
    assert len(matches) == 1, f"expected one {kind} {type_} {name} in {directory}, found {len(matches)}"
    return matches[0]


def locals_of(directory: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in find(directory, "locals"):
        merged.update({k: attr(block.body, k) for k in block.body if not k.startswith("__")})
    return merged


def variable_default(directory: Path, name: str) -> Any:
    return attr(one(directory, "variable", name=name).body, "default")


REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([a-z0-9_]+)(?:\.[a-z0-9_\[\]\"]+)*\}$")


def referenced(expression: Any) -> tuple[str, str] | None:
    """("aws_s3_bucket", "logs") for "${aws_s3_bucket.logs.id}"; None for anything else."""
    if not isinstance(expression, str):
        return None
    match = REFERENCE.match(expression)
    return (match.group(1), match.group(2)) if match else None
