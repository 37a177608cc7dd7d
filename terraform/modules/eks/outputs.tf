output "cluster_name" {
  value = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  value = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority" {
  value = aws_eks_cluster.this.certificate_authority[0].data
}

output "node_instance_profile" {
  value = aws_iam_instance_profile.gpu_node.name
}

output "karpenter_role_arn" {
  value = aws_iam_role.karpenter.arn
}

output "karpenter_queue_name" {
  value = aws_sqs_queue.karpenter.name
}

output "karpenter_namespace" {
  value = var.karpenter_namespace
}

output "keda_namespace" {
  value = var.keda_namespace
}

output "keda_role_arn" {
  value = aws_iam_role.irsa["keda"].arn
}

output "vllm_namespace" {
  value = var.vllm_namespace
}

output "vllm_service_account" {
  value = var.vllm_service_account
}

output "vllm_role_arn" {
  value = aws_iam_role.irsa["vllm"].arn
}

output "vllm_repository_url" {
  value = aws_ecr_repository.vllm.repository_url
}

output "vllm_repository_arn" {
  value = aws_ecr_repository.vllm.arn
}
