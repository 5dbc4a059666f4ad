# The only commands a newcomer needs. Every target installs what it needs first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
CMAKE_ARGS ?=

DEB_PACKAGES := g++ cmake make pkg-config ccache clang-format \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libssl-dev libhiredis-dev libyaml-cpp-dev libgtest-dev libgmock-dev libcli11-dev \
  redis-server nginx python3 python3-requests prometheus curl
BENCH_PACKAGES := nginx-light libnginx-mod-http-lua wrk
FUZZ_PACKAGES := clang-14 libclang-rt-14-dev
FUZZ_BUILD   ?= build-fuzz
FUZZ_TARGETS ?= request_head chunked_body credential config_loader resp_reply record_json simple_response
FUZZ_SECONDS ?= 60

# Paths relative to the tree in ccache's hashes, so a fresh clone elsewhere (CI) reuses the
# objects of earlier builds.
export CCACHE_BASEDIR := $(CURDIR)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps bench-deps deploy-deps fuzz-deps fuzz-build fuzz fuzz-merge build asan test \
  test-asan run bench format format-check clean image

all: build

# Idempotent and quiet when everything is there already.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FUZZ_PACKAGES)"

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build deploy-deps
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j$(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYGATE_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure --timeout 900 -E "^deploy_"

# libFuzzer + ASan/UBSan with clang in $(FUZZ_BUILD), not part of `make test` (which replays the
# kept corpora). Each target runs FUZZ_SECONDS from tests/fuzz/<target>/corpus; new inputs go to
# $(FUZZ_BUILD)/corpus/<target>, findings to $(FUZZ_BUILD)/findings/<target>/ (see docs/fuzzing.md).
fuzz-build: deps fuzz-deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKEYGATE_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/findings/$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/findings/$$t/ \
	    $$(test -f tests/fuzz/$$t.dict && echo -dict=tests/fuzz/$$t.dict) \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/$$t/corpus 2>&1 | grep -E '(DONE|stat::number_of_executed_units|ERROR|SUMMARY|property failed|runtime error)' ; \
	  test -z "$$(ls -A $(FUZZ_BUILD)/findings/$$t)" || { echo "finding in $(FUZZ_BUILD)/findings/$$t"; exit 1; }; \
	done

# Folds what `make fuzz` found into the kept corpora, minimised (libFuzzer -merge=1): every
# coverage edge is kept, hit counts are not (-use_counters=0), so a corpus stays a few hundred files.
fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ_BUILD)/merged/$$t && mkdir -p $(FUZZ_BUILD)/merged/$$t && \
	  $(FUZZ_BUILD)/fuzz_$$t -merge=1 -use_counters=0 -max_len=4096 $(FUZZ_BUILD)/merged/$$t tests/fuzz/$$t/corpus \
	    $(FUZZ_BUILD)/corpus/$$t 2>/dev/null && \
	  rm -rf tests/fuzz/$$t/corpus && mv $(FUZZ_BUILD)/merged/$$t tests/fuzz/$$t/corpus && \
	  echo "$$t: $$(ls tests/fuzz/$$t/corpus | wc -l) inputs"; \
	done

run: build
	@BUILD=$(BUILD) ./deploy/examples/run.sh

bench: build bench-deps
	@BUILD=$(BUILD) ./bench/run.sh

format: deps
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check: deps
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# What tests/deploy needs: node and npm (Debian's, unless some are there already), the
# Kubernetes schemas (npm kubernetes-models) under the build dir, and a container builder
# (podman) with mmdebstrap to make the Debian base images where no registry is reachable.
DEPLOY_NPM := kubernetes-models@5.1.0 js-yaml@4.1.0
DEPLOY_NODE_DIR := $(BUILD)/deploy-validate
IMAGE_PACKAGES := podman runc mmdebstrap
deploy-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  $(MAKE) --no-print-directory deps DEB_PACKAGES="nodejs npm"
	@[ -f $(DEPLOY_NODE_DIR)/node_modules/kubernetes-models/package.json ] && \
	  [ -f $(DEPLOY_NODE_DIR)/node_modules/js-yaml/package.json ] || \
	  { mkdir -p $(DEPLOY_NODE_DIR) && \
	    npm install --prefix $(DEPLOY_NODE_DIR) --no-save --no-audit --no-fund --silent $(DEPLOY_NPM); }
	@command -v podman >/dev/null || command -v buildah >/dev/null || \
	  $(MAKE) --no-print-directory deps DEB_PACKAGES="$(IMAGE_PACKAGES)"
	@command -v mmdebstrap >/dev/null && command -v runc >/dev/null || \
	  $(MAKE) --no-print-directory deps DEB_PACKAGES="mmdebstrap runc"

# The container image, with podman (or buildah). IMAGE names it.
IMAGE ?= keygate:0.1.0
image: deploy-deps
	@IMAGE=$(IMAGE) BUILD=$(BUILD) ./deploy/build-image.sh
