"""The content-keyed cache of the models the `local` profile builds (the summarizer base, the grounding
encoder): a folder per key under `~/.cache/review-summarizer/<kind>`, written whole or not at all, and
copied to where the profile reads it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def default_cache_dir(kind: str) -> Path:
    """`$XDG_CACHE_HOME/review-summarizer/<kind>` (`~/.cache` without the variable)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "review-summarizer" / kind


def partial_folder(cached: Path) -> Path:
    """An empty folder beside `cached` to build into; `commit` moves it into place."""
    partial = cached.with_name(cached.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    return partial


def commit(partial: Path, cached: Path) -> None:
    """`partial` becomes `cached`: a build that stopped halfway never looks finished."""
    shutil.rmtree(cached, ignore_errors=True)
    partial.replace(cached)


def copy_out(cached: Path, out: str | Path) -> Path:
    """A copy of the cached folder at `out` (where the profile's settings point), replaced whole."""
    out = Path(out)
    if out.resolve() != cached.resolve():
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(cached, staging)
        shutil.rmtree(out, ignore_errors=True)
        staging.replace(out)
    return out
