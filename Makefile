# berth: the two commands are `make run` and `make test`; both install what is missing first.
SHELL := /bin/bash
MOCHA := node_modules/.bin/mocha

.PHONY: deps build run test lint format typecheck unit grpc integration conformance bench clean \
	deb lintian install uninstall

deps:
	@scripts/deps.sh

# The CRI types (proto-loader-gen-types) and the API's JSON descriptor berthd loads at start.
src/gen/api.ts src/gen/api-descriptor.ts &: proto/runtime/v1/api.proto \
		scripts/gen-proto-descriptor.mjs node_modules/.berth-lock-stamp
	npm run --silent gen

node_modules/.berth-lock-stamp: package-lock.json
	@scripts/deps.sh

build: deps src/gen/api.ts src/gen/api-descriptor.ts
	node_modules/.bin/tsc -p tsconfig.json

# berthd in the foreground with the embedded defaults (or /etc/berth/berth.toml if present).
run: build
	bin/berthd

lint: build
	node_modules/.bin/eslint .
	node_modules/.bin/prettier --check .

format:
	node_modules/.bin/prettier --write .

unit: build
	$(MOCHA) 'dist/test/unit/**/*.test.js'

grpc: build
	$(MOCHA) 'dist/test/grpc/**/*.test.js'

integration: build
	$(MOCHA) 'dist/test/integration/**/*.test.js'

# lint, typecheck (the build), then all three test layers in one mocha run.
test: lint
	$(MOCHA) 'dist/test/unit/**/*.test.js' 'dist/test/grpc/**/*.test.js' 'dist/test/integration/**/*.test.js'

# The CRI validation suite (critest, cri-tools v1.32.0) against a fresh berthd, with the kit in
# ../shared/conformance when it exists; fails on any failed spec. HANDLER=crun runs every pod on
# crun (the kit moves hugetlb to cgroup v1 for the run and back). The kit's lock keeps two runs
# from sharing its ports and bridge.
CONFORMANCE_KIT := ../shared/conformance
# Specs skipped by name (a ginkgo regex) while berth cannot pass them; none today (88 pass on
# this host, on both handlers).
CRITEST_SKIP :=
conformance: build
	@if [ ! -d $(CONFORMANCE_KIT) ]; then \
	  echo "conformance: SKIPPED: no conformance kit at $(CONFORMANCE_KIT) (nothing was run)"; \
	  exit 0; \
	fi; \
	echo "conformance: critest on handler '$${HANDLER:-default}'$(if $(CRITEST_SKIP), skipping '$(CRITEST_SKIP)')"; \
	flock /tmp/critest.lock $(CONFORMANCE_KIT)/run-critest.sh \
	  $(if $(CRITEST_SKIP),'--ginkgo.skip=$(CRITEST_SKIP)')

# Every benchmark, or only those named after it: `make bench vs-containerd` (words after `bench`
# that are no target of this file are names of benchmarks, not goals).
TARGETS := deps build run test lint format typecheck unit grpc integration conformance bench clean \
	deb lintian install uninstall deploy/berth.toml
BENCH_NAMES := $(if $(filter bench,$(MAKECMDGOALS)),$(filter-out $(TARGETS),$(MAKECMDGOALS)))
bench: build
	node dist/bench/run.js $(BENCH_NAMES)
ifneq ($(BENCH_NAMES),)
.PHONY: $(BENCH_NAMES)
$(BENCH_NAMES):
	@:
endif

# berth_<version>_<arch>.deb in DEB_OUT (dpkg-deb only; DEB_VERSION overrides package.json's).
DEB_OUT ?= dist/deb
deb: build
	scripts/build-deb.sh $(DEB_OUT)

# Debian's package checker on the .deb (README, "Installing": what it reports and why).
lintian: deb
	lintian --tag-display-limit 0 $(DEB_OUT)/berth_*_$$(dpkg --print-architecture).deb

# The .deb's files without dpkg. The config goes to SYSCONFDIR (berthd reads /etc/berth), the
# unit where systemd looks for PREFIX's units. uninstall removes what install wrote, nothing else.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: build
	scripts/install.sh install "$(DESTDIR)" $(PREFIX) $(SYSCONFDIR) $(UNITDIR)

uninstall:
	scripts/install.sh uninstall "$(DESTDIR)" $(PREFIX) $(SYSCONFDIR) $(UNITDIR)

# deploy/berth.toml is `berthd config default` (test/unit/config/render.test.ts checks it).
deploy/berth.toml: build
	bin/berthd config default >$@

clean:
	rm -rf dist src/gen
