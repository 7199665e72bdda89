/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The thin platform layer under the hmap engine.
 *
 * In the kernel it maps to the real primitives (raw spinlocks with per-CPU
 * re-entry detection, hsiphash, READ_ONCE, smp_*mb).  Built as user-space C
 * (selftests/unit, selftests/bench) it maps to C11-style builtins and a
 * bit-exact copy of the kernel's 64-bit hsiphash (SipHash-1-3), so the engine
 * and user-space mmap readers hash keys exactly as the kernel does.
 */
#ifndef _HMAP_PLATFORM_H
#define _HMAP_PLATFORM_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/percpu.h>
#include <linux/atomic.h>
#include <linux/hardirq.h>
/* 6.12 moved the unaligned accessors to linux/. */
#if __has_include(<linux/unaligned.h>)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif
#include <asm/barrier.h>
#include <asm/processor.h>

typedef hsiphash_key_t hmap_seed_t;

#define HMAP_LOCK_DEPTH_SLOTS	8	/* per-CPU re-entry counters, as upstream htab */

struct hmap_locks {
	raw_spinlock_t *lock;
	u32 mask;
	int __percpu *map_locked[HMAP_LOCK_DEPTH_SLOTS];
};

/* The byte-wise hash (any key size): the kernel's own hsiphash(). */
static __always_inline u32 hmap_plat_hash_bytes(const void *key, u32 len, const hmap_seed_t *seed)
{
	return hsiphash(key, len, seed);
}

static __always_inline u64 hmap_load_le64(const void *p)
{
	return get_unaligned_le64(p);
}

static __always_inline u32 hmap_load_le32(const void *p)
{
	return get_unaligned_le32(p);
}

#define HMAP_HASH_INLINE	(BITS_PER_LONG == 64)	/* hsiphash is SipHash-1-3 there */

/* hmap locks this CPU holds, over every table of both modules (hmap_table.c). */
DECLARE_PER_CPU(int, hmap_locks_held);

/*
 * hmap_plat_lock - take the lock of stripe @idx.
 * Safe from any context, including NMI-driven tracing programs: if this CPU
 * already holds a lock whose re-entry slot matches, return -EBUSY instead of
 * deadlocking (same rule as kernel/bpf/hashtab.c htab_lock_bucket()).
 *
 * It waits for a lock only when this CPU holds no hmap lock at all and is not
 * in NMI; otherwise it only tries (-EBUSY if held).  A BPF program can run
 * while this CPU holds a lock: in NMI, or from a kprobe, fentry or
 * tracepoint on one of hmap's own functions that runs inside a locked
 * section.  If such a program waited for a lock, it could wait for a CPU
 * whose program waits for the lock this CPU holds, both with IRQs off, and
 * neither would ever finish.  A CPU that waits holds nothing, so no wait
 * closes a cycle.
 */
static __always_inline int hmap_plat_lock(struct hmap_locks *l, u32 idx, unsigned long *flags)
{
	u32 slot = idx & (HMAP_LOCK_DEPTH_SLOTS - 1);

	preempt_disable();
	if (unlikely(__this_cpu_inc_return(*l->map_locked[slot]) != 1))
		goto busy;
	/*
	 * Counted from before the lock is taken until after it is released:
	 * a program that runs in between (fexit on the lock function, fentry
	 * on the unlock, tp_btf/contention_begin while spinning) must see this
	 * CPU as holding it, and only try.
	 */
	if (unlikely(this_cpu_inc_return(hmap_locks_held) != 1 || in_nmi())) {
		if (!raw_spin_trylock_irqsave(&l->lock[idx], *flags))
			goto busy_held;
	} else {
		raw_spin_lock_irqsave(&l->lock[idx], *flags);
	}
	return 0;
busy_held:
	this_cpu_dec(hmap_locks_held);
busy:
	__this_cpu_dec(*l->map_locked[slot]);
	preempt_enable();
	return -EBUSY;
}

static __always_inline void hmap_plat_unlock(struct hmap_locks *l, u32 idx, unsigned long flags)
{
	u32 slot = idx & (HMAP_LOCK_DEPTH_SLOTS - 1);

	raw_spin_unlock_irqrestore(&l->lock[idx], flags);
	this_cpu_dec(hmap_locks_held);
	__this_cpu_dec(*l->map_locked[slot]);
	preempt_enable();
}

/* True if this CPU is inside a writer of stripe @idx's slot: a reader that
 * finds an odd seq must not spin, the writer cannot finish under it. */
static __always_inline bool hmap_plat_writer_nested(struct hmap_locks *l, u32 idx)
{
	return this_cpu_read(*l->map_locked[idx & (HMAP_LOCK_DEPTH_SLOTS - 1)]) != 0;
}

#define hmap_publish(p, v)		smp_store_release(&(p), (v))
#define hmap_deref(p)			smp_load_acquire(&(p))
#define hmap_atomic_fetch_inc(p)	((u32)atomic_fetch_inc((atomic_t *)(p)))
#define hmap_atomic64_add(p, v)		atomic64_add((v), (atomic64_t *)(p))

static __always_inline u64 hmap_load64u(const void *p)
{
	return get_unaligned((const u64 *)p);
}

static __always_inline u32 hmap_load32u(const void *p)
{
	return get_unaligned((const u32 *)p);
}

#define hmap_cmpxchg(p, o, n)		cmpxchg((p), (o), (n))
#define hmap_cmpxchg_ptr(p, o, n)	cmpxchg((p), (o), (n))
#define hmap_cmpxchg64(p, o, n)		cmpxchg64((p), (o), (n))
#define hmap_xchg(p, v)			xchg((p), (v))
#define hmap_atomic_add(p, v)		atomic_add((v), (atomic_t *)(p))
#define hmap_atomic_sub(p, v)		atomic_sub((v), (atomic_t *)(p))
#define hmap_atomic64_inc_return(p)	atomic64_inc_return((atomic64_t *)(p))
#define hmap_atomic_inc(p)		atomic_inc((atomic_t *)(p))
#define hmap_atomic_dec(p)		atomic_dec((atomic_t *)(p))
#define hmap_atomic64_dec(p)		atomic64_dec((atomic64_t *)(p))
#define hmap_atomic_fetch_inc_below(p, lim) atomic_fetch_add_unless((atomic_t *)(p), 1, (lim))

#else /* !__KERNEL__: user-space build of the engine */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <linux/types.h>
#include "uapi/hmap.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#ifndef noinline
#define noinline	__attribute__((noinline))
#endif
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#ifndef __aligned
#define __aligned(x)		__attribute__((aligned(x)))
#endif
#define ____cacheline_aligned_in_smp	__aligned(64)	/* allocate with aligned_alloc() */
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax()		__builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax()		__asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax()		__asm__ __volatile__("" ::: "memory")
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE		4096UL
#endif

typedef struct { __u64 key[2]; } hmap_seed_t;

struct hmap_locks {
	u8 *lock;		/* one byte spinlock per stripe */
	u32 mask;
};

static __always_inline u64 hmap_load64u(const void *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

static __always_inline u32 hmap_load32u(const void *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return v;
}

/* The byte-wise hash (any key size): the user-space twin of the kernel's
 * hsiphash in uapi/hmap.h, which every user-space reader of a table's
 * mapping shares. */
static inline u32 hmap_plat_hash_bytes(const void *data, u32 len, const hmap_seed_t *key)
{
	return hmap_key_hash(data, len, key->key);
}

/* uapi/hmap.h's hash is for little-endian 64-bit hosts, as the kernel's. */
static __always_inline u64 hmap_load_le64(const void *p)
{
	return hmap_load64u(p);
}

static __always_inline u32 hmap_load_le32(const void *p)
{
	return hmap_load32u(p);
}

#define HMAP_HASH_INLINE	1

static __always_inline int hmap_plat_lock(struct hmap_locks *l, u32 idx, unsigned long *flags)
{
	(void)flags;
	while (__atomic_test_and_set(&l->lock[idx], __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->lock[idx], __ATOMIC_RELAXED))
			cpu_relax();
	return 0;
}

static __always_inline void hmap_plat_unlock(struct hmap_locks *l, u32 idx, unsigned long flags)
{
	(void)flags;
	__atomic_clear(&l->lock[idx], __ATOMIC_RELEASE);
}

static __always_inline bool hmap_plat_writer_nested(struct hmap_locks *l, u32 idx)
{
	(void)l; (void)idx;
	return false;	/* threads, not interrupts: a writer always finishes */
}

#define hmap_atomic64_inc_return(p)	__atomic_add_fetch((p), 1, __ATOMIC_RELAXED)
#define hmap_atomic64_dec(p)		__atomic_sub_fetch((p), 1, __ATOMIC_RELAXED)
#define hmap_atomic64_add(p, v)		__atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define hmap_atomic_fetch_inc(p)	__atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
#define hmap_publish(p, v)		__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define hmap_atomic_add(p, v)		__atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define hmap_atomic_sub(p, v)		__atomic_sub_fetch((p), (v), __ATOMIC_RELAXED)
#define hmap_xchg(p, v)			__atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define hmap_cmpxchg_ptr(p, o, n) ({						\
	__typeof__(*(p)) __o = (o);						\
	__atomic_compare_exchange_n((p), &__o, (n), false, __ATOMIC_ACQ_REL,	\
				    __ATOMIC_ACQUIRE);				\
	__o;									\
})
static inline u64 hmap_cmpxchg64(u64 *p, u64 old, u64 nv)
{
	__atomic_compare_exchange_n(p, &old, nv, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	return old;
}
#define hmap_atomic_inc(p)		__atomic_add_fetch((p), 1, __ATOMIC_RELAXED)
#define hmap_atomic_dec(p)		__atomic_sub_fetch((p), 1, __ATOMIC_RELAXED)
static inline u32 hmap_cmpxchg(u32 *p, u32 old, u32 nv)
{
	__atomic_compare_exchange_n(p, &old, nv, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	return old;
}
#define hmap_deref(p)			__atomic_load_n(&(p), __ATOMIC_ACQUIRE)

static inline u32 hmap_atomic_fetch_inc_below(u32 *p, u32 lim)
{
	u32 old = __atomic_load_n(p, __ATOMIC_RELAXED);

	do {
		if (old == lim)
			return old;
	} while (!__atomic_compare_exchange_n(p, &old, old + 1, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return old;
}

#endif /* __KERNEL__ */

/* ---- the key hash, both builds --------------------------------------------- */
#include "uapi/hmap.h"	/* HMAP__SIPROUND, shared with user-space readers */

/*
 * A key's hash is the kernel's hsiphash() of its bytes under the table's
 * seed: SipHash-1-3 with a 32-bit result on 64-bit kernels.  Keys of 4, 8,
 * 12 and 16 bytes hash inline, without a call, a word loop or a tail
 * switch: hmap_hsip13() is lib/siphash.c's hsiphash_1u32()..hsiphash_4u32()
 * (BITS_PER_LONG == 64), which hash the same bytes to the same value as
 * hsiphash() (SipHash takes little-endian 64-bit words).  The host tests
 * check it against lib/test_siphash.c's vectors and the byte-wise hash; in
 * the VM every zero-copy lookup checks it against uapi/hmap.h's, whose
 * round (HMAP__SIPROUND) it uses.
 */
/* @nwords whole 64-bit words @m0, @m1, then the last block @b (the length
 * in the top byte, the tail's bytes below). */
static __always_inline u32 hmap_hsip13(const hmap_seed_t *seed, int nwords, u64 m0, u64 m1, u64 b)
{
	u64 v0 = 0x736f6d6570736575ULL ^ seed->key[0];
	u64 v1 = 0x646f72616e646f6dULL ^ seed->key[1];
	u64 v2 = 0x6c7967656e657261ULL ^ seed->key[0];
	u64 v3 = 0x7465646279746573ULL ^ seed->key[1];

	if (nwords > 0) {
		v3 ^= m0;
		HMAP__SIPROUND;
		v0 ^= m0;
	}
	if (nwords > 1) {
		v3 ^= m1;
		HMAP__SIPROUND;
		v0 ^= m1;
	}
	v3 ^= b;
	HMAP__SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	HMAP__SIPROUND;
	HMAP__SIPROUND;
	HMAP__SIPROUND;
	return (u32)((v0 ^ v1) ^ (v2 ^ v3));
}

static __always_inline u32 hmap_plat_hash(const void *key, u32 len, const hmap_seed_t *seed)
{
	const u8 *k = (const u8 *)key;

	if (!HMAP_HASH_INLINE)
		return hmap_plat_hash_bytes(key, len, seed);
	switch (len) {
	case 4:
		return hmap_hsip13(seed, 0, 0, 0, (u64)4 << 56 | hmap_load_le32(k));
	case 8:
		return hmap_hsip13(seed, 1, hmap_load_le64(k), 0, (u64)8 << 56);
	case 12:
		return hmap_hsip13(seed, 1, hmap_load_le64(k), 0,
				   (u64)12 << 56 | hmap_load_le32(k + 8));
	case 16:
		return hmap_hsip13(seed, 2, hmap_load_le64(k), hmap_load_le64(k + 8),
				   (u64)16 << 56);
	default:
		return hmap_plat_hash_bytes(key, len, seed);
	}
}

#endif /* _HMAP_PLATFORM_H */
