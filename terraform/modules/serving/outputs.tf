output "vllm_base_url" {
  description = "What MWAA calls; equals LLMOPS_VLLM_BASE_URL of the platform stack."
  value       = "http://${aws_route53_record.vllm.fqdn}/v1"
}
