# The two commands of the README. Both install what is missing first (.ci/install-deps.sh).
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps build test demo corpus asan fuzz clean format install package rescue

all: build

deps:
	@./.ci/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

corpus: build
	@cmake --build --preset $(PRESET) --target corpus

test: build corpus
	@ctest --preset $(PRESET) -j $(JOBS)

# The demo scans two generated trees: demo/ (every FunLove state side by side) and
# windows/nt4-infected/ (an offline NT4 volume with hive and event log: the Q317218 report).
demo: build corpus
	@echo "== flscan scanning the demo trees in $(BUILD)/corpus =="
	@cd $(BUILD)/corpus && ../scanner/flscan --html ../demo-report.html demo windows/nt4-infected; status=$$?; \
	 echo "== exit code $$status (0 clean, 1 FunLove evidence found, 2 scan incomplete); HTML report: $(BUILD)/demo-report.html =="

# Installs the binary, flscan(1), the bash completion and the docs under PREFIX (DESTDIR honoured,
# for staging: make install PREFIX=/usr DESTDIR=/tmp/stage).
PREFIX ?= /usr/local
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# The Debian package build/package/flscan_VERSION_ARCH.deb (CPack; Depends computed: packaging/).
package: build
	@cd $(BUILD) && cpack --config CPackConfig.cmake -B $(CURDIR)/build/package
	@rm -rf build/package/_CPack_Packages
	@ls build/package/*.deb

# The rescue image (README "Rescue media"): build/rescue/flscan-rescue-$(RESCUE_ARCH).iso, a hybrid
# ISO (CD and USB stick, BIOS and UEFI) that boots a Debian kernel and scans every disk read-only.
# It holds FLSCAN_BINARY: a static one alone, a dynamic one with its shared libraries (those
# flscan loads at run time named by the build's CMakeCache.txt). The kernel and busybox are
# fetched with apt-get download and kept in ~/.cache/flscan/rescue ($FLSCAN_ROOT_CACHE/rescue).
RESCUE_ARCH   ?= amd64
FLSCAN_BINARY ?= $(BUILD)/scanner/flscan
rescue: build
	@python3 rescue/build_rescue.py --arch $(RESCUE_ARCH) --flscan $(FLSCAN_BINARY) \
	  --cmake-cache $(BUILD)/CMakeCache.txt --output build/rescue/flscan-rescue-$(RESCUE_ARCH).iso

asan:
	@$(MAKE) test PRESET=asan

# Each libFuzzer target (clang-14, ASan + UBSan) for FUZZ_SECONDS on its committed seeds; any
# crash, leak, timeout or OOM fails. The seeds also replay in every `make test` (fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	@./fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build

# Formats every C and C++ source with .clang-format (clang-format-14); `make test` checks it.
format: deps
	@python3 tests/tools/format_check.py --fix .

# The benchmark (bench/README.md): flscan, ClamAV, YARA and the I/O limits on one generated tree.
# Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--scale 0.1 --only flscan,limits".
.PHONY: bench
bench: build corpus
	@FLSCAN_EXTRA_PACKAGES="yara clamav-daemon clamdscan" ./.ci/install-deps.sh
	@python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)
	@python3 bench/image_rows.py --build $(BUILD)
