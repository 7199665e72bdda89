/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compatibility across kernels: the module targets Debian 12's 6.1 and also
 * builds on newer trees, where kfunc declarations and vm_flags changed.
 */
#ifndef _HMAP_COMPAT_H
#define _HMAP_COMPAT_H

#include <linux/version.h>
#include <linux/btf_ids.h>
#include <linux/mm.h>

/* 6.5 added __bpf_kfunc: keep the symbol and its BTF, never inline it. */
#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline
#endif

/* 6.7 added these around kfunc definitions (no prototypes by design). */
#ifndef __bpf_kfunc_start_defs
#define __bpf_kfunc_start_defs()					\
	__diag_push();							\
	__diag_ignore_all("-Wmissing-prototypes",			\
			  "Global kfuncs as their definitions will be in BTF")
#define __bpf_kfunc_end_defs() __diag_pop()
#endif

/* 6.9 renamed the kfunc set markers. */
#ifdef BTF_KFUNCS_START
#define HMAP_KFUNCS_START(name)	BTF_KFUNCS_START(name)
#define HMAP_KFUNCS_END(name)	BTF_KFUNCS_END(name)
#else
#define HMAP_KFUNCS_START(name)	BTF_SET8_START(name)
#define HMAP_KFUNCS_END(name)	BTF_SET8_END(name)
#endif

/*
 * CFI_NOSEAL (6.5, linux/cfi.h): keep a function's ENDBR when the kernel
 * calls it indirectly through a pointer C never takes (a kptr destructor).
 */
#if __has_include(<linux/cfi.h>)
#include <linux/cfi.h>
#endif
#ifndef CFI_NOSEAL
#if defined(CONFIG_X86_KERNEL_IBT)
#include <asm/ibt.h>
#include <linux/stringify.h>
#define CFI_NOSEAL(x)	asm(IBT_NOSEAL(__stringify(x)))
#else
#define CFI_NOSEAL(x)
#endif
#endif

/* 6.3 made vm_flags read-only behind helpers. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void hmap_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#else
static inline void hmap_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vm_flags_mod(vma, set, clear);
}
#endif

#endif /* _HMAP_COMPAT_H */
