variable "region" {
  type = string
}

variable "account_id" {
  type = string
}

variable "github_repository" {
  type = string
}

variable "state_bucket" {
  description = "The bucket holding the platform stack's state (backend.hcl's bucket)."
  type        = string
}

variable "vllm_image_tag" {
  description = "docker/image-tag.sh vllm: the commit of the vLLM image's inputs."
  type        = string
}

variable "base_model" {
  description = "Base model directory name under s3://<models bucket>/base-models/."
  type        = string
}
