"""Rules every Terraform stack follows: encrypted private buckets, no wildcard IAM, names and tags that
say which environment a resource belongs to, pinned providers, locked remote state, justified skips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.tf import (
    ENVIRONMENTS,
    MODULES,
    REPO,
    TERRAFORM,
    Block,
    all_blocks,
    attr,
    blocks,
    find,
    load,
    locals_of,
    one,
    referenced,
    root_dirs,
    stack_dirs,
)

# --- Buckets -------------------------------------------------------------------------------------

# S3 delivers server access logs only into a bucket encrypted with SSE-S3: the one exception to KMS.
SSE_S3_BUCKETS = {("modules/storage", "logs")}


def _bucket_dirs() -> list[Path]:
    return [d for d in stack_dirs() if find(d, "resource", "aws_s3_bucket")]


def _settings_for(directory: Path, type_: str, bucket: str) -> list[Block]:
    """The `type_` resources of `directory` that configure aws_s3_bucket.<bucket>."""
    return [
        b
        for b in find(directory, "resource", type_)
        if referenced(attr(b.body, "bucket")) == ("aws_s3_bucket", bucket)
    ]


def _policy_document(directory: Path, expression: str) -> Block:
    ref = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", expression)
    assert ref, f"bucket policy is not a policy document: {expression}"
    return one(directory, "data", "aws_iam_policy_document", ref.group(1))


def test_buckets_are_found() -> None:
    names = {
        (str(d.relative_to(TERRAFORM)), b.name)
        for d in _bucket_dirs()
        for b in find(d, "resource", "aws_s3_bucket")
    }
    # The data buckets (one module instance each), the access-log bucket and the state bucket.
    assert names == {("modules/s3_bucket", "this"), ("modules/storage", "logs"), ("bootstrap", "state")}


@pytest.mark.parametrize("directory", _bucket_dirs(), ids=lambda d: str(d.relative_to(TERRAFORM)))
def test_every_bucket_is_versioned_encrypted_private_and_tls_only(directory: Path) -> None:
    for bucket in find(directory, "resource", "aws_s3_bucket"):
        where = f"{directory.relative_to(TERRAFORM)} aws_s3_bucket.{bucket.name}"

        (versioning,) = _settings_for(directory, "aws_s3_bucket_versioning", bucket.name)
        assert attr(blocks(versioning.body, "versioning_configuration")[0], "status") == "Enabled", where

        (sse,) = _settings_for(directory, "aws_s3_bucket_server_side_encryption_configuration", bucket.name)
        default = blocks(blocks(sse.body, "rule")[0], "apply_server_side_encryption_by_default")[0]
        if (str(directory.relative_to(TERRAFORM)), bucket.name) in SSE_S3_BUCKETS:
            assert attr(default, "sse_algorithm") == "AES256", where
        else:
            assert attr(default, "sse_algorithm") == "aws:kms", where
            assert attr(default, "kms_master_key_id"), f"{where}: no KMS key"

        (block_public,) = _settings_for(directory, "aws_s3_bucket_public_access_block", bucket.name)
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert attr(block_public.body, flag) is True, f"{where}: {flag}"

        (policy,) = _settings_for(directory, "aws_s3_bucket_policy", bucket.name)
        document = _policy_document(directory, attr(policy.body, "policy"))
        assert any(
            attr(s, "effect") == "Deny"
            and "s3:*" in attr(s, "actions")
            and any(
                attr(c, "variable") == "aws:SecureTransport" and attr(c, "values") == ["false"]
                for c in blocks(s, "condition")
            )
            for s in blocks(document.body, "statement")
        ), f"{where}: no statement denies requests without TLS"

        assert _settings_for(directory, "aws_s3_bucket_lifecycle_configuration", bucket.name), where


def test_data_buckets_all_take_the_kms_key() -> None:
    """The bucket module cannot be used without a KMS key, and every caller passes the environment's."""
    assert attr(one(MODULES / "s3_bucket", "variable", name="kms_key_arn").body, "default") is None
    calls = [m for m in find(MODULES / "storage", "module") if attr(m.body, "source") == "../s3_bucket"]
    assert {m.name for m in calls} == {"lake", "models", "mwaa"}
    for call in calls:
        assert attr(call.body, "kms_key_arn") == "${var.kms_key_arn}", call.name
        assert attr(call.body, "access_log_bucket") == "${aws_s3_bucket.logs.id}", call.name


def test_raw_and_quarantine_data_expire() -> None:
    lake = one(MODULES / "storage", "module", name="lake")
    assert attr(lake.body, "expire_prefixes") == {
        "lake/raw/": "${var.raw_retention_days}",
        "lake/staging/": "${var.staging_retention_days}",
        "lake/quarantine/": "${var.quarantine_retention_days}",
    }
    # The storage module gets its days from the platform, which gets them from each environment
    # (where they come from config/pipeline.yaml: tests/infra/test_contracts.py).
    storage = one(MODULES / "platform", "module", name="storage")
    for name in ("raw_retention_days", "quarantine_retention_days"):
        assert attr(storage.body, name) == f"${{var.{name}}}"


def test_each_expiring_prefix_gets_a_lifecycle_rule_that_also_drops_its_old_versions() -> None:
    """One rule per prefix, expiring objects after the prefix's days. The buckets are versioned, so an
    expired or deleted object would stay as a noncurrent version for the bucket-wide period (90 days):
    the prefix's rule expires those sooner, and S3 honours the shorter of overlapping expirations."""
    bucket = MODULES / "s3_bucket"
    lifecycle = one(bucket, "resource", "aws_s3_bucket_lifecycle_configuration", "this")
    [dynamic] = blocks(lifecycle.body, "dynamic")
    rule = dynamic["rule"]
    assert attr(rule, "for_each") == "${var.expire_prefixes}"
    [content] = blocks(rule, "content")
    assert attr(content, "status") == "Enabled"
    assert attr(blocks(content, "filter")[0], "prefix") == "${rule.key}"
    assert attr(blocks(content, "expiration")[0], "days") == "${rule.value}"
    noncurrent = attr(blocks(content, "noncurrent_version_expiration")[0], "noncurrent_days")
    assert noncurrent == "${var.expired_noncurrent_version_days}"
    assert attr(one(bucket, "variable", name="expired_noncurrent_version_days").body, "default") == 1


# --- IAM -----------------------------------------------------------------------------------------


def _key_policy_documents() -> set[tuple[Path, str]]:
    """Policy documents used as KMS key policies, where Resource "*" means the key itself."""
    found = set()
    for key in (b for b in all_blocks() if b.type == "aws_kms_key"):
        ref = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", attr(key.body, "policy"))
        assert ref, f"{key.address}: key policy is not a policy document"
        found.add((key.directory, ref.group(1)))
    return found


def _allow_statements() -> list[tuple[Block, dict]]:
    return [
        (doc, statement)
        for doc in all_blocks()
        if doc.kind == "data" and doc.type == "aws_iam_policy_document"
        for statement in blocks(doc.body, "statement")
        if attr(statement, "effect", "Allow") == "Allow"
    ]


def test_policy_documents_are_found() -> None:
    assert len(_allow_statements()) > 50


def test_no_statement_allows_every_action_of_a_service() -> None:
    for doc, statement in _allow_statements():
        assert "not_actions" not in statement, doc.address
        for action in attr(statement, "actions"):
            assert action != "*" and not action.endswith(":*"), f"{doc.address}: allows {action}"


def test_no_wildcard_action_on_every_resource() -> None:
    key_policies = _key_policy_documents()
    for doc, statement in _allow_statements():
        if (doc.directory, doc.name) in key_policies:
            continue
        if "*" in attr(statement, "resources", []):
            wildcards = [a for a in attr(statement, "actions") if "*" in a]
            assert not wildcards, f"{doc.address}: {wildcards} on every resource"


def test_no_inline_json_policy_and_no_administrator_policy() -> None:
    """Policies are written as policy documents (checked above), never as inline JSON, and no stack
    attaches AdministratorAccess (the bootstrap's apply roles take whatever the account owner passes)."""
    for path in TERRAFORM.rglob("*.tf"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\"?Action\"?\s*[=:]", text), f"{path}: inline JSON policy"
        assert "AdministratorAccess" not in text, path


# --- Names, tags, providers, state ----------------------------------------------------------------

NAME_KEYS = (
    "name",
    "bucket",
    "domain_name",
    "alarm_name",
    "dashboard_name",
    "node_group_name",
    "policy_name",
)
# Names whose shape AWS or Airflow dictates; the environment is still in them, just not last.
NAME_EXCEPTIONS = {
    "aws_route53_zone": "${var.environment}.",  # a DNS zone: the environment is a label
    "aws_route53_record": "${local.p.internal_zone_name}",  # a name inside the environment's zone
    "aws_cloudwatch_log_group:cluster": "${var.cluster_name}",  # EKS writes to /aws/eks/<cluster>/cluster
    "aws_secretsmanager_secret": "${local.secrets_prefix}",  # Airflow reads <prefix>/connections/<id>
    # The steps' role reads <project>-<environment>/steps/*: the environment is part of the prefix.
    "aws_secretsmanager_secret:quarantine_hmac_key": "${var.project}-${var.environment}/steps/",
}
PURE_REFERENCE = re.compile(r"^\$\{[^{}]+\}$")


def _module_dirs() -> list[Path]:
    return sorted(d for d in stack_dirs() if MODULES in d.parents)


def _resolve(directory: Path, value: str) -> str:
    local = re.fullmatch(r"\$\{local\.(\w+)\}", value)
    return locals_of(directory)[local.group(1)] if local else value


def test_every_name_ends_with_the_environment() -> None:
    checked = 0
    for directory in _module_dirs():
        for block in load(directory):
            if block.kind != "resource" or not block.type.startswith("aws_"):
                continue
            for key in NAME_KEYS:
                value = attr(block.body, key)
                if not isinstance(value, str):
                    continue
                value = _resolve(directory, value)
                if PURE_REFERENCE.match(value) and not value.startswith("${local."):
                    continue  # a reference to another resource or an input checked where it is built
                exception = NAME_EXCEPTIONS.get(f"{block.type}:{block.name}") or NAME_EXCEPTIONS.get(
                    block.type
                )
                if exception:
                    assert exception in value, f"{block.address}: {key} = {value}"
                else:
                    assert value.endswith("${var.environment}"), f"{block.address}: {key} = {value}"
                checked += 1
    assert checked >= 40
    for call in find(MODULES / "storage", "module"):
        assert attr(call.body, "name").endswith("${var.environment}"), call.address
    assert locals_of(MODULES / "platform")["cluster_name"].endswith("${var.environment}")
    secrets_prefix = locals_of(MODULES / "mwaa")["secrets_prefix"]
    assert secrets_prefix.startswith("${var.project}-${var.environment}/"), secrets_prefix


@pytest.mark.parametrize("root", root_dirs(), ids=lambda d: str(d.relative_to(TERRAFORM)))
def test_every_resource_is_tagged_through_default_tags(root: Path) -> None:
    (provider,) = [p for p in find(root, "provider") if p.name == "aws"]
    tags = attr(blocks(provider.body, "default_tags")[0], "tags")
    assert {"Project", "Environment", "ManagedBy", "Repository"} <= set(tags), root
    assert tags["ManagedBy"] == "terraform"
    if root.name in ENVIRONMENTS:
        assert tags["Environment"] == "${local.environment}"
        assert locals_of(root)["environment"] == root.name
    elif root.name == "serving":
        assert tags["Environment"] == "${local.platform.environment}"


def _required_providers(directory: Path) -> dict[str, dict]:
    (settings,) = (b.body for b in find(directory, "terraform"))
    assert attr(settings, "required_version"), directory
    providers: dict[str, dict] = {}
    for entry in blocks(settings, "required_providers"):
        for name, spec in entry.items():
            if not name.startswith("__"):
                providers[name] = spec[0] if isinstance(spec, list) else spec
    return providers


@pytest.mark.parametrize("root", root_dirs(), ids=lambda d: str(d.relative_to(TERRAFORM)))
def test_root_stacks_pin_exact_provider_versions(root: Path) -> None:
    providers = _required_providers(root)
    assert providers["aws"] == {"source": "hashicorp/aws", "version": "5.100.0"}
    for name, spec in providers.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec["version"]), f"{root}: {name} {spec['version']}"


def test_modules_accept_the_pinned_major_versions() -> None:
    pinned = {}
    for root in root_dirs():
        pinned.update({n: s["version"] for n, s in _required_providers(root).items()})
    for directory in _module_dirs():
        for name, spec in _required_providers(directory).items():
            constraint = spec["version"]
            assert constraint.startswith("~> "), f"{directory}: {name} {constraint}"
            assert pinned[name].startswith(constraint[3:].split(".")[0] + "."), f"{directory}: {name}"
            assert pinned[name] >= constraint[3:], f"{directory}: {name}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("stack", ["platform", "serving"])
def test_state_is_remote_encrypted_and_locked(environment: str, stack: str) -> None:
    root = TERRAFORM / "environments" / environment / ("serving" if stack == "serving" else "")
    (settings,) = find(root, "terraform")
    (backend,) = blocks(settings.body, "backend")
    s3 = backend["s3"]
    assert attr(s3, "use_lockfile") is True
    assert attr(s3, "encrypt") is True
    assert attr(s3, "key") == f"{environment}/{stack}.tfstate"
    assert "bucket =" in (TERRAFORM / "environments" / environment / "backend.hcl").read_text(
        encoding="utf-8"
    )


def test_every_checkov_skip_is_justified() -> None:
    skips = 0
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" not in line:
                continue
            skips += 1
            match = re.search(r"#checkov:skip=CKV2?_[A-Z0-9]+_\d+: (.+)$", line)
            assert match and len(match.group(1).split()) >= 5, f"{path}: unjustified skip: {line.strip()}"
    assert skips > 0


def test_prod_runs_the_opensearch_masters_staging_saves() -> None:
    """checkov's dedicated-master checks are skipped because staging runs none; prod must run three."""
    prod = one(TERRAFORM / "environments" / "prod", "module", name="platform")
    assert attr(prod.body, "opensearch_dedicated_master_count") == 3
    assert attr(prod.body, "opensearch_instance_count") >= 3
    assert attr(prod.body, "single_nat_gateway") is False


def test_mwaa_web_server_is_private_and_every_log_is_on() -> None:
    mwaa = one(MODULES / "mwaa", "resource", "aws_mwaa_environment")
    assert attr(mwaa.body, "webserver_access_mode") == "PRIVATE_ONLY"
    logging = blocks(mwaa.body, "logging_configuration")[0]
    kinds = {"dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs"}
    assert kinds <= set(logging)
    assert all(attr(blocks(logging, k)[0], "enabled") is True for k in kinds)


def test_opensearch_admits_only_the_pipeline_roles_and_an_admin_masters_it() -> None:
    call = one(MODULES / "platform", "module", name="opensearch")
    assert attr(call.body, "client_role_arns") == [
        "${module.mwaa.execution_role_arn}",
        "${module.sagemaker.role_arn}",
    ]
    assert attr(call.body, "master_role_arn") == "${var.opensearch_admin_role_arn}"
    domain = one(MODULES / "opensearch", "resource", "aws_opensearch_domain")
    security = blocks(domain.body, "advanced_security_options")[0]
    assert attr(security, "enabled") is True and attr(security, "anonymous_auth_enabled") is False
    assert attr(blocks(domain.body, "encrypt_at_rest")[0], "enabled") is True
    assert attr(blocks(domain.body, "node_to_node_encryption")[0], "enabled") is True
    assert attr(blocks(domain.body, "domain_endpoint_options")[0], "enforce_https") is True
    assert blocks(domain.body, "vpc_options")


def test_repository_root_is_where_the_stacks_look() -> None:
    assert (REPO / "config" / "thresholds.yaml").is_file()
    assert (REPO / "Makefile").is_file()
