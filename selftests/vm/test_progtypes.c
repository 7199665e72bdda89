// SPDX-License-Identifier: GPL-2.0
/*
 * Which BPF program types can call hmap's kfuncs on the running kernel, and
 * do they work there.  Each test loads one program of one type
 * (progs/hmap_progtypes.bpf.c), runs it the way that type runs, and checks
 * the count it left in a table.  On a kernel where the type has no kfunc
 * hook (6.1: all but XDP, SCHED_CLS, TRACING and SYSCALL) the test asserts
 * the verifier refuses the kfunc call instead, so the README's support
 * matrix is what this suite observed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"
#include "hmap_progtypes.h"
#include "hmap_progtypes.skel.h"

#define PIN_ROOT	"/sys/fs/bpf/hmap-progtypes"
#define RUNS		20

__attribute__((constructor)) static void require_prerequisites(void)
{
	hmap_require(NULL);
}

/* Kernel version as major * 1000 + minor. */
static int kernel_version(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj * 1000 + min;
}

static char vlog[65536];
static size_t vlog_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (vlog_len < sizeof(vlog) - 1) {
		int n = vsnprintf(vlog + vlog_len, sizeof(vlog) - vlog_len, fmt, ap);

		if (n > 0)
			vlog_len += n < (int)(sizeof(vlog) - vlog_len) ? n : sizeof(vlog) - vlog_len - 1;
	}
	return 0;
}

FIXTURE(pt) {
	struct hmap_progtypes *skel;
	struct hmap_table *t;
	char path[128];
};

FIXTURE_SETUP(pt)
{
	struct hmap_table_create_opts o = { .key_size = 4, .value_size = 8, .capacity = 64 };
	__u32 zero = 0;
	struct hmap_desc d;
	int fd;

	mkdir(PIN_ROOT, 0700);
	snprintf(self->path, sizeof(self->path), PIN_ROOT "/counts");
	unlink(self->path);
	ASSERT_EQ(0, test_create_pinned(self->path, &o, NULL));
	fd = bpf_obj_get(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &zero, &d));
	close(fd);
	ASSERT_EQ(0, hmap_table__open_pinned(self->path, NULL, &self->t));
	self->skel = hmap_progtypes__open();
	ASSERT_NE(NULL, self->skel);
	self->skel->bss->handle = d.handle;
	self->skel->bss->target_tgid = getpid();
}

FIXTURE_TEARDOWN(pt)
{
	hmap_progtypes__destroy(self->skel);
	hmap_table__close(self->t);
	unlink(self->path);
	rmdir(PIN_ROOT);
}

/* Load only @prog.  Returns the load's result; the verifier log (what
 * libbpf printed) is in vlog. */
static int load_only(struct hmap_progtypes *skel, struct bpf_program *prog)
{
	struct bpf_program *p;
	libbpf_print_fn_t old;
	int ret;

	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	vlog_len = 0;
	vlog[0] = 0;
	old = libbpf_set_print(capture_print);
	ret = hmap_progtypes__load(skel);
	libbpf_set_print(old);
	return ret;
}

static __u64 count_of(struct hmap_table *t, __u32 key)
{
	__u64 v = 0;

	return hmap_table__lookup(t, &key, &v) ? 0 : v;
}

/*
 * Load @prog; where @since (major * 1000 + minor) says the kernel has the
 * hook, expect the load to work and return 1 (the caller runs it); else
 * expect the verifier to refuse the kfunc call by name and return 0.
 */
static int load_expect(struct __test_metadata *_metadata, struct hmap_progtypes *skel,
		       struct bpf_program *prog, int since)
{
	int ret = load_only(skel, prog);

	if (kernel_version() >= since) {
		if (ret)
			fprintf(stderr, "%s", vlog);
		EXPECT_EQ(0, ret);
		return ret == 0;
	}
	EXPECT_NE(0, ret);
	/* 6.1: "calling kernel function bpf_hmap_lookup_or_init is not allowed" */
	if (!strstr(vlog, "bpf_hmap_lookup_or_init") || !strstr(vlog, "not allowed"))
		fprintf(stderr, "%s", vlog);
	EXPECT_NE(NULL, strstr(vlog, "bpf_hmap_lookup_or_init"));
	EXPECT_NE(NULL, strstr(vlog, "not allowed"));
	TH_LOG("%s refused on this kernel, as expected", bpf_program__name(prog));
	return 0;
}

/* A 64-byte Ethernet + IPv4 frame. */
static void make_frame(__u8 *pkt)
{
	memset(pkt, 0, 64);
	pkt[12] = 0x08;			/* ETH_P_IP */
	pkt[14] = 0x45;			/* version 4, 5-word header */
	pkt[16] = 0;
	pkt[17] = 50;			/* total length */
	pkt[22] = 64;			/* ttl */
	pkt[23] = IPPROTO_UDP;
}

static void test_run_skb(struct __test_metadata *_metadata, struct hmap_table *t,
			 struct bpf_program *prog, __u32 key)
{
	__u8 pkt[64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = RUNS);

	make_frame(pkt);
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(prog), &o));
	EXPECT_EQ(RUNS, count_of(t, key));
}

/* Attach @prog (kprobe, tracepoint, fentry on getpgid) and call getpgid. */
static void attach_getpgid(struct __test_metadata *_metadata, struct hmap_table *t,
			   struct bpf_program *prog, __u32 key)
{
	struct bpf_link *link = bpf_program__attach(prog);

	ASSERT_NE(NULL, link);
	for (int i = 0; i < RUNS; i++)
		syscall(SYS_getpgid, 0);
	bpf_link__destroy(link);
	EXPECT_EQ(RUNS, count_of(t, key));
}

TEST_F(pt, xdp)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_xdp, 0))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_xdp, PT_XDP);
}

TEST_F(pt, sched_cls)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_sched_cls, 0))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_sched_cls, PT_SCHED_CLS);
}

TEST_F(pt, tracing_fentry)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_tracing, 0))
		attach_getpgid(_metadata, self->t, self->skel->progs.pt_tracing, PT_TRACING);
}

TEST_F(pt, sched_act)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_sched_act, 6012))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_sched_act, PT_SCHED_ACT);
}

TEST_F(pt, cgroup_skb)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_cgroup_skb, 6012))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_cgroup_skb, PT_CGROUP_SKB);
}

TEST_F(pt, socket_filter)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_socket_filter, 6012))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_socket_filter, PT_SOCKET_FILTER);
}

TEST_F(pt, lwt_in)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_lwt_in, 6012))
		test_run_skb(_metadata, self->t, self->skel->progs.pt_lwt_in, PT_LWT);
}

TEST_F(pt, kprobe)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_kprobe, 6012))
		attach_getpgid(_metadata, self->t, self->skel->progs.pt_kprobe, PT_KPROBE);
}

TEST_F(pt, tracepoint)
{
	if (load_expect(_metadata, self->skel, self->skel->progs.pt_tracepoint, 6012))
		attach_getpgid(_metadata, self->t, self->skel->progs.pt_tracepoint, PT_TRACEPOINT);
}

/* cgroup/sock_create on the root cgroup: count the sockets we create. */
TEST_F(pt, cgroup_sock)
{
	struct bpf_link *link;
	int cg, s;

	if (!load_expect(_metadata, self->skel, self->skel->progs.pt_cgroup_sock, 6012))
		return;
	/* The VM boots with no cgroup2 mounted (test_hmap mounts it too). */
	mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	cg = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, cg);
	link = bpf_program__attach_cgroup(self->skel->progs.pt_cgroup_sock, cg);
	ASSERT_NE(NULL, link);
	for (int i = 0; i < RUNS; i++) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		ASSERT_LE(0, s);
		close(s);
	}
	bpf_link__destroy(link);
	close(cg);
	/* Other processes' sockets count too: at least ours. */
	EXPECT_LE(RUNS, count_of(self->t, PT_CGROUP_SOCK));
}

/* sk_skb stream verdict on a sockmap holding the accepted end of a loopback
 * TCP connection: every segment the client sends runs the program. */
TEST_F(pt, sk_skb)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int map, lfd, cfd, afd, key = 0, prog;
	char buf[16] = "hmap";

	if (!load_expect(_metadata, self->skel, self->skel->progs.pt_sk_skb, 6012))
		return;
	system("ip link set lo up 2>/dev/null");
	map = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "pt_sockmap", 4, 4, 1, NULL);
	ASSERT_LE(0, map);
	prog = bpf_program__fd(self->skel->progs.pt_sk_skb);
	ASSERT_EQ(0, bpf_prog_attach(prog, map, BPF_SK_SKB_STREAM_VERDICT, 0));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&a, &alen));
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&a, sizeof(a)));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, bpf_map_update_elem(map, &key, &afd, BPF_ANY));
	for (int i = 0; i < RUNS; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf), send(cfd, buf, sizeof(buf), 0));
		/* One segment at a time: read it back before the next. */
		ASSERT_EQ((ssize_t)sizeof(buf), recv(afd, buf, sizeof(buf), MSG_WAITALL));
	}
	bpf_prog_detach2(prog, map, BPF_SK_SKB_STREAM_VERDICT);
	close(afd);
	close(cfd);
	close(lfd);
	close(map);
	EXPECT_EQ(RUNS, count_of(self->t, PT_SK_SKB));
}

/* bpf_hmap_stats() writes: never from tc (a cloned packet), fine from XDP. */
TEST_F(pt, stats_only_where_packets_are_writable)
{
	__u8 pkt[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .data_out = pkt, .data_size_out = sizeof(pkt));

	EXPECT_NE(0, load_only(self->skel, self->skel->progs.pt_tc_stats));
	EXPECT_NE(NULL, strstr(vlog, "bpf_hmap_stats"));
	EXPECT_NE(NULL, strstr(vlog, "not allowed"));
	hmap_progtypes__destroy(self->skel);
	self->skel = hmap_progtypes__open();
	ASSERT_NE(NULL, self->skel);
	self->skel->bss->handle = 1;	/* unknown: st is zeroed, -EBADF */
	ASSERT_EQ(0, load_only(self->skel, self->skel->progs.pt_xdp_stats));
	memset(pkt, 0xa5, sizeof(pkt));
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(self->skel->progs.pt_xdp_stats), &o));
	EXPECT_EQ(XDP_PASS, o.retval);
	EXPECT_EQ(0, pkt[0]);		/* the kernel wrote the (zeroed) stats there */
}

HMAP_TEST_MAIN
