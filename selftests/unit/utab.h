/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fixed table as hmap.ko makes one (exact layout), on the heap, for the
 * host tests of the engine (engine_test, lookup_race_test).
 */
#ifndef _UTAB_H
#define _UTAB_H

#include <stdlib.h>
#include <string.h>

#include "hmap_engine.h"

struct utab {
	struct hmap_layout l;
	struct hmap_tab t;
	void *mem;
	u8 *locks;
	u64 entries;
};

static inline int utab_create(struct utab *u, u32 ksz, u32 vsz, u64 cap, u64 seed)
{
	hmap_seed_t s = { { seed * 0x9e3779b97f4a7c15ULL, ~seed } };
	struct hmap_locks locks;
	int ret;

	memset(u, 0, sizeof(*u));
	ret = hmap_layout_init_exact(&u->l, ksz, vsz, cap, 1ULL << 32);	/* as hmap.ko */
	if (ret)
		return ret;
	if (posix_memalign(&u->mem, PAGE_SIZE, u->l.array_bytes))
		return -ENOMEM;
	memset(u->mem, 0, u->l.array_bytes);
	u->locks = calloc(u->l.nlocks, 1);
	if (!u->locks) {
		free(u->mem);
		return -ENOMEM;
	}
	locks.lock = u->locks;
	hmap_tab_init(&u->t, &u->l, u->mem, &u->entries, &s, &locks);
	return 0;
}

/* The header page of a fixed table as hmap_create() fills it (one array, at
 * mmap offset PAGE_SIZE), for readers of a table built on the host. */
static inline void utab_fill_shm(struct hmap_shm_header *shm, const struct hmap_layout *l,
				 const hmap_seed_t *seed)
{
	shm->magic = HMAP_SHM_MAGIC;
	shm->abi_version = HMAP_ABI_VERSION;
	shm->id = 1;
	shm->variant = HMAP_VARIANT_FIXED;
	shm->key_size = l->key_size;
	shm->value_size = l->value_size;
	shm->key_stride = l->key_stride;
	shm->value_stride = l->value_stride;
	shm->bucket_size = l->bucket_size;
	shm->keys_offset = l->keys_off;
	shm->values_offset = l->values_off;
	shm->seed[0] = seed->key[0];
	shm->seed[1] = seed->key[1];
	shm->capacity = l->capacity;
	shm->narrays = 1;
	shm->arrays[0].mmap_offset = PAGE_SIZE;
	shm->arrays[0].mmap_size = l->array_bytes;
	shm->arrays[0].nbuckets = l->nbuckets;
	shm->arrays[0].noverflow = l->noverflow;
}

static inline void utab_destroy(struct utab *u)
{
	free(u->mem);
	free(u->locks);
}

#endif /* _UTAB_H */
