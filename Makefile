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

.PHONY: all build headless run test fuzz bench deps-build deps-test deps-bench deps-install install lint clean \
        release cross winres deps-release deps-winres

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
	$(MAKE) --no-print-directory cross

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
	$(GO) test -run '^$$' -bench BenchmarkMemberUnderFlood -benchtime 3x -count 3 ./quicwire/ > test/bench/flood.txt
	$(GO) run ./test/loopbench -size 256MiB -rate 8MiB -runs 3 -out test/bench/loopback.md
	$(GO) run ./test/bench -out test/bench

deps-build:
	@sh test/deps.sh $(BUILD_PKGS)

deps-test: deps-build
	@sh test/deps.sh $(TEST_PKGS)
	@command -v npm >/dev/null 2>&1 || sh test/deps.sh nodejs npm

deps-bench: deps-test
	@sh test/deps.sh $(BENCH_PKGS)

deps-install:
	@sh test/deps.sh $(INSTALL_PKGS)

deps-release: deps-build
	@sh test/deps.sh $(RELEASE_PKGS)

deps-winres:
	@sh test/deps.sh $(RELEASE_PKGS) imagemagick

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

# Release builds. The Windows GUI binary is cross-compiled with mingw (cgo,
# like every Fyne build) as a GUI-subsystem program: no console window opens
# behind it. Its icon, manifest and version information come from
# assets/windows/rsrc_windows_amd64.syso (committed; `make winres`), which
# main_windows.go links in. Headless builds (no Fyne, no cgo) cover every
# desktop OS and both architectures. Everything is built with -trimpath, so
# the binaries do not depend on where the tree was checked out.
DIST         := dist
RELEASE_PKGS := gcc-mingw-w64-x86-64
MINGW_CC     := x86_64-w64-mingw32-gcc
MINGW_OBJDUMP := x86_64-w64-mingw32-objdump
HEADLESS_TARGETS := linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64
REL_FLAGS    := -trimpath
CLI          := github.com/dragonload/dragonload/app/cli
REL_LDFLAGS   = -s -w -X $(CLI).Version=$(VERSION) -X $(CLI).Commit=$(COMMIT)
# What `dragonload version` prints (go build stamps no VCS data here:
# GOFLAGS=-buildvcs=false on some machines, and -trimpath). VERSION is the
# tag (v*) of HEAD when there is one, else FyneApp.toml's version plus
# "-dev"; COMMIT is HEAD's short hash, "+dirty" with uncommitted changes.
# Both can be given: make release VERSION=v1.0.0.
APP_VERSION = $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
APP_BUILD   = $(shell sed -n 's/^Build *= *\([0-9]*\).*/\1/p' FyneApp.toml)
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --exact-match --match 'v*' 2>/dev/null || echo v$(APP_VERSION)-dev)
endif
ifeq ($(origin COMMIT),undefined)
COMMIT := $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c+dirty; })
endif
WIN_GUI       = CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=$(MINGW_CC) $(GO) build $(REL_FLAGS) -ldflags '$(REL_LDFLAGS) -H=windowsgui'
# $(call headless_all,OUT-PREFIX,OS/ARCH...): one static nogui binary each.
headless_all = for t in $(2); do os=$${t%/*}; arch=$${t\#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	echo "headless $$os/$$arch"; \
	CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(REL_FLAGS) -tags nogui -ldflags '$(REL_LDFLAGS)' -o $(1)-$$os-$$arch$$ext . || exit 1; done
# $(call check_win,EXE): the PE says Windows GUI and its resource directory
# holds an icon group (type 0x0e) and a manifest (type 0x18).
check_win = pe="$$($(MINGW_OBJDUMP) -p $(1))" || exit 1; \
	echo "$$pe" | grep -q 'Subsystem.*(Windows GUI)' || { echo "$(1): not a GUI-subsystem program"; exit 1; }; \
	echo "$$pe" | grep -qE '^[0-9a-f]+   Entry: ID: 0x00000e,' || { echo "$(1): no icon resource"; exit 1; }; \
	echo "$$pe" | grep -qE '^[0-9a-f]+   Entry: ID: 0x000018,' || { echo "$(1): no manifest resource"; exit 1; }; \
	echo "$(1): Windows GUI subsystem, icon and manifest present"

release: deps-release
	rm -rf $(DIST)
	mkdir -p $(DIST)
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(GO) build $(REL_FLAGS) -ldflags '$(REL_LDFLAGS)' -o $(DIST)/dragonload-linux-amd64 .
	$(WIN_GUI) -o $(DIST)/dragonload-windows-amd64.exe .
	@$(call check_win,$(DIST)/dragonload-windows-amd64.exe)
	@$(call headless_all,$(DIST)/dragonload-headless,$(HEADLESS_TARGETS))
	cd $(DIST) && sha256sum dragonload-* > SHA256SUMS
	@ls -l $(DIST)

# What `make test` checks of the other platforms, from the build cache when
# nothing changed: the headless build for every target, and a vet (which type-checks the
# tests too) of what the CI workflow builds and tests on Windows and macOS.
# For Windows, -tags ci swaps Fyne's cgo driver for its test driver, so the
# GUI code is vetted too; Fyne needs cgo on macOS even so, and there is no C
# cross compiler for macOS here, so the macOS vet covers the packages that
# do not link Fyne (nogui), and the CI workflow builds the rest on a Mac.
# core/discover's netns_test.go uses syscall.SIGUSR1, which Windows lacks:
# left out of the Windows vet until that file is Linux-only.
# linux/amd64 is left out: `make test` builds it (make headless).
CROSS_HEADLESS := $(filter-out linux/amd64,$(HEADLESS_TARGETS))
CROSS_VET     := . ./core/... ./quicwire/... ./app/... ./tray/...
CROSS_VET_WIN  = $(filter-out %/core/discover,$(shell $(GO) list $(CROSS_VET)))
CROSS_VET_MAC  = $(shell GOOS=darwin $(GO) list -tags nogui -e -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' $(CROSS_VET) | awk '!/ fyne\.io\/fyne\/v2/ {print $$1}')
# The Windows GUI build itself (its cgo compile of the toolkit takes some
# 7 minutes cold on 2 cores) is left to `make release`, which checks its
# subsystem and resources; the vet covers its Go code.
cross:
	@$(call headless_all,bin/cross/dragonload-headless,$(CROSS_HEADLESS))
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) vet $(REL_FLAGS) -tags ci $(CROSS_VET_WIN)
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) vet $(REL_FLAGS) -tags nogui $(CROSS_VET_MAC)

# Regenerates the Windows resources from assets/icon.png, the manifest, the
# .rc file and the version in FyneApp.toml; commit the result.
# windres hands -D to the preprocessor through a shell, hence the escaped quotes.
winres: deps-winres
	convert assets/icon.png -define icon:auto-resize=256,128,64,48,32,24,16 assets/windows/icon.ico
	v='$(APP_VERSION)'; set -- $$(echo "$$v" | tr '.' ' '); \
	cd assets/windows && x86_64-w64-mingw32-windres -O coff --input-format rc \
		-DVER_MAJOR=$${1:-0} -DVER_MINOR=$${2:-0} -DVER_PATCH=$${3:-0} -DVER_BUILD=$(or $(APP_BUILD),0) \
		"-DVER_STRING=\\\"$$v\\\"" -i dragonload.rc -o rsrc_windows_amd64.syso

clean:
	rm -rf bin
