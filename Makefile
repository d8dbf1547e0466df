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

demo: build corpus
	@echo "== flscan scanning the demo tree $(BUILD)/corpus/demo =="
	@$(BUILD)/scanner/flscan $(BUILD)/corpus/demo; status=$$?; \
	 echo "== exit code $$status (0 clean, 1 FunLove evidence found, 2 scan incomplete) =="

asan:
	@$(MAKE) test PRESET=asan

clean:
	rm -rf build
