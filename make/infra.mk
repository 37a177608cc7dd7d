# Infrastructure checks, all offline: Terraform (terraform/), the task images (docker/) and the GitHub
# workflows (.github/workflows/). Included by the Makefile, which defines UV and setup-airflow.
INFRA_PYTHON ?= $(shell scripts/find-python.sh 3.11)
INFRA_VENV := .venv-infra
# A `-plugin-dir` provider mirror; stacks whose providers are not in it skip `terraform validate`.
TF_PLUGIN_DIR ?= /opt/tf-plugins

.PHONY: setup-infra test-infra check-image-requirements

setup-infra: setup-airflow ## build .venv-infra: checkov, check-jsonschema, the HCL and Dockerfile parsers
	@test -n "$(INFRA_PYTHON)" || { echo 'Python 3.11 is needed for .venv-infra'; exit 1; }
	test -x $(INFRA_VENV)/bin/python || $(INFRA_PYTHON) -m venv $(INFRA_VENV)
	$(UV) pip install --python $(INFRA_VENV)/bin/python -r requirements-infra.txt

# Dry-run resolves of the images' pinned requirements for their Python and platform (docker cannot build
# here; the task image's file is installed for real by setup-tasks).
check-image-requirements: ## prove the training, evaluation and vLLM image requirements resolve
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		requirements-training.txt -o /dev/null
	$(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		requirements-evaluation.txt -o /dev/null
	$(UV) pip compile --quiet --python-version 3.12 --python-platform x86_64-manylinux_2_28 \
		docker/vllm/requirements.txt -o /dev/null
	@echo "image requirements resolve"

test-infra: check-image-requirements ## terraform fmt and validate, checkov, workflow schemas, tests of terraform/ docker/ workflows
	@if command -v terraform >/dev/null; then \
		terraform fmt -check -recursive -diff terraform && echo "terraform fmt: clean"; \
	else \
		echo "terraform not on PATH: skipping terraform fmt -check"; \
	fi
	terraform/validate.sh $(TF_PLUGIN_DIR)
	LOG_LEVEL=ERROR $(INFRA_VENV)/bin/checkov --quiet --compact --skip-download \
		--framework terraform dockerfile github_actions -d terraform -d docker -d .github/workflows
	$(INFRA_VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(INFRA_VENV)/bin/python -m pytest tests/infra
