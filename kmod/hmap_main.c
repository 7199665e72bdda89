// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko: Go-map-style hash tables in kernel memory for BPF programs.
 *
 * Tables are created by a SYSCALL BPF program (bpf_hmap_create()) and owned
 * by a descriptor BPF array map that holds a referenced kptr to them; BPF
 * programs reach a table through its handle (bpf_hmap_lookup() and friends);
 * user space opens a table fd through /dev/hmap and maps it read-only.
 *
 * Files: hmap_engine.[ch] the hash table itself (also built as user-space C);
 * hmap_table.c tables, ids, lifetime and the variant registry; hmap_kfunc.c
 * the kfuncs; hmap_dev.c /dev/hmap and table fds; this file, module setup.
 * Locking and RCU rules: hmap_engine.h (data path), hmap.h (lifetime).
 */
#include <linux/module.h>
#include <linux/kernel.h>

#include "hmap_table.h"

static int __init hmap_init(void)
{
	int ret;

	ret = hmap_table_init();
	if (ret)
		return ret;
	ret = hmap_kfunc_register();
	ret = ret ?: hmap_dev_register();
	if (ret)
		goto err_table;
	pr_debug("loaded\n");
	return 0;

err_table:
	hmap_table_exit();
	return ret;
}

static void __exit hmap_exit(void)
{
	hmap_dev_unregister();
	hmap_table_exit();
}

module_init(hmap_init);
module_exit(hmap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Go-map-style hash tables in kernel memory for BPF programs");
MODULE_AUTHOR("hmap developers");
