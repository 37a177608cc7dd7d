"""Alias moves of the summarizer, each written down: challenger, promotion to champion, rollback.

    python -m pipelines.evaluation.promotion --action challenger --gate-result-uri URI --actor WHO
        --result-uri URI
    python -m pipelines.evaluation.promotion --action promote --gate-result-uri URI
        --load-test-result-uri URI --actor WHO [--reason TEXT] --result-uri URI
    python -m pipelines.evaluation.promotion --action rollback --actor WHO --reason TEXT --result-uri URI

The version and the evaluation run come from the gate's result, the load-test report from the load test
step's: a step is refused when either says the version did not pass.

The three moves of a version's life after the evaluation gate (`registry` settings name the aliases):

- `challenger`: a candidate that passed the gate; its adapter is exported to the serving location, so the
  load test and batch inference's shadow run can reach it;
- `promote`: the challenger becomes `champion`, the champion it replaces becomes `previous`, and the
  `challenger` alias is removed (it is the champion now; the shadow run would only repeat it);
- `rollback`: `champion` goes back to the `previous` version, and `previous` is removed: a second rollback
  has nowhere to go until the next promotion (the audit trail still names every earlier champion).

Every move writes one audit record before it returns: who, when, which aliases moved from and to which
versions, the evaluation run and load-test report behind it, and why. Records are JSON files in the lake
(`models/audit/`), append-only (a record is never overwritten), and the moved versions carry the record's
id as a tag, so the registry points back at the trail. Exported adapters follow the aliases
(`common.serving.adapters`): a server started afterwards serves the new champion; in `aws` the vLLM pods
load it when they next start (a rollout restart, or the next scale-up from zero).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from common import storage
from common.ids import stable_hash
from common.serving.adapters import export_alias
from common.settings import Settings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from common.tracking import mlflow_for

log = logging.getLogger(__name__)

AUDIT_TAG = "llmops.audit.last_record"


class PromotionError(QualityGateFailed):
    """The move cannot be made as asked (nothing to roll back to, a version that did not pass): the step
    exits with code 3, which is not retried, because trying again cannot make it pass."""


@dataclass(frozen=True)
class AliasMove:
    alias: str
    from_version: str | None
    to_version: str | None  # None: the alias was removed


def audit_uri(settings: Settings) -> str:
    return storage.join(settings.lake_uri, "models", "audit")


def aliased(settings: Settings, alias: str) -> str | None:
    """The version `alias` points to, or None."""
    from mlflow import MlflowClient

    mlflow_for(settings)
    aliases = MlflowClient().get_registered_model(settings.registry.model_name).aliases
    return str(aliases[alias]) if alias in aliases else None


def _set(settings: Settings, alias: str, version: str | None) -> AliasMove:
    """Point `alias` at `version` (None: remove it), and make the serving location follow it."""
    from mlflow import MlflowClient

    before = aliased(settings, alias)
    client = MlflowClient()
    name = settings.registry.model_name
    if version is None:
        if before is not None:
            client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, version)
    if alias in settings.serving.aliases:
        export_alias(settings, alias)  # exports the new version, or withdraws a removed alias
    log.info("%s@%s: %s -> %s", name, alias, before, version)
    return AliasMove(alias, before, version)


def write_audit(
    settings: Settings,
    action: str,
    moves: Sequence[AliasMove],
    *,
    actor: str,
    reason: str,
    evaluation_run_id: str | None = None,
    load_test_report_uri: str | None = None,
) -> dict[str, Any]:
    """The append-only audit record of one action; the versions moved to carry its id."""
    from mlflow import MlflowClient

    at = datetime.now(UTC)
    record = {
        "id": stable_hash(
            action, at.isoformat(), *(f"{m.alias}:{m.from_version}:{m.to_version}" for m in moves)
        ),
        "at": at.isoformat(),
        "action": action,
        "model_name": settings.registry.model_name,
        "actor": actor,
        "reason": reason,
        "moves": [asdict(move) for move in moves],
        "evaluation_run_id": evaluation_run_id,
        "load_test_report_uri": load_test_report_uri,
    }
    uri = storage.join(audit_uri(settings), f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{action}-{record['id']}.json")
    if storage.exists(uri):
        raise PromotionError(f"audit record {uri} exists already: records are never overwritten")
    storage.write_json(uri, record)
    client = MlflowClient()
    for version in sorted({m.to_version for m in moves if m.to_version is not None}):
        client.set_model_version_tag(settings.registry.model_name, version, AUDIT_TAG, record["id"])
    log.info("audit %s: %s by %s (%s)", record["id"], action, actor, reason)
    return {**record, "uri": uri}


def read_audit(settings: Settings) -> list[dict[str, Any]]:
    """Every audit record, oldest first."""
    folder = audit_uri(settings)
    if not storage.exists(folder):
        return []
    return [storage.read_json(uri) for uri in sorted(storage.list_files(folder)) if uri.endswith(".json")]


def make_challenger(
    settings: Settings, version: str, *, actor: str, evaluation_run_id: str
) -> dict[str, Any]:
    """A candidate that passed the evaluation gate becomes the challenger."""
    move = _set(settings, settings.registry.challenger_alias, version)
    return write_audit(
        settings,
        "challenger",
        [move],
        actor=actor,
        reason="passed the evaluation gate",
        evaluation_run_id=evaluation_run_id,
    )


def promote(
    settings: Settings,
    version: str,
    *,
    actor: str,
    reason: str,
    evaluation_run_id: str | None = None,
    load_test_report_uri: str | None = None,
) -> dict[str, Any]:
    """The challenger `version` becomes champion; the champion it replaces becomes previous."""
    registry = settings.registry
    challenger = aliased(settings, registry.challenger_alias)
    if challenger != version:
        raise PromotionError(
            f"version {version} is not the challenger (the challenger is {challenger}): only a version that "
            "passed the evaluation gate and the load test is promoted"
        )
    champion = aliased(settings, registry.champion_alias)
    moves = [_set(settings, registry.champion_alias, version)]
    if champion is not None:
        moves.append(_set(settings, registry.previous_alias, champion))
    moves.append(_set(settings, registry.challenger_alias, None))
    return write_audit(
        settings,
        "promote",
        moves,
        actor=actor,
        reason=reason,
        evaluation_run_id=evaluation_run_id,
        load_test_report_uri=load_test_report_uri,
    )


def rollback(settings: Settings, *, actor: str, reason: str) -> dict[str, Any]:
    """`champion` goes back to `previous`; `previous` is removed."""
    registry = settings.registry
    if not reason.strip():
        raise PromotionError("a rollback needs a reason")
    previous = aliased(settings, registry.previous_alias)
    if previous is None:
        raise PromotionError(
            f"{registry.model_name} has no @{registry.previous_alias}: nothing to roll back to"
        )
    moves = [_set(settings, registry.champion_alias, previous), _set(settings, registry.previous_alias, None)]
    return write_audit(settings, "rollback", moves, actor=actor, reason=reason)


def parser() -> argparse.ArgumentParser:
    p = step_parser(
        "Move the summarizer's aliases (challenger, promote, rollback) and write the audit record."
    )
    p.add_argument("--action", required=True, choices=["challenger", "promote", "rollback"])
    p.add_argument("--actor", required=True, help="who decided: a user name, or the policy that did")
    p.add_argument("--reason", default="", help="why (required for a rollback)")
    p.add_argument(
        "--gate-result-uri", help="the evaluation gate's result: the version and its evaluation run"
    )
    p.add_argument("--load-test-result-uri", help="the load test step's result, behind a promotion")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()

    def body(args: argparse.Namespace) -> dict[str, Any]:
        settings = get_settings()
        if args.action == "rollback":
            return rollback(settings, actor=args.actor, reason=args.reason)
        if not args.gate_result_uri:
            p.error(f"{args.action} needs --gate-result-uri (the evaluation the version passed)")
        gate = storage.read_json(args.gate_result_uri)
        if not gate.get("passed"):
            raise PromotionError("the evaluation gate did not pass this version: it is not moved")
        version, run_id = str(gate["models"]["candidate"]["version"]), str(gate["mlflow_run_id"])
        if args.action == "challenger":
            return make_challenger(settings, version, actor=args.actor, evaluation_run_id=run_id)
        if not args.load_test_result_uri:
            p.error("promote needs --load-test-result-uri (the load test the challenger passed)")
        load_test = storage.read_json(args.load_test_result_uri)
        if not load_test.get("passed"):
            raise PromotionError("the challenger's load test did not pass: it is not promoted")
        return promote(
            settings,
            version,
            actor=args.actor,
            reason=args.reason or "passed the evaluation gate and the load test, approved",
            evaluation_run_id=run_id,
            load_test_report_uri=load_test["report_uri"],
        )

    return run_step(body, p, argv)


if __name__ == "__main__":
    sys.exit(main())
