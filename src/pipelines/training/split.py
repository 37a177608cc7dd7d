"""The SFT examples on their way from contexts to rows: candidates, the split and stratification.

A context becomes a candidate example once its snippets of forgotten reviews and its golden snippets
(`pipelines.training.decontamination`) are dropped; one left with fewer than `min_context_snippets`
snippets is dropped as too thin.

**Split** by product: a hash of the product id decides, so no product is in both splits and a product
stays in its split as the references grow.

**Stratification** (the reference design's positivity-bias incident came from training on mostly
positive products): examples of a capped profile (`max_profile_share`, mostly_positive) are removed
from each split until the cap holds; then train examples of the rarer profiles are repeated,
deterministically and at most `sft.max_copies` times in all, up to their `min_profile_share` floors.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common.ids import stable_hash
from common.retrieval import ProductContext
from pipelines.training.accounting import (
    FORGOTTEN_REVIEW,
    IN_REMOVED_EXAMPLES,
    THIN_AFTER_DECONTAMINATION,
    THIN_CONTEXT,
    Accounting,
)
from pipelines.training.decontamination import Decontaminator
from pipelines.training.references import Reference
from pipelines.training.rows import TRAIN, VALIDATION, snippet_record


@dataclass
class Candidate:
    """A (product, language) example on its way through the builder."""

    reference: Reference
    language: str
    snippets: list[dict[str, Any]]
    split: str = TRAIN


def collect_candidates(
    contexts: Iterable[tuple[Reference, str, ProductContext]],
    decontaminator: Decontaminator,
    forgotten: frozenset[str],
    min_snippets: int,
    accounting: Accounting,
) -> list[Candidate]:
    """Drop forgotten and contaminated snippets, then contexts too thin to learn from; count both."""
    kept: list[Candidate] = []
    tally_x, tally_s = accounting.examples, accounting.snippets
    for reference, language, context in contexts:
        snippets = [snippet_record(s) for s in context.snippets]
        tally_x.in_ += 1
        tally_s.in_ += len(snippets)
        usable = []
        for snippet in snippets:
            reason = FORGOTTEN_REVIEW if snippet["review_id"] in forgotten else decontaminator.reason(snippet)
            if reason is None:
                usable.append(snippet)
            else:
                tally_s.removed[reason] += 1
        if len(usable) < min_snippets:
            tally_x.removed[THIN_CONTEXT if len(snippets) < min_snippets else THIN_AFTER_DECONTAMINATION] += 1
            tally_s.removed[IN_REMOVED_EXAMPLES] += len(usable)
            continue
        kept.append(Candidate(reference, language, usable))
    return kept


# --- split and stratification -----------------------------------------------------------------


def split_of(product_id: str, seed: str, validation_share: float) -> str:
    """`validation` for a product whose hash falls under the share: stable as other products come and go."""
    position = int(stable_hash(seed, product_id, length=15), 16) / 16**15
    return VALIDATION if position < validation_share else TRAIN


def _order(seed: str, purpose: str, candidate: Candidate) -> str:
    """A deterministic, content-free order among examples (which to copy first, which to drop first)."""
    return stable_hash(seed, purpose, candidate.reference.product_id, candidate.language)


def oversample_targets(
    counts: Mapping[str, int], floors: Mapping[str, float], max_copies: int
) -> dict[str, int]:
    """Examples per profile after oversampling: each floored profile is raised towards `floor x total`,
    where the total grows with the copies (a fixed point), never beyond `max_copies` times its count.
    A floor that would need more is left short, and the gate says so."""
    targets = dict(counts)
    total = sum(counts.values())
    while True:
        for profile, floor in floors.items():
            n = counts.get(profile, 0)
            targets[profile] = min(max(n, math.ceil(floor * total)), n * max_copies)
        new_total = sum(targets.values())
        if new_total == total:
            return targets
        total = new_total


def oversample(
    candidates: list[Candidate], floors: Mapping[str, float], max_copies: int, seed: str
) -> list[tuple[Candidate, int]]:
    """Copies (candidate, repeat number) of rarer profiles' examples, cycling through each profile's
    examples in a hashed order, so the copies are spread evenly and the same every run."""
    by_profile: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_profile[candidate.reference.profile].append(candidate)
    targets = oversample_targets({p: len(c) for p, c in by_profile.items()}, floors, max_copies)
    copies: list[tuple[Candidate, int]] = []
    for profile, members in by_profile.items():
        ordered = sorted(members, key=lambda c: _order(seed, "oversample", c))
        for i in range(targets[profile] - len(members)):
            copies.append((ordered[i % len(ordered)], 1 + i // len(ordered)))
    return copies


def cap_profiles(
    entries: list[tuple[Candidate, int]], caps: Mapping[str, float], seed: str
) -> tuple[list[tuple[Candidate, int]], list[tuple[Candidate, int]]]:
    """(kept, removed): examples of a capped profile are removed, last in hashed order first, until its
    share of the split is at most its cap. Copies go before originals."""
    kept = list(entries)
    removed: list[tuple[Candidate, int]] = []
    changed = True
    while changed:
        changed = False
        for profile, cap in caps.items():
            mine = [e for e in kept if e[0].reference.profile == profile]
            others = len(kept) - len(mine)
            allowed = len(mine) if cap >= 1 else math.floor(cap * others / (1 - cap) + 1e-9)
            if len(mine) <= allowed:
                continue
            ordered = sorted(mine, key=lambda e: (e[1], _order(seed, "cap", e[0])))
            drop = {id(e) for e in ordered[allowed:]}
            removed += [e for e in kept if id(e) in drop]
            kept = [e for e in kept if id(e) not in drop]
            changed = True
    return kept, removed


def mix(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, int]:
    return dict(sorted(Counter(str(row[key]) for row in rows).items()))
