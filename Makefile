# Castellan — the two commands a new user needs are `make demo` and `make test`.
# Each installs missing Debian packages (scripts/bootstrap.sh), builds with CMake presets
# (Ninja + ccache + precompiled headers) and runs.

JOBS ?= $(shell nproc)
DEMO_DIR ?= $(CURDIR)/build/demo-data
export CCACHE_DIR ?= $(HOME)/.cache/ccache
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_MAXSIZE = 5G
export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS = halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp

CTEST = ctest --output-on-failure -j$(JOBS) --timeout 600
# The modules whose tests also run under TSan: all of the concurrent code. (core is
# single-threaded; app's tests drive the whole binary as child processes.)
TSAN_MODULES = runtime journal access store devices api
empty :=
space := $(empty) $(empty)
TSAN_TARGETS = $(addsuffix _tests,$(TSAN_MODULES))
TSAN_LABELS = ^($(subst $(space),|,$(TSAN_MODULES)))$$

# make fuzz: each harness runs this long (seconds); a subset with FUZZ_HARNESSES="a b".
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?= device_payloads device_messages journal_record journal_segment \
                  journal_directory access_codec

.PHONY: all bootstrap build demo test test-dev test-asan test-tsan bench lint fuzz clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j$(JOBS)

demo: build
	build/dev/src/app/castellan demo --data-dir $(DEMO_DIR)

# All tests: plain build, then ASan+UBSan, then TSan on the concurrent modules' tests.
test: bootstrap test-dev test-asan test-tsan
	@echo "make test: all suites passed (dev, asan+ubsan, tsan)"

test-dev: bootstrap
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j$(JOBS)
	cd build/dev && $(CTEST)

test-asan: bootstrap
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j$(JOBS)
	cd build/asan && $(CTEST)

test-tsan: bootstrap
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j$(JOBS) --target $(TSAN_TARGETS)
	cd build/tsan && $(CTEST) -L '$(TSAN_LABELS)'

bench: bootstrap
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS)
	bash bench/run_all.sh build/release

# clang-tidy (.clang-tidy) over the modules clang-tidy 14 can parse; see scripts/lint.sh.
lint: build
	bash scripts/lint.sh

# Fuzzing by hand: the harnesses of fuzz/ built with clang++ and libFuzzer (ASan+UBSan) into
# build/fuzz, each run for FUZZ_SECONDS from its seed corpus fuzz/corpus/<harness>/ (read only).
# Inputs libFuzzer finds go to build/fuzz/corpus/<harness>/, failing ones to build/fuzz/failures/.
# Debian 12's clang 14 cannot compile src/runtime (std::source_location with libstdc++ 12); no
# harness needs it. make test runs the same harnesses without clang (fuzz/replay_main.cpp).
fuzz:
	@bash scripts/bootstrap.sh fuzz
	cmake -S fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	cmake --build build/fuzz -j$(JOBS)
	@mkdir -p build/fuzz/failures; failed=; \
	for h in $(FUZZ_HARNESSES); do \
	  mkdir -p build/fuzz/corpus/$$h; \
	  echo "make fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=131072 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/failures/$$h- \
	    build/fuzz/corpus/$$h fuzz/corpus/$$h || failed="$$failed $$h"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "make fuzz: failed:$$failed (the inputs are in build/fuzz/failures/)"; exit 1; \
	fi; \
	echo "make fuzz: no failure in $(FUZZ_HARNESSES)"

clean:
	rm -rf build
