// SPDX-License-Identifier: GPL-2.0
/* hmapctl attach and detach: XDP, tc (tcx or cls_bpf) and fentry. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "common.h"

static int ifindex_of(const char *dev)
{
	int idx = if_nametoindex(dev);

	if (!idx)
		fail("no network device '%s' (see 'ip link')", dev);
	return idx;
}

int do_attach(int argc, char **argv)
{
	char prog_name[256], path[PATH_MAX];
	const char *kind, *mode = "native";
	int fd, link, ret, ifindex, a;

	if (want_help(argc, argv))
		return help(current);
	for (a = 1; a < argc; a++)
		if (!strcmp(argv[a], "--mode")) {
			if (a + 1 >= argc)
				return usage_error("--mode takes native or generic");
			mode = argv[a + 1];
			memmove(&argv[a], &argv[a + 2], (argc - a - 2) * sizeof(char *));
			argc -= 2;
			break;
		}
	if (strcmp(mode, "native") && strcmp(mode, "generic"))
		return usage_error("--mode takes native or generic, not '%s'", mode);
	if (argc < 2)
		return usage_error("attach what? xdp, tc or fentry (see 'hmapctl attach --help')");
	kind = argv[1];
	if (require_bpffs(LINK_ROOT))
		return EXIT_FAILURE;

	if (!strcmp(kind, "xdp")) {
		LIBBPF_OPTS(bpf_link_create_opts, lo);

		if (argc != 4)
			return usage_error("usage: hmapctl attach xdp DEV PROG [--mode native|generic]");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/xdp-%s", argv[2]);
		if (access(path, F_OK) == 0)
			return fail("an hmapctl XDP program is already attached to %s: run "
				    "'hmapctl detach xdp %s' first", argv[2], argv[2]);
		fd = prog_fd_by_ref(argv[3], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		lo.flags = !strcmp(mode, "generic") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
		link = bpf_link_create(fd, ifindex, BPF_XDP, &lo);
		close(fd);
		if (link < 0) {
			ret = -errno;
			if (ret == -EBUSY || ret == -EEXIST)
				return fail("%s already has an XDP program: detach it first "
					    "('ip link set dev %s xdp off')", argv[2], argv[2]);
			if (ret == -EOPNOTSUPP || ret == -EINVAL)
				return fail("cannot attach in %s mode on %s (%s): try --mode generic",
					    mode, argv[2], strerror(-ret));
			return fail("cannot attach to %s: %s", argv[2], perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
		}
	} else if (!strcmp(kind, "tc")) {
		bool ingress;

		if (argc != 5 || (strcmp(argv[3], "ingress") && strcmp(argv[3], "egress")))
			return usage_error("usage: hmapctl attach tc DEV ingress|egress PROG");
		ingress = !strcmp(argv[3], "ingress");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/tcx-%s-%s", argv[2], argv[3]);
		if (access(path, F_OK) == 0)
			return fail("an hmapctl tc program is already on %s %s: run "
				    "'hmapctl detach tc %s %s' first", argv[2], argv[3], argv[2], argv[3]);
		fd = prog_fd_by_ref(argv[4], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		/*
		 * tcx (6.6 on): a BPF link, pinned like XDP's, that bpftool net
		 * lists and that goes away with its pin.  A kernel without tcx
		 * knows no such attach type (EINVAL): then a cls_bpf filter on
		 * a clsact qdisc, which belongs to the qdisc and needs no pin.
		 */
		link = bpf_link_create(fd, ifindex, ingress ? HMAP_BPF_TCX_INGRESS : HMAP_BPF_TCX_EGRESS, NULL);
		if (link < 0 && errno != EINVAL) {
			ret = -errno;
			close(fd);
			return fail("cannot attach to %s %s: %s", argv[2], argv[3],
				    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
		}
		if (link >= 0) {
			close(fd);
		} else {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
			LIBBPF_OPTS(bpf_tc_opts, to, .handle = HMAP_TC_HANDLE,
				    .priority = HMAP_TC_PRIO, .prog_fd = fd);

			ret = bpf_tc_hook_create(&hook);
			if (ret && ret != -EEXIST) {
				close(fd);
				return fail("cannot add a clsact qdisc to %s: %s", argv[2],
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
			}
			ret = bpf_tc_attach(&hook, &to);
			close(fd);
			if (ret == -EEXIST)
				return fail("an hmapctl tc program is already on %s %s: run "
					    "'hmapctl detach tc %s %s' first", argv[2], argv[3], argv[2], argv[3]);
			if (ret)
				return fail("cannot attach to %s %s: %s", argv[2], argv[3],
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
			/* tc filters belong to the qdisc and outlive hmapctl without a pin. */
			snprintf(path, sizeof(path), "tc filter on %s %s (handle 0x%x, pref %u)",
				 argv[2], argv[3], HMAP_TC_HANDLE, HMAP_TC_PRIO);
		}
	} else if (!strcmp(kind, "fentry")) {
		if (argc != 3)
			return usage_error("usage: hmapctl attach fentry PROG");
		fd = prog_fd_by_ref(argv[2], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/fentry-%s", prog_name);
		if (access(path, F_OK) == 0) {
			close(fd);
			return fail("'%s' is already attached: run 'hmapctl detach fentry %s' first",
				    prog_name, prog_name);
		}
		link = bpf_raw_tracepoint_open(NULL, fd);
		ret = -errno;
		close(fd);
		if (link < 0)
			return fail("cannot attach '%s': %s (is it an fentry program?)", prog_name,
				    perm_hint(ret, NEED_ATTACH_TRACE) ?: strerror(-ret));
	} else {
		return usage_error("cannot attach to '%s': xdp, tc or fentry", kind);
	}

	if (link >= 0) {
		ret = bpf_obj_pin(link, path);
		ret = ret ? -errno : 0;
		close(link);	/* the pin keeps it; on failure this detaches again */
		if (ret)
			return fail("cannot pin the link at %s: %s", path, strerror(-ret));
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("attached", prog_name);
		jw_str(link >= 0 ? "link" : "where", path);
		jw_close('}');
	} else {
		printf("attached %s: %s\n", prog_name, path);
	}
	return EXIT_SUCCESS;
}

int do_detach(int argc, char **argv)
{
	char path[PATH_MAX], what[256];
	int fd;

	if (want_help(argc, argv))
		return help(current);
	if (argc >= 4 && !strcmp(argv[1], "tc")) {
		int ifindex, ret;

		if (argc != 4 || (strcmp(argv[3], "ingress") && strcmp(argv[3], "egress")))
			return usage_error("usage: hmapctl detach tc DEV ingress|egress");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/tcx-%s-%s", argv[2], argv[3]);
		fd = -1;
		if (!access(path, F_OK)) {
			if (pinned_kind(path, what, sizeof(what)) != OBJ_LINK)
				return fail("%s is %s, not a link hmapctl made: left alone", path, what);
			fd = bpf_obj_get(path);
		}
		if (fd >= 0) {		/* attached with tcx */
			bpf_link_detach(fd);
			close(fd);
			if (unlink(path))
				return fail("cannot unpin %s: %s", path, strerror(errno));
		} else {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = strcmp(argv[3], "ingress") ? BPF_TC_EGRESS : BPF_TC_INGRESS);
			LIBBPF_OPTS(bpf_tc_opts, to, .handle = HMAP_TC_HANDLE, .priority = HMAP_TC_PRIO);

			ret = bpf_tc_detach(&hook, &to);
			if (ret == -ENOENT || ret == -EINVAL)
				return fail("no hmapctl tc program on %s %s", argv[2], argv[3]);
			if (ret)
				return fail("cannot detach from %s %s: %s", argv[2], argv[3],
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
		}
		snprintf(path, sizeof(path), "tc %s %s", argv[2], argv[3]);
	} else if (argc == 3 && (!strcmp(argv[1], "xdp") || !strcmp(argv[1], "fentry"))) {
		if (!valid_name(argv[2]))
			return usage_error("'%s' is not a %s", argv[2],
					   strcmp(argv[1], "xdp") ? "program name" : "device name");
		snprintf(path, sizeof(path), LINK_ROOT "/%s-%s", argv[1], argv[2]);
		if (access(path, F_OK))
			return fail("nothing attached by hmapctl: no %s (see 'ls %s')", path, LINK_ROOT);
		if (pinned_kind(path, what, sizeof(what)) != OBJ_LINK)
			return fail("%s is %s, not a link hmapctl made: left alone", path, what);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return fail("cannot open %s: %s", path, strerror(errno));
		bpf_link_detach(fd);
		close(fd);
		if (unlink(path))
			return fail("cannot unpin %s: %s", path, strerror(errno));
	} else {
		return usage_error("usage: hmapctl detach xdp DEV | tc DEV ingress|egress | fentry PROG");
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("detached", path);
		jw_close('}');
	} else {
		printf("detached %s\n", path);
	}
	return EXIT_SUCCESS;
}
