# Builds and installs breaker-run.
#
#   make                        the static release binaries (.build/release/breaker-run,
#                               the core, and breaker-run-full, the same with the
#                               network plugins, to which the core hands over)
#   make install                installs under PREFIX (default /usr/local), DESTDIR honoured
#   make uninstall              removes what install put there and the
#                               configuration cache (/var/cache/breaker-run), except
#                               the configuration in /etc and the state in /var/lib
#   make install BIN=path       installs an already built binary instead (and the
#                               breaker-run-full beside it, or FULL_BIN=path)
#   make deb                    the Debian package, .build/deb/breaker-run_VERSION_ARCH.deb,
#                               from the same binaries (scripts/build-deb.sh; install
#                               it with apt install ./.build/deb/breaker-run_*.deb)
#   make bench                  the benchmarks (bench/run.sh; docs/BENCHMARKS.md)
#   make bench-quick            their short form (bench/run.sh --quick)
#
# The configuration and the state directory sit where breaker-run looks for
# them whatever the PREFIX: /etc/breaker-run and /var/lib/breaker-run.
#
# The state directory is shared by the group breaker-run: mode 2770 (setgid),
# owned by root:breaker-run. Run as root without a DESTDIR, install creates
# that system group when it is missing (groupadd -r, or addgroup --system);
# with a DESTDIR it leaves the system's groups alone and gives the directory
# the group only if it already exists (a package's postinst sets it).
# uninstall leaves the group and the directory.

PREFIX        ?= /usr/local
DESTDIR       ?=
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
BINDIR        ?= $(PREFIX)/bin
# The core looks for breaker-run-full in <its dir>/../libexec/breaker-run.
LIBEXECDIR    ?= $(PREFIX)/libexec
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        ?= $(PREFIX)/share/doc/breaker-run
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR   ?= $(PREFIX)/share/fish/vendor_completions.d
# systemd-tmpfiles reads /usr/lib, /usr/local/lib, /run and /etc tmpfiles.d
# only (tmpfiles.d(5)): under another PREFIX the snippet goes to /etc.
TMPFILESDIR   ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/tmpfiles.d,$(SYSCONFDIR)/tmpfiles.d)

SWIFT         ?= swift
RELEASE_BIN   := .build/release/breaker-run
BIN           ?= $(RELEASE_BIN)
RELEASE_FULL_BIN := .build/release/breaker-run-full
FULL_BIN      ?= $(dir $(BIN))breaker-run-full
INSTALL       ?= install

# Files in /etc and /var/lib belong to root when root installs.
IS_ROOT := $(filter 0,$(shell id -u))
OWNER := $(if $(IS_ROOT),-o root -g root,)
STATE_GROUP ?= breaker-run

SOURCES := Package.swift $(shell find Sources -type f 2>/dev/null)

.PHONY: all install uninstall clean-completions deb bench bench-quick

all: $(BIN) $(FULL_BIN)

# The release build as shipped: the Swift runtime linked in, and the core a
# static PIE (Package.swift says why it is opt-in).
SWIFT_RELEASE := BREAKER_RUN_STATIC_PIE=1 $(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath

# Rebuilt only when a source is newer than the binaries; one build makes both.
$(RELEASE_BIN) $(RELEASE_FULL_BIN) &: $(SOURCES)
	$(SWIFT_RELEASE)
	@touch $(RELEASE_BIN) $(RELEASE_FULL_BIN)

.build/completions/breaker-run.bash: $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script bash > $@
.build/completions/_breaker-run: $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script zsh > $@
.build/completions/breaker-run.fish: $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script fish > $@

COMPLETIONS := .build/completions/breaker-run.bash .build/completions/_breaker-run .build/completions/breaker-run.fish

install: $(BIN) $(FULL_BIN) $(COMPLETIONS)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/breaker-run $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/breaker-run
	$(INSTALL) -m 0755 $(FULL_BIN) $(DESTDIR)$(LIBEXECDIR)/breaker-run/breaker-run-full
	$(INSTALL) -m 0644 man/breaker-run.1 $(DESTDIR)$(MANDIR)/man1/breaker-run.1
	$(INSTALL) -m 0644 man/breaker-run.yaml.5 $(DESTDIR)$(MANDIR)/man5/breaker-run.yaml.5
	$(INSTALL) -m 0644 .build/completions/breaker-run.bash $(DESTDIR)$(BASHCOMPDIR)/breaker-run
	$(INSTALL) -m 0644 .build/completions/_breaker-run $(DESTDIR)$(ZSHCOMPDIR)/_breaker-run
	$(INSTALL) -m 0644 .build/completions/breaker-run.fish $(DESTDIR)$(FISHCOMPDIR)/breaker-run.fish
	$(INSTALL) -m 0644 packaging/breaker-run.tmpfiles $(DESTDIR)$(TMPFILESDIR)/breaker-run.conf
	cp -R examples/. $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -d -m 0755 $(OWNER) $(DESTDIR)$(SYSCONFDIR)/breaker-run $(DESTDIR)$(SYSCONFDIR)/breaker-run/breakers.d
	@# Never overwrite an operator's configuration.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/breaker-run/breakers.yaml ]; then \
		echo "keeping the existing $(DESTDIR)$(SYSCONFDIR)/breaker-run/breakers.yaml"; \
	else \
		echo "$(INSTALL) -m 0644 $(OWNER) examples/quickstart.yaml $(DESTDIR)$(SYSCONFDIR)/breaker-run/breakers.yaml"; \
		$(INSTALL) -m 0644 $(OWNER) examples/quickstart.yaml $(DESTDIR)$(SYSCONFDIR)/breaker-run/breakers.yaml; \
	fi
ifeq ($(IS_ROOT)$(DESTDIR),0)
	@getent group $(STATE_GROUP) >/dev/null || groupadd -r $(STATE_GROUP) 2>/dev/null || addgroup --system $(STATE_GROUP)
endif
	@# chmod after install: a group's write bit is what makes it shared, set
	@# even on a directory an older install made 0700.
	@if [ -n "$(IS_ROOT)" ] && getent group $(STATE_GROUP) >/dev/null; then \
		$(INSTALL) -d -o root -g $(STATE_GROUP) $(DESTDIR)$(LOCALSTATEDIR)/lib/breaker-run; \
	else \
		$(INSTALL) -d $(OWNER) $(DESTDIR)$(LOCALSTATEDIR)/lib/breaker-run; \
	fi
	chmod 2770 $(DESTDIR)$(LOCALSTATEDIR)/lib/breaker-run

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/breaker-run $(DESTDIR)$(LIBEXECDIR)/breaker-run/breaker-run-full \
		$(DESTDIR)$(MANDIR)/man1/breaker-run.1 $(DESTDIR)$(MANDIR)/man5/breaker-run.yaml.5 \
		$(DESTDIR)$(BASHCOMPDIR)/breaker-run $(DESTDIR)$(ZSHCOMPDIR)/_breaker-run \
		$(DESTDIR)$(FISHCOMPDIR)/breaker-run.fish $(DESTDIR)$(TMPFILESDIR)/breaker-run.conf
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LOCALSTATEDIR)/cache/breaker-run
	@rmdir $(DESTDIR)$(LIBEXECDIR)/breaker-run 2>/dev/null || true
	@echo "left in place: $(DESTDIR)$(SYSCONFDIR)/breaker-run (configuration), $(DESTDIR)$(LOCALSTATEDIR)/lib/breaker-run (state) and the group $(STATE_GROUP)"

# The package: make install with Debian's directories into a staging tree
# (the zsh completion in Debian's vendor directory), then the Debian tools.
DEBDIR := .build/deb

deb: $(BIN) $(FULL_BIN) $(COMPLETIONS)
	rm -rf $(DEBDIR)/root
	$(MAKE) -s install DESTDIR=$(CURDIR)/$(DEBDIR)/root PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var \
		ZSHCOMPDIR=/usr/share/zsh/vendor-completions BIN=$(BIN) FULL_BIN=$(FULL_BIN) > /dev/null
	scripts/build-deb.sh $(DEBDIR)/root $(DEBDIR)

bench:
	bench/run.sh

bench-quick:
	bench/run.sh --quick
