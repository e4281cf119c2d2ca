# Dragonload. `make run` opens the app, `make test` runs every test,
# `make bench` measures against the ideal. Each installs what it needs.

GO        ?= go
BIN       := bin/dragonload
# Debian packages for Fyne's cgo build (DESIGN.md) and the GUI/e2e tests.
BUILD_PKGS := gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev \
              libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
TEST_PKGS  := xvfb xdotool dbus dbus-x11 x11-utils tmux iproute2 imagemagick
BENCH_PKGS := aria2 gnuplot-nox
INSTALL_PKGS := shared-mime-info desktop-file-utils xdg-utils
FUZZTIME  ?= 5s

.PHONY: all build headless run test fuzz bench deps-build deps-test deps-bench deps-install install lint clean

all: build

build: deps-build
	$(GO) build -o $(BIN) .

# A static binary without Fyne, for servers that only lend: no cgo, no X11
# or OpenGL libraries needed.
headless:
	CGO_ENABLED=0 $(GO) build -tags nogui -o $(BIN)-headless .

run: build
	./$(BIN) $(ARGS)

# Every package that does not need the desktop toolkit runs its tests under
# the race detector (which needs cgo): the engine, the protocol, the command
# line and the harnesses of the end-to-end tests. Packages that link Fyne,
# and the desktop end-to-end test, run without it; each package runs once.
PKG_DEPS  = $(GO) list -e -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./...
IS_GUI    = / fyne\.io\/fyne\/v2/ || $$1 ~ /\/test\/gui$$/
GUI_PKGS  = $(shell $(PKG_DEPS) | awk '$(IS_GUI) {print $$1}')
RACE_PKGS = $(shell $(PKG_DEPS) | awk '!($(IS_GUI)) {print $$1}')

test: deps-test lint headless
	$(GO) build -o $(BIN) .
	./$(BIN)-headless link https://example.org/check.iso > /dev/null
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 20m $(GUI_PKGS)
	$(MAKE) --no-print-directory fuzz

# staticcheck is pinned in go.mod (a tool dependency), so every machine
# runs the same checks.
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Every decoder of untrusted bytes is fuzzed briefly on each test run.
fuzz:
	FUZZTIME=$(FUZZTIME) sh test/fuzz.sh

bench: deps-bench build
	$(GO) test -run '^$$' -bench BenchmarkCommit -benchtime 50x -count 5 ./core/store/ > test/bench/commit.txt
	$(GO) run ./test/loopbench -size 256MiB -rate 8MiB -runs 3 -out test/bench/loopback.md
	$(GO) run ./test/bench -out test/bench

deps-build:
	@sh test/deps.sh $(BUILD_PKGS)

deps-test: deps-build
	@sh test/deps.sh $(TEST_PKGS)

deps-bench: deps-test
	@sh test/deps.sh $(BENCH_PKGS)

deps-install:
	@sh test/deps.sh $(INSTALL_PKGS)

# Installs the binary, icon, desktop entry (dragon:// links, .dragon files)
# and MIME type for the current user.
install: deps-install build
	install -Dm755 $(BIN) $(HOME)/.local/bin/dragonload
	install -Dm644 assets/icon.png $(HOME)/.local/share/icons/hicolor/512x512/apps/io.github.dragonload.Dragonload.png
	install -d $(HOME)/.local/share/applications
	sed 's|^Exec=dragonload|Exec=$(HOME)/.local/bin/dragonload|; s|^TryExec=dragonload|TryExec=$(HOME)/.local/bin/dragonload|' \
		assets/linux/io.github.dragonload.Dragonload.desktop > $(HOME)/.local/share/applications/io.github.dragonload.Dragonload.desktop
	install -Dm644 assets/linux/dragonload.xml $(HOME)/.local/share/mime/packages/dragonload.xml
	update-mime-database $(HOME)/.local/share/mime
	update-desktop-database $(HOME)/.local/share/applications
	xdg-mime default io.github.dragonload.Dragonload.desktop x-scheme-handler/dragon application/x-dragon

clean:
	rm -rf bin
