# The README's test command is `make test`: it installs the tools some tests
# need (Debian packages, when missing) and runs every Go test. CI runs it
# through .ci/run on a fresh machine.

GO ?= go
GOTEST_FLAGS ?= -timeout 60m

# Debian packages the tests use: wat2wasm (the ABI's worked example), a real
# OCI registry (pack push/pull), gRPC for Python (the Python policy plugin,
# run by /usr/bin/python3).
DEBS := wabt docker-registry python3-grpcio python3-protobuf

# One check per need; any failing check triggers the install.
define have_deps
command -v wat2wasm >/dev/null 2>&1 && \
command -v docker-registry >/dev/null 2>&1 && \
/usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1
endef

.PHONY: test deps check

test: deps check
	$(GO) test $(GOTEST_FLAGS) ./...

check:
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$fmt" ]; then echo "gofmt would change:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...

deps:
	@if ! { $(have_deps); }; then \
	  echo "installing Debian packages: $(DEBS)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBS) >/dev/null; \
	fi
	@{ $(have_deps); } || { echo "missing test dependencies after install ($(DEBS))"; exit 1; }
