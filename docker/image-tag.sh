#!/usr/bin/env bash
# Prints the tag of an image: the abbreviated commit that last changed any of its inputs (the files its
# Dockerfile copies). build-images.yml pushes that tag; deploy-dags.yml and the serving stack deploy it.
# Both compute it from the same history, so the DAGs always run images built from the code they deploy.
# Usage: docker/image-tag.sh [--inputs] tasks|training|evaluation|vllm
#   --inputs   print the input paths instead (one per line)
# Needs the full history (actions/checkout with fetch-depth: 0).
set -euo pipefail
cd "$(dirname "$0")/.."

list_inputs=false
if [ "${1:-}" = "--inputs" ]; then
  list_inputs=true
  shift
fi

code=(pyproject.toml README.md config prompts src/common src/pipelines)
case "${1:-}" in
  tasks) inputs=(docker/tasks requirements-tasks.txt "${code[@]}") ;;
  training) inputs=(docker/training requirements-training.txt "${code[@]}") ;;
  evaluation) inputs=(docker/evaluation requirements-evaluation.txt "${code[@]}") ;;
  vllm) inputs=(docker/vllm) ;;
  *)
    echo "usage: $0 [--inputs] tasks|training|evaluation|vllm" >&2
    exit 2
    ;;
esac

if $list_inputs; then
  printf '%s\n' "${inputs[@]}"
  exit 0
fi

tag=$(git log -1 --format=%h --abbrev=12 -- "${inputs[@]}")
if [ -z "$tag" ]; then
  echo "no commit touches the inputs of $1 (a shallow clone?)" >&2
  exit 1
fi
echo "$tag"
