# berth: the two commands are `make run` and `make test`; both install what is missing first.
SHELL := /bin/bash
MOCHA := node_modules/.bin/mocha

.PHONY: deps build run test lint format typecheck unit grpc integration bench clean

deps:
	@scripts/deps.sh

src/gen/api.ts: proto/runtime/v1/api.proto node_modules/.berth-lock-stamp
	npm run --silent gen

node_modules/.berth-lock-stamp: package-lock.json
	@scripts/deps.sh

build: deps src/gen/api.ts
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

bench: build
	node dist/bench/run.js

clean:
	rm -rf dist src/gen
