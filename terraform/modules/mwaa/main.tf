# The MWAA environment, its security group and its execution role.
#
# Who owns what: Terraform creates the environment pointing at the `dags/` prefix; the deploy workflow
# (.github/workflows/deploy-dags.yml) uploads requirements.txt and startup.sh as new object versions and
# pins those versions with `aws mwaa update-environment`. Terraform therefore ignores the object paths
# and versions, so an apply never rolls a deployment back.
#
# The aws profile reads resource names from environment variables (config/profiles/aws.yaml). MWAA sets
# environment variables only through the startup script, so the names are rendered here into
# `deploy/startup-env.sh`, which the deploy workflow appends to the bundle's startup.sh.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name      = "${var.project}-${var.environment}"
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  # Airflow connections and variables live in Secrets Manager under this prefix.
  secrets_prefix = "${var.project}-${var.environment}/airflow"
}

resource "aws_s3_object" "startup_env" {
  bucket       = var.mwaa_bucket
  key          = "deploy/startup-env.sh"
  content      = templatefile("${path.module}/startup-env.sh.tftpl", { env = var.startup_env })
  content_type = "text/x-shellscript"
  kms_key_id   = var.kms_key_arn
}

# One secret per Airflow connection the DAGs use (the secrets backend reads
# <prefix>/connections/<conn_id>). Terraform creates them empty; an operator puts the connection JSON
# (`aws secretsmanager put-secret-value`), so no credential is ever written in code or variables.
resource "aws_secretsmanager_secret" "connections" {
  #checkov:skip=CKV2_AWS_57: the connections hold credentials of systems outside AWS (the source database, the vLLM API key); they are rotated by their owners' runbooks
  for_each                = toset(var.connection_ids)
  name                    = "${local.secrets_prefix}/connections/${each.key}"
  description             = "Airflow connection ${each.key} of ${local.name}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_security_group" "mwaa" {
  name        = "${var.project}-mwaa-${var.environment}"
  description = "MWAA scheduler, workers and web server"
  vpc_id      = var.vpc_id

  ingress {
    description = "MWAA components talk to each other and to their metadata database endpoint"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "MWAA components talk to each other and to their metadata database endpoint"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  egress {
    description = "AWS APIs, PyPI for requirements.txt, OpenSearch"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "The vLLM service's internal load balancer"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  egress {
    description = "The PostgreSQL source database of the reviews"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = var.source_database_cidrs
  }
}

resource "aws_mwaa_environment" "this" {
  name = local.name
  # Must equal AIRFLOW_VERSION in the Makefile, which the local environment and the DAG tests use.
  airflow_version    = "3.3.1"
  environment_class  = var.environment_class
  min_workers        = var.min_workers
  max_workers        = var.max_workers
  min_webservers     = var.min_webservers
  max_webservers     = var.max_webservers
  schedulers         = var.schedulers
  execution_role_arn = aws_iam_role.execution.arn
  kms_key            = var.kms_key_arn

  source_bucket_arn     = var.mwaa_bucket_arn
  dag_s3_path           = "dags"
  webserver_access_mode = "PRIVATE_ONLY"

  airflow_configuration_options = {
    "secrets.backend" = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "secrets.backend_kwargs" = jsonencode({
      connections_prefix = "${local.secrets_prefix}/connections"
      variables_prefix   = "${local.secrets_prefix}/variables"
    })
    "core.default_task_retries" = "2"
  }

  network_configuration {
    security_group_ids = [aws_security_group.mwaa.id]
    subnet_ids         = var.subnet_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    webserver_logs {
      enabled   = true
      log_level = "WARNING"
    }
    worker_logs {
      enabled   = true
      log_level = "INFO"
    }
  }

  lifecycle {
    # Deployed and pinned by the deploy workflow (see the top of this file).
    ignore_changes = [
      requirements_s3_path, requirements_s3_object_version,
      startup_script_s3_path, startup_script_s3_object_version,
      plugins_s3_path, plugins_s3_object_version,
    ]
  }
}
