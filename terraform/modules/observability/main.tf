# Alarms on what matters to the people who read the summaries, routed by severity:
#   warning  - a DAG task failed; quality or serving drifts past one threshold;
#   critical - a composite: summaries are unfaithful or toxic, or serving fails.
# Thresholds are module inputs fed from config/thresholds.yaml (`monitoring:`), the file the Python
# quality gates read, so an alarm and a gate can never disagree about a limit.
#
# Metrics: MWAA publishes Airflow's own to `AmazonMWAA`; the pipelines publish to `var.namespace`
# with an `Environment` dimension (names in local.metrics): the quality monitoring DAG the summary
# quality rates, the batch inference client the serving latency, requests and errors it observes.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  metrics = {
    faithfulness        = "SummaryFaithfulness"      # mean faithfulness of the day's sampled summaries, 0-1
    toxicity_rate       = "SummaryToxicityRate"      # share of generated summaries flagged toxic, 0-1
    pii_rate            = "SummaryPiiRate"           # share of sampled summaries with PII found, 0-1
    format_failure_rate = "SummaryFormatFailureRate" # share of responses failing the JSON format, 0-1
    latency             = "ServingLatencySeconds"    # one value per summary request, end to end
    requests            = "ServingRequests"          # count of summary requests sent to vLLM
    errors              = "ServingErrors"            # count of those that failed (5xx, timeout)
    pending             = "PendingSummaryRequests"   # products the running batch still has to summarize
  }
  dimensions = { Environment = var.environment }
}

resource "aws_sns_topic" "this" {
  for_each          = toset(["critical", "warning"])
  name              = "${var.project}-alerts-${each.key}-${var.environment}"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "topic" {
  for_each = aws_sns_topic.this
  statement {
    sid       = "AlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [each.value.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  for_each = aws_sns_topic.this
  arn      = each.value.arn
  policy   = data.aws_iam_policy_document.topic[each.key].json
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = { for pair in flatten([for sev, emails in var.alert_emails : [for e in emails : { sev = sev, email = e }]]) : "${pair.sev}-${pair.email}" => pair }
  topic_arn = aws_sns_topic.this[each.value.sev].arn
  protocol  = "email"
  endpoint  = each.value.email
}

# --- Alarms --------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "dag_failures" {
  alarm_name          = "${var.project}-dag-task-failures-${var.environment}"
  alarm_description   = "A task of a DAG in ${var.mwaa_environment_name} failed (after its retries)."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]

  # A Metrics Insights query sums the failures whatever other dimensions MWAA adds.
  metric_query {
    id          = "failures"
    return_data = true
    period      = 300
    expression  = "SELECT SUM(TaskInstanceFailures) FROM \"AmazonMWAA\" WHERE Environment = '${var.mwaa_environment_name}'"
  }
}

resource "aws_cloudwatch_metric_alarm" "faithfulness" {
  alarm_name          = "${var.project}-summary-faithfulness-${var.environment}"
  alarm_description   = "Mean faithfulness of the day's summaries is below monitoring.faithfulness_min (config/thresholds.yaml)."
  namespace           = var.namespace
  metric_name         = local.metrics.faithfulness
  dimensions          = local.dimensions
  statistic           = "Average"
  period              = 86400
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.thresholds.faithfulness_min
  treat_missing_data  = "breaching" # the monitor stopped publishing: page someone
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]
}

resource "aws_cloudwatch_metric_alarm" "toxicity_rate" {
  alarm_name          = "${var.project}-summary-toxicity-rate-${var.environment}"
  alarm_description   = "Share of toxic summaries is above monitoring.toxicity_rate_max (config/thresholds.yaml)."
  namespace           = var.namespace
  metric_name         = local.metrics.toxicity_rate
  dimensions          = local.dimensions
  statistic           = "Maximum"
  period              = 86400
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.toxicity_rate_max
  treat_missing_data  = "breaching" # the monitor stopped publishing: page someone
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]
}

resource "aws_cloudwatch_metric_alarm" "pii_rate" {
  alarm_name          = "${var.project}-summary-pii-rate-${var.environment}"
  alarm_description   = "Share of summaries with personal data found is above monitoring.pii_rate_max (config/thresholds.yaml)."
  namespace           = var.namespace
  metric_name         = local.metrics.pii_rate
  dimensions          = local.dimensions
  statistic           = "Maximum"
  period              = 86400
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.pii_rate_max
  treat_missing_data  = "breaching" # the monitor stopped publishing: page someone
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]
}

resource "aws_cloudwatch_metric_alarm" "format_failure_rate" {
  alarm_name          = "${var.project}-summary-format-failure-rate-${var.environment}"
  alarm_description   = "Share of responses failing the summary format is above monitoring.format_failure_rate_max (config/thresholds.yaml)."
  namespace           = var.namespace
  metric_name         = local.metrics.format_failure_rate
  dimensions          = local.dimensions
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.format_failure_rate_max
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]
}

resource "aws_cloudwatch_metric_alarm" "vllm_latency_p95" {
  alarm_name          = "${var.project}-vllm-latency-p95-${var.environment}"
  alarm_description   = "p95 of summary request latency is above monitoring.vllm_p95_latency_s_max (config/thresholds.yaml) for 15 minutes."
  namespace           = var.namespace
  metric_name         = local.metrics.latency
  dimensions          = local.dimensions
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.vllm_p95_latency_s_max
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]
}

resource "aws_cloudwatch_metric_alarm" "vllm_error_rate" {
  alarm_name          = "${var.project}-vllm-error-rate-${var.environment}"
  alarm_description   = "Share of failed summary requests is above monitoring.vllm_error_rate_max (config/thresholds.yaml) for 15 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.vllm_error_rate_max
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this["warning"].arn]
  ok_actions          = [aws_sns_topic.this["warning"].arn]

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, errors / requests, 0)"
    label       = "error rate"
    return_data = true
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = var.namespace
      metric_name = local.metrics.requests
      dimensions  = local.dimensions
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = var.namespace
      metric_name = local.metrics.errors
      dimensions  = local.dimensions
      stat        = "Sum"
      period      = 300
    }
  }
}

# Critical: what users of the storefront would see, unfaithful or toxic summaries, or none at all.
resource "aws_cloudwatch_composite_alarm" "critical" {
  alarm_name        = "${var.project}-critical-${var.environment}"
  alarm_description = "Summaries are unfaithful, toxic or leak personal data, or the serving path fails."
  alarm_rule = join(" OR ", [for a in [
    aws_cloudwatch_metric_alarm.faithfulness,
    aws_cloudwatch_metric_alarm.toxicity_rate,
    aws_cloudwatch_metric_alarm.pii_rate,
    aws_cloudwatch_metric_alarm.vllm_error_rate,
  ] : "ALARM(\"${a.alarm_name}\")"])
  alarm_actions = [aws_sns_topic.this["critical"].arn]
  ok_actions    = [aws_sns_topic.this["critical"].arn]
}

# --- Dashboard -----------------------------------------------------------------------------------

locals {
  region = data.aws_region.current.name
  widget = {
    faithfulness        = { title = "Summary faithfulness (min ${var.thresholds.faithfulness_min})", stat = "Average", period = 86400, line = var.thresholds.faithfulness_min }
    toxicity_rate       = { title = "Toxic summaries (max ${var.thresholds.toxicity_rate_max})", stat = "Maximum", period = 86400, line = var.thresholds.toxicity_rate_max }
    format_failure_rate = { title = "Format failures (max ${var.thresholds.format_failure_rate_max})", stat = "Maximum", period = 3600, line = var.thresholds.format_failure_rate_max }
    latency             = { title = "vLLM latency p95, s (max ${var.thresholds.vllm_p95_latency_s_max})", stat = "p95", period = 300, line = var.thresholds.vllm_p95_latency_s_max }
    pending             = { title = "Batch requests pending", stat = "Maximum", period = 60, line = null }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.project}-${var.environment}"
  dashboard_body = jsonencode({
    widgets = concat(
      [for i, key in keys(local.widget) : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title       = local.widget[key].title
          region      = local.region
          stat        = local.widget[key].stat
          period      = local.widget[key].period
          metrics     = [[var.namespace, local.metrics[key], "Environment", var.environment]]
          annotations = local.widget[key].line == null ? {} : { horizontal = [{ value = local.widget[key].line }] }
        }
      }],
      [{
        type   = "alarm"
        x      = 0
        y      = 18
        width  = 24
        height = 4
        properties = {
          title = "Alarms"
          alarms = [for a in [
            aws_cloudwatch_metric_alarm.dag_failures, aws_cloudwatch_metric_alarm.faithfulness,
            aws_cloudwatch_metric_alarm.toxicity_rate, aws_cloudwatch_metric_alarm.format_failure_rate,
            aws_cloudwatch_metric_alarm.vllm_latency_p95, aws_cloudwatch_metric_alarm.vllm_error_rate,
          ] : a.arn]
        }
      }],
    )
  })
}
