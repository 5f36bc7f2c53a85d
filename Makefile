# Entry points. Every target installs missing Debian packages first (scripts/install-deps.sh).
JOBS ?= $(shell nproc)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
# Let ccache hit across checkouts in different directories (CI clones afresh).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test asan-test demo bench format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Where scripts/install-deps.sh puts Helm for the chart tests that run real Helm.
HELM_BIN := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/anteroom/helm/helm

test: build
	cd $(BUILD_DIR) && { [ ! -x "$(HELM_BIN)" ] || export ANTEROOM_HELM="$(HELM_BIN)"; } && \
	  ctest --output-on-failure -j$(JOBS) --timeout 600

asan-test:
	$(MAKE) test PRESET=asan

demo: build
	bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash scripts/install-deps.sh --bench
	bash bench/run_sync_bench.sh $(BUILD_DIR)
	bash bench/run_proxy_bench.sh $(BUILD_DIR)
	bash bench/run_failover_bench.sh $(BUILD_DIR) 3

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
