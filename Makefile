# The two commands of the README. Both install what is missing first (.ci/install-deps.sh).
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps build test demo corpus asan fuzz clean format install package windows portable rescue

all: build

deps:
	@./.ci/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

corpus: build
	@cmake --build --preset $(PRESET) --target corpus

# The release suite also runs the portable binary (e2e_portable_binary): built first.
test: build corpus $(if $(filter release,$(PRESET)),portable)
	@ctest --preset $(PRESET) -j $(JOBS)

# The demo scans two generated trees: demo/ (every FunLove state side by side) and
# windows/nt4-infected/ (an offline NT4 volume with hive and event log: the Q317218 report).
demo: build corpus
	@echo "== flscan scanning the demo trees in $(BUILD)/corpus =="
	@cd $(BUILD)/corpus && ../scanner/flscan --html ../demo-report.html demo windows/nt4-infected; status=$$?; \
	 echo "== exit code $$status (0 clean, 1 FunLove evidence found, 2 scan incomplete); HTML report: $(BUILD)/demo-report.html =="

# flscan-live.exe for Windows (live/, README "On a running Windows machine"), cross-built with
# mingw-w64: build/windows/flscan-live-i686.exe (NT 4.0/2000/XP and later) and
# build/windows/flscan-live-x86_64.exe.
windows: deps
	@for arch in i686 x86_64; do \
	  cmake -S live -B build/windows/$$arch -G Ninja -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/live/cmake/mingw-$$arch.cmake \
	    -DFLSCAN_LIVE_OUTPUT_DIR=$(CURDIR)/build/windows >/dev/null && \
	  cmake --build build/windows/$$arch -j $(JOBS) || exit 1; \
	done
	@ls build/windows/*.exe

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

# build/portable/flscan: one fully static flscan for rescue media (README "Portable binary");
# ARCH=i686: build/portable-i686/flscan (GCC -m32: g++-multilib; its test runs it in qemu-user).
ARCH ?= x86_64
portable: deps
	@$(if $(filter i686,$(ARCH)),FLSCAN_EXTRA_PACKAGES="g++-multilib qemu-user" ./.ci/install-deps.sh)
	@./packaging/portable/build.sh $(ARCH)

# The rescue image (README "Rescue media"): build/rescue/flscan-rescue-$(RESCUE_ARCH).iso, a hybrid
# ISO (CD and USB stick, BIOS and UEFI) that boots a Debian kernel and scans every disk read-only.
# It holds FLSCAN_BINARY, by default the static flscan of `make portable`; a dynamic one (e.g.
# FLSCAN_BINARY=build/release/scanner/flscan) comes with its shared libraries (those flscan loads
# at run time named by the build's CMakeCache.txt). The kernel and busybox are
# fetched with apt-get download and kept in ~/.cache/flscan/rescue ($FLSCAN_ROOT_CACHE/rescue).
# RESCUE_ARCH=i686: build/rescue/flscan-rescue-i686.iso for 32-bit PCs (Debian's 686 kernel,
# busybox-static:i386, GRUB for BIOS and 32-bit UEFI) holding build/portable-i686/flscan (make
# portable ARCH=i686); the i386 packages need `dpkg --add-architecture i386` (README).
RESCUE_ARCH   ?= amd64
FLSCAN_BINARY ?= $(if $(filter i686,$(RESCUE_ARCH)),build/portable-i686/flscan,build/portable/flscan)
rescue: build
	@$(if $(filter i686,$(RESCUE_ARCH)),FLSCAN_EXTRA_PACKAGES="grub-efi-ia32-bin" ./.ci/install-deps.sh)
	@$(if $(filter build/portable%/flscan,$(FLSCAN_BINARY)),$(MAKE) portable ARCH=$(if $(filter i686,$(RESCUE_ARCH)),i686,x86_64))
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
