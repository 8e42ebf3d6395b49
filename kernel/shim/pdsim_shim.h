/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — the userspace stand-in for the kernel headers that the persistent-data library,
 * dm-thin-metadata.c and dm-cache-metadata.c include (../shared/spec/kernel-engine.md §2). C only:
 * it defines macros such as min() and list_for_each_entry() that must never reach C++.
 *
 * Written from the documented semantics: BUG_ON traps into the harness (pdsim_kernel_bug throws
 * through the C frames, which are built with -fexceptions, so a kernel BUG fails the run instead of
 * the process); list_del checks its links like a CONFIG_DEBUG_LIST kernel; locks are counters
 * (runs are single-threaded; rwsem_is_locked must still tell the truth); allocation is malloc.
 */
#ifndef PDSIM_KERNEL_SHIM_H
#define PDSIM_KERNEL_SHIM_H

#ifdef __cplusplus
#error "the kernel shim is for the kernel's C files only"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <limits.h>

#include "kernel/kernel_c_api.h" /* bufio, bdev_*, allocation, crc32c, traps, logging */

/* ---- types and annotations ---- */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int32_t __s32;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
typedef uint64_t sector_t;
typedef unsigned int gfp_t;
typedef long ssize_t;

#define __bitwise
#define __force
#define __packed __attribute__((packed))
#define __acquires(x)
#define __releases(x)
#define __must_check
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define BITS_PER_LONG (8 * (int)sizeof(long))
#define SECTOR_SHIFT 9

/* ---- errno (Linux values) ---- */
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define ENOMEM 12
#define ENOTBLK 15
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ENOSPC 28
#define ENODATA 61
#define EILSEQ 84
#define EWOULDBLOCK 11
#define EOPNOTSUPP 95
#define MAX_ERRNO 4095

/* ---- traps and logging (kernel/support.cc) ---- */

#define BUG() pdsim_kernel_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(c) do { if (unlikely(c)) pdsim_kernel_bug(__FILE__, __LINE__, #c); } while (0)
#define WARN_ON(c) ({ int pdsim_w_ = !!(c); if (unlikely(pdsim_w_)) pdsim_kernel_log("warn", "WARN_ON(%s) at %s:%d", #c, __FILE__, __LINE__); unlikely(pdsim_w_); })
#define BUILD_BUG_ON(c) _Static_assert(!(c), "BUILD_BUG_ON(" #c ")")

#define DMERR(fmt, ...) pdsim_kernel_log("err", DM_MSG_PREFIX ": " fmt, ##__VA_ARGS__)
#define DMERR_LIMIT(fmt, ...) DMERR(fmt, ##__VA_ARGS__)
#define DMWARN(fmt, ...) pdsim_kernel_log("warn", DM_MSG_PREFIX ": " fmt, ##__VA_ARGS__)
#define DMINFO(fmt, ...) pdsim_kernel_log("info", DM_MSG_PREFIX ": " fmt, ##__VA_ARGS__)
#define DMEMIT(fmt, ...) do { } while (0)

/* ---- module/export ---- */
#define EXPORT_SYMBOL_GPL(sym) extern int pdsim_exported_symbol_
#define EXPORT_SYMBOL(sym) extern int pdsim_exported_symbol_
#define MODULE_LICENSE(x) extern int pdsim_module_info_
#define MODULE_AUTHOR(x) extern int pdsim_module_info_
#define MODULE_DESCRIPTION(x) extern int pdsim_module_info_

/* ---- helpers ---- */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define min(a, b) ({ __typeof__(a) pdsim_a_ = (a); __typeof__(b) pdsim_b_ = (b); pdsim_a_ < pdsim_b_ ? pdsim_a_ : pdsim_b_; })
#define max(a, b) ({ __typeof__(a) pdsim_a_ = (a); __typeof__(b) pdsim_b_ = (b); pdsim_a_ > pdsim_b_ ? pdsim_a_ : pdsim_b_; })
#define min_t(t, a, b) ({ t pdsim_a_ = (a); t pdsim_b_ = (b); pdsim_a_ < pdsim_b_ ? pdsim_a_ : pdsim_b_; })
#define max_t(t, a, b) ({ t pdsim_a_ = (a); t pdsim_b_ = (b); pdsim_a_ > pdsim_b_ ? pdsim_a_ : pdsim_b_; })
#define do_div(n, base) ({ uint32_t pdsim_base_ = (base); uint32_t pdsim_rem_ = (uint32_t)((n) % pdsim_base_); (n) = (n) / pdsim_base_; pdsim_rem_; })
static inline u64 div_u64(u64 dividend, u32 divisor) { return dividend / divisor; }
#define dm_div_up(n, sz) (((n) + (sz) - 1) / (sz))
/* rounds up without touching n (unlike do_div) */
#define dm_sector_div_up(n, sz) ({ sector_t pdsim_n_ = (n); sector_t pdsim_s_ = (sz); (pdsim_n_ + pdsim_s_ - 1) / pdsim_s_; })
static inline u64 hash_64(u64 val, unsigned int bits) { return (val * 0x61C8864680B583EBull) >> (64 - bits); }

/* ---- error pointers ---- */
#define IS_ERR_VALUE(x) unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }

/* ---- byte order (x86-64 and every host we build on is little-endian; checked at build) ---- */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the kernel shim's byte-order helpers assume a little-endian host"
#endif
#define cpu_to_le16(x) ((__le16)(x))
#define cpu_to_le32(x) ((__le32)(x))
#define cpu_to_le64(x) ((__le64)(x))
#define le16_to_cpu(x) ((u16)(x))
#define le32_to_cpu(x) ((u32)(x))
#define le64_to_cpu(x) ((u64)(x))
static inline void le32_add_cpu(__le32 *var, u32 val) { *var = cpu_to_le32(le32_to_cpu(*var) + val); }
static inline void le64_add_cpu(__le64 *var, u64 val) { *var = cpu_to_le64(le64_to_cpu(*var) + val); }

/* ---- memory (kernel/support.cc; a failure injected there returns NULL) ---- */
#define GFP_KERNEL 0u
#define GFP_NOFS 0u
#define GFP_NOIO 0u
#define GFP_NOWAIT 0u
#define __GFP_NOWARN 0u
#define kmalloc(size, flags) pdsim_kmalloc((size), false)
#define kzalloc(size, flags) pdsim_kmalloc((size), true)
#define kcalloc(n, size, flags) pdsim_kmalloc((n) * (size), true)
#define kmalloc_array(n, size, flags) pdsim_kmalloc((n) * (size), false)
#define kvmalloc(size, flags) pdsim_kmalloc((size), false)
#define kvzalloc(size, flags) pdsim_kmalloc((size), true)
#define vzalloc(size) pdsim_kmalloc((size), true)
#define vmalloc(size) pdsim_kmalloc((size), false)
#define kfree(p) pdsim_kfree(p)
#define kvfree(p) pdsim_kfree(p)
#define vfree(p) pdsim_kfree(p)

/* ---- locks: counters; runs are single-threaded ---- */
typedef struct { int held; } spinlock_t;
#define DEFINE_SPINLOCK(x) spinlock_t x = { 0 }
#define spin_lock_init(l) ((l)->held = 0)
#define spin_lock(l) ((l)->held++)
#define spin_unlock(l) ((l)->held--)
struct mutex { int held; };
#define DEFINE_MUTEX(x) struct mutex x = { 0 }
#define mutex_init(m) ((m)->held = 0)
#define mutex_lock(m) do { BUG_ON((m)->held); (m)->held = 1; } while (0)
#define mutex_unlock(m) do { BUG_ON(!(m)->held); (m)->held = 0; } while (0)
struct rw_semaphore { int readers; int writer; };
#define init_rwsem(s) do { (s)->readers = 0; (s)->writer = 0; } while (0)
#define down_read(s) do { BUG_ON((s)->writer); (s)->readers++; } while (0)
#define up_read(s) do { BUG_ON((s)->readers <= 0); (s)->readers--; } while (0)
#define down_write(s) do { BUG_ON((s)->writer || (s)->readers); (s)->writer = 1; } while (0)
#define up_write(s) do { BUG_ON(!(s)->writer); (s)->writer = 0; } while (0)
#define rwsem_is_locked(s) ((s)->readers > 0 || (s)->writer)
typedef struct { int refs; } refcount_t;
#define refcount_set(r, n) ((r)->refs = (n))
#define refcount_inc(r) ((r)->refs++)
#define refcount_read(r) ((r)->refs)
#define refcount_dec_and_test(r) (--(r)->refs == 0)

/* ---- lists (with CONFIG_DEBUG_LIST's checks) ---- */
struct list_head { struct list_head *next, *prev; };
struct hlist_head { struct hlist_node *first; };
struct hlist_node { struct hlist_node *next, **pprev; };
#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void list_add(struct list_head *n, struct list_head *head)
{
	BUG_ON(head->next->prev != head);
	n->next = head->next; n->prev = head; head->next->prev = n; head->next = n;
}
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	BUG_ON(head->prev->next != head);
	n->next = head; n->prev = head->prev; head->prev->next = n; head->prev = n;
}
static inline void list_del(struct list_head *e)
{
	BUG_ON(!e->next || !e->prev || e->next->prev != e || e->prev->next != e);
	e->next->prev = e->prev; e->prev->next = e->next; e->next = NULL; e->prev = NULL;
}
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_for_each_entry(pos, head, member) \
	for (pos = list_first_entry(head, __typeof__(*pos), member); &pos->member != (head); pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member) \
	for (pos = list_first_entry(head, __typeof__(*pos), member), n = list_next_entry(pos, member); \
	     &pos->member != (head); pos = n, n = list_next_entry(n, member))
#define INIT_HLIST_HEAD(h) ((h)->first = NULL)
static inline void hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	n->next = h->first; if (h->first) h->first->pprev = &n->next; h->first = n; n->pprev = &h->first;
}
#define hlist_entry_safe(ptr, type, member) ({ __typeof__(ptr) pdsim_p_ = (ptr); pdsim_p_ ? container_of(pdsim_p_, type, member) : NULL; })
#define hlist_for_each_entry(pos, head, member) \
	for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member); pos; \
	     pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), member))
#define hlist_for_each_entry_safe(pos, n, head, member) \
	for (pos = hlist_entry_safe((head)->first, __typeof__(*pos), member); \
	     pos && ({ n = pos->member.next; 1; }); pos = hlist_entry_safe(n, __typeof__(*pos), member))

/* ---- bit operations on arrays of unsigned long ---- */
#define BIT_WORD(nr) ((nr) / BITS_PER_LONG)
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))
static inline void set_bit(long nr, volatile unsigned long *a) { a[BIT_WORD(nr)] |= BIT_MASK(nr); }
static inline void clear_bit(long nr, volatile unsigned long *a) { a[BIT_WORD(nr)] &= ~BIT_MASK(nr); }
static inline void __set_bit(long nr, volatile unsigned long *a) { set_bit(nr, a); }
static inline void __clear_bit(long nr, volatile unsigned long *a) { clear_bit(nr, a); }
static inline bool test_bit(long nr, const volatile unsigned long *a) { return (a[BIT_WORD(nr)] >> (nr % BITS_PER_LONG)) & 1; }
/* little-endian host: the _le variants are the plain ones */
static inline bool test_bit_le(long nr, const void *a) { return test_bit(nr, (const unsigned long *)a); }
static inline void __set_bit_le(long nr, void *a) { set_bit(nr, (unsigned long *)a); }
static inline void __clear_bit_le(long nr, void *a) { clear_bit(nr, (unsigned long *)a); }
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)


struct module;
#define THIS_MODULE ((struct module *)0)

#endif
