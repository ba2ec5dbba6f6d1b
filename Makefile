# eventsub — developer entry points. `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := PYTHONPATH=stack $(PY) -m localstack

.PHONY: help demo e2e-kind venv binaries node-binaries asyncapi-parser browser up node down status test test-node test-unit lint crds manifests bench-topics bench-lag bench-memory bench-failover bench-asyncapi bench-keda bench-catalog catalog-screenshots soak

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: '$(PYTHON)' not found: install Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

demo: venv ## eventsub end to end on the embedded local stack: topics, scaling on lag, a replay
	@[ -n "$$EVENTSUB_DEMO_KAFKA" ] || $(MAKE) -s binaries
	@PYTHONPATH=stack $(PY) stack/demo.py

e2e-kind: venv ## machines with Docker and kind: image, kind cluster with Kafka, helm install, the scenario
	@bash stack/e2e-kind.sh

venv: $(VENV)/.installed ## the virtualenv with the operator and its dev tools

binaries: ## build or reuse the cached stack binaries (cold: tens of minutes; warm: seconds)
	@bash stack/build-kafka.sh
	@bash stack/build-apicurio.sh
	@bash stack/build-go.sh

node-binaries: ## the real node's Debian packages (installed as root), its kubelet and its images
	@bash stack/node-prereqs.sh
	@bash stack/build-go.sh kubelet
	@bash stack/node-images.sh pause base >/dev/null

asyncapi-parser: ## install (or reuse) the official AsyncAPI parser the tests validate with (npm)
	@bash stack/asyncapi-parser.sh >/dev/null

up: venv binaries ## start the local stack (Kafka + Kubernetes control plane), or reuse it
	@$(STACK) up

node: venv binaries node-binaries ## the local stack with a real node (kubelet + containerd), or add it
	@$(STACK) up --node

down: venv ## stop every process of the local stack (and of make test's worker stacks)
	@$(STACK) down
	@for dir in .run/stack-gw*; do [ ! -d "$$dir" ] || EVENTSUB_RUN_DIR="$$dir" $(STACK) down; done

status: venv ## is the local stack running?
	@$(STACK) status

browser: ## headless Chromium and chromedriver (Debian's packages) for the catalog page tests
	@bash stack/chromium.sh

test: venv binaries node-binaries asyncapi-parser browser ## the whole suite: unit, integration and real-node tests, two workers (TEST_WORKERS)
	$(PY) -m pytest -n $${TEST_WORKERS:-2} --no-loadscope-reorder

test-node: venv binaries node-binaries ## the real node's tests only (tests/node)
	$(PY) -m pytest tests/node

test-unit: venv ## unit tests only (no stack)
	$(PY) -m pytest -m "not integration"

lint: venv ## ruff, mypy --strict and the architecture's layer contracts (import-linter)
	$(VENV)/bin/ruff check operator stack tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

crds: venv ## regenerate crds/ and the chart's CRDs from the API models
	$(PY) -m eventsub.crdgen

manifests: venv binaries ## render manifests/install.yaml from the Helm chart
	@PYTHONPATH=stack $(PY) stack/manifests.py

bench-topics: venv binaries ## N EventTopics at once (N=1000): time to Ready, topics/s, operator RSS
	$(PY) bench/topics.py --count $${N:-1000}

bench-lag: venv binaries ## lag cycle vs ConsumerGroupCommand and naive clients; reaction; RSS
	$(PY) bench/lag.py --groups $${G:-500} --partitions $${P:-8} --groups-per-topic $${K:-1} \
		--subscriptions $${S:-1000}

bench-memory: venv binaries ## operator RSS with S=10000 subscriptions (all reporting lag)
	$(PY) bench/lag.py --rss-only --groups 100 --partitions 8 --subscriptions $${S:-10000}

bench-failover: venv binaries ## two replicas, leader SIGKILLed: time until the standby leads and acts
	$(PY) bench/failover.py --trials $${T:-3}

bench-asyncapi: venv ## the AsyncAPI document of N topics and N subscriptions (N=1000): build, JSON, YAML
	$(PY) bench/catalog_asyncapi.py --count $${N:-1000}

bench-keda: venv binaries ## eventsub vs the real KEDA (built on first use), the same scenarios side by side
	@bash stack/build-go.sh keda
	$(PY) bench/keda.py

bench-catalog: venv binaries browser ## catalog of 1,000 topics + 1,000 subscriptions: build, render, Chromium load, RSS
	$(PY) bench/catalog.py --topics $${N:-1000}

catalog-screenshots: venv binaries browser ## docs/catalog-*.png from the catalog page's browser test
	EVENTSUB_SCREENSHOTS=docs $(PY) -m pytest tests/integration/test_catalog_page.py -k graph

soak: venv binaries ## chaos soak (SOAK_MINUTES=20): every message processed, scaling, health, RSS
	$(PY) bench/soak.py --minutes $${SOAK_MINUTES:-20}
