# One entry point for people and CI. `make setup` builds both local environments from the
# package registries alone; `make demo` runs the pipelines offline on the `local` profile.
SHELL := /bin/bash
# MWAA runs Python 3.12; the heavy steps run 3.11 here (the local torch wheel is cp311).
AIRFLOW_PYTHON ?= $(shell scripts/find-python.sh 3.12)
TASKS_PYTHON ?= $(shell scripts/find-python.sh 3.11)
VENV := .venv
TASKS_VENV := .venv-tasks
CONSTRAINTS := mwaa/constraints/airflow-3.3.1-constraints-3.12.txt
ESSENTIAL := mwaa/constraints/mwaa-essential-constraints-3.3.1.txt
AIRFLOW_VERSION := 3.3.1
UV := $(VENV)/bin/uv

.PHONY: setup setup-airflow setup-tasks
setup: setup-airflow setup-tasks

# The orchestration environment mirrors MWAA: Airflow and providers under MWAA's constraints,
# plus requirements.txt (what MWAA installs) and the dev tooling.
setup-airflow:
	@test -n "$(AIRFLOW_PYTHON)" || { echo 'Python 3.12 (the MWAA runtime) is needed for .venv'; exit 1; }
	test -x $(VENV)/bin/python || $(AIRFLOW_PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==0.13.9
	$(UV) pip install --python $(VENV)/bin/python -c $(CONSTRAINTS) \
		apache-airflow==$(AIRFLOW_VERSION) -r requirements.txt -r requirements-dev.txt
	$(UV) pip install --python $(VENV)/bin/python --no-deps -e .

# The task environment mirrors docker/tasks: the heavy libraries the steps need.
# torch goes in first with pip, which finds the local CPU wheel; uv then keeps it.
setup-tasks:
	@test -n "$(TASKS_PYTHON)" || { echo 'Python 3.11 is needed for .venv-tasks'; exit 1; }
	test -x $(TASKS_VENV)/bin/python || $(TASKS_PYTHON) -m venv $(TASKS_VENV)
	$(TASKS_VENV)/bin/pip install -q torch==$$(sed -n 's/^torch==//p' requirements-tasks.txt)
	$(UV) pip install --python $(TASKS_VENV)/bin/python -r requirements-tasks.txt -r requirements-dev.txt
	$(UV) pip install --python $(TASKS_VENV)/bin/python --no-deps -e .
