// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko's file interface: /dev/hmap (a table fd by id, the next id,
 * module statistics) and table fds (read-only mmap of the shared header and
 * bucket arrays, element ioctls, info).  Process context throughout; the
 * element ioctls reach the data path under rcu_read_lock(), as BPF's map
 * syscalls do.  The UAPI: uapi/hmap.h.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/miscdevice.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/compat.h>

#include "hmap_table.h"

/* ---- table fd: mmap and ioctls ------------------------------------------ */

static void hmap_vm_open(struct vm_area_struct *vma)
{
	hmap_get(vma->vm_private_data);
}

static void hmap_vm_close(struct vm_area_struct *vma)
{
	hmap_put(vma->vm_private_data);
}

static const struct vm_operations_struct hmap_vm_ops = {
	.open	= hmap_vm_open,
	.close	= hmap_vm_close,
};

/**
 * hmap_mmap_vmalloc - map part of a vmalloc area read-only, holding @t
 * @t: the table; a mapping holds a reference until unmapped
 * @vma: from the mmap call; its offset was already matched to @base
 * @base: vmalloc'ed, page aligned
 * @size: bytes at @base that may be mapped
 *
 * Context: process context, mmap lock held.
 * Return: 0; -EINVAL mapping longer than @size; -EPERM writable mapping.
 */
int hmap_mmap_vmalloc(struct hmap *t, struct vm_area_struct *vma, void *base, u64 size)
{
	unsigned long len = vma->vm_end - vma->vm_start, off;
	int ret;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (len > PAGE_ALIGN(size))
		return -EINVAL;
	hmap_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE);
	for (off = 0; off < len; off += PAGE_SIZE) {
		ret = vm_insert_page(vma, vma->vm_start + off, vmalloc_to_page(base + off));
		if (ret)
			return ret;
	}
	vma->vm_ops = &hmap_vm_ops;
	vma->vm_private_data = t;
	hmap_get(t);
	return 0;
}
EXPORT_SYMBOL_GPL(hmap_mmap_vmalloc);

static int hmap_table_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hmap *t = file->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (off == 0)
		return hmap_mmap_vmalloc(t, vma, t->shm, PAGE_SIZE);
	if (t->ops)
		return t->ops->mmap(t, vma);
	if (off == t->shm->arrays[0].mmap_offset)
		return hmap_mmap_vmalloc(t, vma, t->array, t->layout.array_bytes);
	return -EINVAL;
}

static long hmap_ioctl_elem(struct file *file, struct hmap *t, unsigned int cmd,
			    void __user *uarg)
{
	struct hmap_ioc_elem req;
	u32 ksz = t->shm->key_size, vsz = t->shm->value_size;
	void *key = NULL, *val = NULL;
	long ret;

	/* As a BPF map fd: writes need an fd opened for writing. */
	if (cmd != HMAP_IOC_LOOKUP && !(file->f_mode & FMODE_WRITE))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.key_size != ksz || (cmd != HMAP_IOC_DELETE && req.value_size != vsz) ||
	    (cmd == HMAP_IOC_UPDATE ? req.flags > HMAP_EXIST : req.flags))
		return -EINVAL;
	key = memdup_user(u64_to_user_ptr(req.key), ksz);
	if (IS_ERR(key))
		return PTR_ERR(key);
	if (cmd != HMAP_IOC_DELETE) {
		val = cmd == HMAP_IOC_UPDATE ? memdup_user(u64_to_user_ptr(req.value), vsz)
					     : kmalloc(vsz, GFP_KERNEL);
		if (IS_ERR_OR_NULL(val)) {
			ret = val ? PTR_ERR(val) : -ENOMEM;
			val = NULL;
			goto out;
		}
	}

	switch (cmd) {
	case HMAP_IOC_LOOKUP:
		/* A consistent copy: under the stripe lock, not a racy memcpy. */
		rcu_read_lock();
		if (t->ops)
			ret = t->ops->lookup_copy(t, key, val);
		else
			ret = hmap_tab_lookup_copy(&t->tab, key, hmap_tab_hash(&t->tab, key), val);
		if (!ret)
			this_cpu_inc(t->pcpu->hits);
		else
			this_cpu_inc(t->pcpu->misses);
		rcu_read_unlock();
		if (!ret && copy_to_user(u64_to_user_ptr(req.value), val, vsz))
			ret = -EFAULT;
		break;
	case HMAP_IOC_UPDATE:
		rcu_read_lock();
		ret = hmap_do_update(t, key, val, req.flags, NULL);
		rcu_read_unlock();
		break;
	default:
		rcu_read_lock();
		ret = hmap_do_delete(t, key);
		rcu_read_unlock();
	}
out:
	kfree(val);
	kfree(key);
	return ret;
}

static long hmap_table_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hmap *t = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmap_info info;

	switch (cmd) {
	case HMAP_IOC_INFO:
		memset(&info, 0, sizeof(info));
		info.id = t->id;
		info.variant = t->variant;
		info.key_size = t->shm->key_size;
		info.value_size = t->shm->value_size;
		info.handle = t->handle;
		info.bytes = t->bytes;
		hmap_stats_read(t, &info.stats);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	case HMAP_IOC_LOOKUP:
	case HMAP_IOC_UPDATE:
	case HMAP_IOC_DELETE:
		return hmap_ioctl_elem(file, t, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static int hmap_table_release(struct inode *inode, struct file *file)
{
	hmap_put(file->private_data);
	return 0;
}

static const struct file_operations hmap_table_fops = {
	.owner		= THIS_MODULE,
	.mmap		= hmap_table_mmap,
	.unlocked_ioctl	= hmap_table_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,	/* every argument is fixed-size, u64 pointers */
	.release	= hmap_table_release,
	.llseek		= noop_llseek,
};

/* ---- /dev/hmap ---------------------------------------------------------- */

static long hmap_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct hmap_ioc_modstats ms;
	struct hmap_ioc_next_id nid;
	struct hmap_ioc_fd req;
	struct hmap *t;
	int fd;

	switch (cmd) {
	case HMAP_IOC_TABLE_FD:
		/* As bpf_map_get_fd_by_id() on 6.1 and 6.12: ids are global,
		 * so opening by id needs CAP_SYS_ADMIN. */
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&req, uarg, sizeof(req)))
			return -EFAULT;
		if (req.flags & ~HMAP_FD_RDONLY)
			return -EINVAL;
		t = hmap_get_by_id(req.id);
		if (!t)
			return -ENOENT;
		fd = anon_inode_getfd("hmap-table", &hmap_table_fops, t, O_CLOEXEC |
				      (req.flags & HMAP_FD_RDONLY ? O_RDONLY : O_RDWR));
		if (fd < 0)
			hmap_put(t);
		return fd;
	case HMAP_IOC_NEXT_ID:
		if (copy_from_user(&nid, uarg, sizeof(nid)))
			return -EFAULT;
		if (nid.start_id >= INT_MAX)
			return -ENOENT;
		nid.next_id = hmap_next_id_after(nid.start_id);
		if (!nid.next_id)
			return -ENOENT;
		return copy_to_user(uarg, &nid, sizeof(nid)) ? -EFAULT : 0;
	case HMAP_IOC_MODSTATS:
		hmap_modstats_read(&ms);
		return copy_to_user(uarg, &ms, sizeof(ms)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hmap_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= hmap_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice hmap_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= HMAP_DEV_NAME,
	.fops	= &hmap_dev_fops,
	.mode	= 0600,
};

/* Context: module init. */
int __init hmap_dev_register(void)
{
	return misc_register(&hmap_miscdev);
}

/* Context: module exit. */
void __exit hmap_dev_unregister(void)
{
	misc_deregister(&hmap_miscdev);
}
