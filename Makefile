# The two commands of the README. Both install what is missing first (.ci/install-deps.sh).
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)

.PHONY: all deps build test demo corpus asan clean

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

asan:
	@$(MAKE) test PRESET=asan

clean:
	rm -rf build
