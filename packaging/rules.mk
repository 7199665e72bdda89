# SPDX-License-Identifier: GPL-2.0
#
# Included by the top Makefile: libhmap as a shared library, man pages,
# make install / uninstall, the DKMS source tree and the Debian packages.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib]
#   make uninstall (same variables)
#   make deb        Debian packages into BUILD/deb (dpkg-buildpackage)
#   make dkms-source [DKMS_DEST=BUILD/dkms/hmap-VERSION]

# The one version: libhmap's (libhmap_version(), libhmap.pc, the .so's file
# name), the DKMS package's and the Debian packages'.  The soname changes
# only with the first number.
VERSION		:= $(shell cat $(SRC)/VERSION)
LIB_SOMAJOR	:= $(firstword $(subst ., ,$(VERSION)))
LIBHMAP_SONAME	:= libhmap.so.$(LIB_SOMAJOR)
LIBHMAP_SO	:= $(BUILD)/user/libhmap.so.$(VERSION)
LIBHMAP_PC	:= $(BUILD)/user/libhmap.pc

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
MANDIR		?= $(PREFIX)/share/man
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions

# Distribution builds pass their hardening flags in CPPFLAGS, CFLAGS and
# LDFLAGS (dpkg-buildflags); they apply to every user-space program.
USER_CFLAGS	+= $(CPPFLAGS) $(CFLAGS)
USER_LIBS	+= $(LDFLAGS)

# libhmap's objects serve both the static and the shared library: PIC, and
# nothing visible outside the .so but what libhmap.h marks LIBHMAP_API
# (user/libhmap.map names the same set again, with its version node).
$(LIB_OBJS): USER_CFLAGS += -fPIC -fvisibility=hidden
$(BUILD)/user/libhmap.o: USER_CFLAGS += -DLIBHMAP_VERSION='"$(VERSION)"'
$(BUILD)/user/libhmap.o: $(SRC)/VERSION

$(LIBHMAP_SO): $(LIB_OBJS) $(SRC)/user/libhmap.map
	$(call msg,LINK,$(notdir $@))
	$(Q)$(CC) -shared -Wl,-soname,$(LIBHMAP_SONAME) -Wl,--version-script=$(SRC)/user/libhmap.map \
		-Wl,--no-undefined $(LDFLAGS) -o $@ $(LIB_OBJS) -lbpf -lelf -lz
	$(Q)ln -sfn $(notdir $@) $(BUILD)/user/$(LIBHMAP_SONAME)
	$(Q)ln -sfn $(LIBHMAP_SONAME) $(BUILD)/user/libhmap.so

# libhmap.pc for the PREFIX and LIBDIR of this make run: rewritten only when
# they (or the version) change, so an install with another PREFIX is right.
pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(LIBHMAP_PC): $(SRC)/user/libhmap.pc.in $(SRC)/VERSION FORCE
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_rel,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call pc_rel,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' $< > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

lib: $(BUILD)/user/libhmap.a $(LIBHMAP_SO) $(LIBHMAP_PC)
user: lib

# Every file libhmap is built from, as the compilers see it (selftests/pkg/
# lib_abi.sh checks each is under the library's licence, and that none is a
# kernel-engine header or vmlinux.h), then the headers make install ships.
lib-deps: $(BUILD)/bpf/hmap_admin.skel.h
	@for f in $(LIB_SRCS); do $(CC) $(USER_CFLAGS) -MM $$f || exit 1; done
	@$(CLANG) $(ADMIN_BPF_CFLAGS) -MM $(SRC)/bpf/hmap_admin.bpf.c
	@echo "installed: $(HMAP_HEADERS) $(SRC)/kmod/uapi/hmap.h"
.PHONY: lib-deps

# ---- man pages: doc/NAME.SECTION.md -> BUILD/doc/NAME.SECTION ---------------
MAN_SRCS	:= $(wildcard $(SRC)/doc/*.[1-8].md)
MAN_PAGES	:= $(patsubst $(SRC)/doc/%.md,$(BUILD)/doc/%,$(MAN_SRCS))

$(BUILD)/doc/%: $(SRC)/doc/%.md $(SRC)/doc/md2man.py $(SRC)/VERSION
	$(call msg,MAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)python3 $(SRC)/doc/md2man.py --source "hmap $(VERSION)" $< $@

man: $(MAN_PAGES)
all: lib man

# ---- install -----------------------------------------------------------------
HMAP_HEADERS	:= $(SRC)/user/libhmap.h $(SRC)/bpf/hmap.bpf.h
BASH_COMPLETION	:= $(wildcard $(SRC)/user/hmapctl/bash-completion/hmapctl)
D		:= $(DESTDIR)

# A relative PREFIX would install under the current directory of whatever
# runs make: refuse it (DESTDIR is the way to stage elsewhere).
abs_prefix = $(if $(filter /%,$(PREFIX)),,$(error PREFIX=$(PREFIX) is not an absolute path: pass e.g. PREFIX=/usr/local, and DESTDIR=... to stage the install elsewhere))

install: lib man user
	$(abs_prefix)
	$(Q)test -x $(BUILD)/hmapctl || { echo "error: $(BUILD)/hmapctl was not built (see above)" >&2; exit 1; }
	$(call msg,INSTALL,$(if $(D),$(D) )$(PREFIX))
	$(Q)install -d $(D)$(SBINDIR) $(D)$(LIBDIR) $(D)$(PKGCONFIGDIR) $(D)$(INCLUDEDIR)/hmap/uapi
	$(Q)install -m 0755 $(BUILD)/hmapctl $(D)$(SBINDIR)/hmapctl
	$(Q)install -m 0644 $(LIBHMAP_SO) $(D)$(LIBDIR)/
	$(Q)ln -sfn $(notdir $(LIBHMAP_SO)) $(D)$(LIBDIR)/$(LIBHMAP_SONAME)
	$(Q)ln -sfn $(LIBHMAP_SONAME) $(D)$(LIBDIR)/libhmap.so
	$(Q)install -m 0644 $(BUILD)/user/libhmap.a $(D)$(LIBDIR)/
	$(Q)install -m 0644 $(LIBHMAP_PC) $(D)$(PKGCONFIGDIR)/
	$(Q)install -m 0644 $(HMAP_HEADERS) $(D)$(INCLUDEDIR)/hmap/
	$(Q)install -m 0644 $(SRC)/kmod/uapi/hmap.h $(D)$(INCLUDEDIR)/hmap/uapi/hmap.h
	$(Q)for p in $(MAN_PAGES); do \
		s=$${p##*.}; install -d $(D)$(MANDIR)/man$$s && install -m 0644 $$p $(D)$(MANDIR)/man$$s/ || exit 1; \
	done
ifneq ($(BASH_COMPLETION),)
	$(Q)install -d $(D)$(BASHCOMPDIR)
	$(Q)install -m 0644 $(BASH_COMPLETION) $(D)$(BASHCOMPDIR)/hmapctl
endif

uninstall:
	$(abs_prefix)
	$(call msg,UNINSTALL,$(if $(D),$(D) )$(PREFIX))
	$(Q)rm -f $(D)$(SBINDIR)/hmapctl $(D)$(LIBDIR)/$(notdir $(LIBHMAP_SO)) \
		$(D)$(LIBDIR)/$(LIBHMAP_SONAME) $(D)$(LIBDIR)/libhmap.so $(D)$(LIBDIR)/libhmap.a \
		$(D)$(PKGCONFIGDIR)/libhmap.pc $(D)$(INCLUDEDIR)/hmap/uapi/hmap.h \
		$(addprefix $(D)$(INCLUDEDIR)/hmap/,$(notdir $(HMAP_HEADERS))) \
		$(foreach p,$(MAN_PAGES),$(D)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))) \
		$(D)$(BASHCOMPDIR)/hmapctl
	$(Q)rmdir $(D)$(INCLUDEDIR)/hmap/uapi $(D)$(INCLUDEDIR)/hmap 2>/dev/null || true

# ---- DKMS ----------------------------------------------------------------------
# The DKMS source tree (/usr/src/hmap-VERSION): what make kmod needs, the
# build script and dkms.conf with its version.  Try it from a checkout:
#   make dkms-source DKMS_DEST=/usr/src/hmap-$(cat VERSION) && dkms install hmap/$(cat VERSION)
DKMS_DEST	?= $(BUILD)/dkms-src/hmap-$(VERSION)
DKMS_FILES	:= Makefile Kbuild VERSION LICENSE packaging/rules.mk packaging/dkms/dkms-build.sh \
	kmod/Kbuild $(patsubst $(SRC)/%,%,$(wildcard $(SRC)/kmod/*.[ch] $(SRC)/kmod/uapi/*.h $(SRC)/kmod/scripts/*))

dkms-source:
	$(call msg,DKMS,$(DKMS_DEST))
	$(Q)rm -rf $(DKMS_DEST) && mkdir -p $(DKMS_DEST)
	$(Q)cd $(SRC) && cp -a --parents $(DKMS_FILES) $(DKMS_DEST)/
	$(Q)sed 's/#MODULE_VERSION#/$(VERSION)/' $(SRC)/packaging/dkms/dkms.conf > $(DKMS_DEST)/dkms.conf

# ---- Debian packages -----------------------------------------------------------
# hmap-dkms, hmapctl, libhmap1 and libhmap-dev into BUILD/deb, built by
# dpkg-buildpackage from a copy of the tree (the files git tracks or would
# track), so the checkout gets no debian/tmp and no stray build products.
# The copy builds in its own build/: this make's command-line variables
# (BUILD=... from make check, say) must not reach it through MAKEFLAGS, or
# it would package this tree's objects, built without Debian's flags.
DEB_OUT		:= $(BUILD)/deb
DEB_SRC		:= $(DEB_OUT)/src/hmap-$(VERSION)
DEB_PARALLEL	?= 2

deb:
	$(Q)for t in dpkg-buildpackage dh dh_dkms; do command -v $$t >/dev/null || { \
		echo "error: $$t is missing: run make deps (installs dpkg-dev, debhelper, dh-dkms)" >&2; exit 1; }; done
	$(call msg,COPY,$(DEB_SRC))
	$(Q)rm -rf $(DEB_OUT) && mkdir -p $(DEB_SRC)
	$(Q)if git -C $(SRC) rev-parse --git-dir >/dev/null 2>&1; then \
		cd $(SRC) && git ls-files -z --cached --others --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else \
		tar -C $(SRC) --exclude=./build --exclude=./.git -cf - . | tar -xf - -C $(DEB_SRC); \
	fi
	$(call msg,DEB,dpkg-buildpackage -b (log: $(DEB_OUT)/build.log))
	$(Q)cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		DEB_BUILD_OPTIONS="parallel=$(DEB_PARALLEL) $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -b -us -uc > $(DEB_OUT)/build.log 2>&1 || { \
		tail -n 40 $(DEB_OUT)/build.log >&2; echo "error: dpkg-buildpackage failed: see $(DEB_OUT)/build.log" >&2; exit 1; }
	$(Q)mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.changes $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/
	$(Q)rm -rf $(DEB_OUT)/src
	$(Q)ls -1 $(DEB_OUT)/*.deb | sed 's/^/  DEB      /'

.PHONY: lib man install uninstall deb dkms-source FORCE
FORCE:
