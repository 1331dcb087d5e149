# kiwi-like developer entry points. The README's two commands are `make image` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
TARGET_DIR ?= build/default-image
PROFILE ?= oem

# Host tools from Debian that kiwi-like and its tests call (the last line: what KIWI NG
# needs for `make bench BENCH_FLAGS=--against-kiwi`).
HOST_PACKAGES := trang mmdebstrap dpkg-dev apt-utils gpg busybox-static openssl passwd util-linux \
	qemu-system-x86 qemu-utils ovmf xfsprogs btrfs-progs dosfstools mtools fdisk e2fsprogs \
	xorriso squashfs-tools zstd xz-utils skopeo umoci podman \
	rpm zypper dnf createrepo-c pacman-package-manager makepkg \
	debhelper dh-python python3-all python3-setuptools python3-wheel pybuild-plugin-pyproject \
	python3-docopt python3-lxml python3-requests python3-xmlschema python3-yaml \
	python3-pytest python3-hypothesis \
	lintian man-db bash-completion obs-build \
	rsync gdisk genisoimage parted
# Without their recommends (diffoscope's would pull in hundreds of packages); the
# reproducibility tests use diffoscope-minimal's diffoscope.
HOST_PACKAGES_MINIMAL := diffoscope-minimal

.PHONY: setup host-tools venv image test test-extended test-fast lint bench clean deb

setup: host-tools venv

host-tools:
	@missing=$$(for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing host tools: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@missing=$$(for p in $(HOST_PACKAGES_MINIMAL); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing host tools without their recommends: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

venv: $(BIN)/kiwi-ng

$(BIN)/kiwi-ng: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# README command 1: build the default image (Debian 12 from the host's apt sources).
image: setup
	rm -rf $(TARGET_DIR)/build/image-root
	$(BIN)/kiwi-ng --profile $(PROFILE) system build \
		--description descriptions/debian/bookworm-jeos --target-dir $(TARGET_DIR)

# README command 2: the whole test suite, as CI runs it (all but the extended boots).
test: setup lint
	$(BIN)/pytest -q -m "not extended" --durations=40

# The extended boots: more machines, firmwares and memory sizes for what `test` boots.
test-extended: setup
	$(BIN)/pytest -q -m extended

# The quick suite: no QEMU boots, no Debian archive.
test-fast: setup
	$(BIN)/pytest -q -m "not boot and not network"

# Build times and memory of the default oem image: cold, warm, config.sh-only rebuild
# (see doc/performance.md). RUNS builds per scenario; medians are printed.
# BENCH_FLAGS (or ARGS) go to bench/run.py: `make bench BENCH_FLAGS=--against-kiwi` builds
# the same description with KIWI NG 11.1.6 first and prints the ratios.
RUNS ?= 3
BENCH_FLAGS ?= $(ARGS)
bench: setup
	mkdir -p build/bench
	$(BIN)/python bench/run.py --runs $(RUNS) $(BENCH_FLAGS) --json build/bench/report.json

lint: setup
	$(BIN)/ruff check kiwi_like tests
	$(BIN)/mypy

# The Debian package: build/deb/kiwi-like_<version>_all.deb (see doc/obs.md). Built with
# dpkg-buildpackage from a copy of the tree's files (tracked or not, not ignored), so
# the build leaves nothing in the tree; lintian must report no errors.
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' kiwi_like/__init__.py)
DEB_DIR := build/deb
deb: host-tools
	rm -rf $(DEB_DIR)/src && mkdir -p $(DEB_DIR)/src/kiwi-like-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | \
		tar -c --null --no-recursion --ignore-failed-read -T - -f - 2>/dev/null | \
		tar -x -C $(DEB_DIR)/src/kiwi-like-$(VERSION)
	# the system python3 builds it, whatever python a PATH (pyenv, a venv) puts first
	cd $(DEB_DIR)/src/kiwi-like-$(VERSION) && \
		env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage -b -us -uc --no-sign
	mv $(DEB_DIR)/src/kiwi-like_$(VERSION)_all.deb $(DEB_DIR)/
	rm -rf $(DEB_DIR)/src
	lintian --fail-on error $(DEB_DIR)/kiwi-like_$(VERSION)_all.deb

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

include schema/Makefile.inc
