# The README's test command is `make test`: it installs the tools some tests
# need (Debian packages, when missing) and runs every Go test. CI runs it
# through .ci/run on a fresh machine.

GO ?= go
GOTEST_FLAGS ?= -timeout 60m

# Debian packages the tests use: wat2wasm (ABI worked example), a real OCI
# registry (pack push/pull tests).
DEBS := wabt docker-registry
# Commands that prove each package is installed, in the same order.
DEB_CMDS := wat2wasm docker-registry

.PHONY: test deps check

test: deps check
	$(GO) test $(GOTEST_FLAGS) ./...

check:
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$fmt" ]; then echo "gofmt would change:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...

deps:
	@missing=0; for c in $(DEB_CMDS); do command -v $$c >/dev/null 2>&1 || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian packages: $(DEBS)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBS) >/dev/null; \
	fi
	@for c in $(DEB_CMDS); do command -v $$c >/dev/null 2>&1 || { echo "missing $$c after install"; exit 1; }; done
