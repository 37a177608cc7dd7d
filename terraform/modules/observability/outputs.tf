output "topic_arns" {
  description = "SNS topic ARN by severity."
  value       = { for k, t in aws_sns_topic.this : k => t.arn }
}

output "metric_names" {
  description = "Metric names the pipelines publish under the namespace, by what they measure."
  value       = local.metrics
}

output "dashboard_name" {
  value = aws_cloudwatch_dashboard.this.dashboard_name
}
