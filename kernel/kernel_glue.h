/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — the C entry points of the kernel engine (thin_glue.c, cache_glue.c): the kernel's
 * dm-thin-metadata.h / dm-cache-metadata.h operations in the shape of the engine seam, with plain
 * C types, so the C++ side (kernel_thin_engine.cc, kernel_cache_engine.cc) never sees a kernel
 * header. Every int return is 0 or a negative errno from the kernel's code.
 */
#ifndef PDSIM_KERNEL_GLUE_H
#define PDSIM_KERNEL_GLUE_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

struct block_device;
struct dm_pool_metadata;
struct dm_cache_metadata;

typedef int (*pdsim_kv_fn)(void *ctx, uint64_t key, uint64_t value);

/* ---- thin (thin_glue.c) ---- */
struct dm_pool_metadata *pdsim_thin_open(struct block_device *bdev, uint64_t data_block_size, bool format, int *err);
/* Frees an instance without committing (a crash, or the end of a run): the caller has detached
 * the device first, so nothing reaches the disk. */
void pdsim_thin_drop(struct dm_pool_metadata *pmd);
int pdsim_thin_create_thin(struct dm_pool_metadata *pmd, uint64_t id);
int pdsim_thin_create_snap(struct dm_pool_metadata *pmd, uint64_t id, uint64_t origin);
int pdsim_thin_delete(struct dm_pool_metadata *pmd, uint64_t id);
int pdsim_thin_walk_devices(struct dm_pool_metadata *pmd, pdsim_kv_fn fn, void *ctx);
int pdsim_thin_walk_mappings(struct dm_pool_metadata *pmd, uint64_t id, pdsim_kv_fn fn, void *ctx);
int pdsim_thin_mapped_count(struct dm_pool_metadata *pmd, uint64_t id, uint64_t *result);
int pdsim_thin_alloc_data_block(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_insert(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, uint64_t data_block);
/* Lookups: *found false (and 0) when there is no such mapping; -ENODATA only for a missing device. */
int pdsim_thin_find(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, bool *found, uint64_t *block,
		    bool *shared);
int pdsim_thin_remove_block(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock);
int pdsim_thin_remove_range(struct dm_pool_metadata *pmd, uint64_t id, uint64_t begin, uint64_t end,
			    uint64_t *removed);
int pdsim_thin_next_mapping(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, bool *found, uint64_t *key,
			    uint64_t *block);
int pdsim_thin_highest(struct dm_pool_metadata *pmd, uint64_t id, bool *found, uint64_t *result);
int pdsim_thin_commit(struct dm_pool_metadata *pmd);
int pdsim_thin_abort(struct dm_pool_metadata *pmd);
int pdsim_thin_set_transaction_id(struct dm_pool_metadata *pmd, uint64_t current, uint64_t next);
int pdsim_thin_transaction_id(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_resize_data(struct dm_pool_metadata *pmd, uint64_t nr_blocks);
int pdsim_thin_resize_metadata(struct dm_pool_metadata *pmd, uint64_t nr_blocks);
int pdsim_thin_data_size(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_data_free(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_metadata_size(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_metadata_free(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_metadata_sm_free(struct dm_pool_metadata *pmd, uint64_t *result);
int pdsim_thin_register_threshold(struct dm_pool_metadata *pmd, uint64_t threshold, void (*fn)(void *), void *ctx);
int pdsim_thin_reserve_snap(struct dm_pool_metadata *pmd);
int pdsim_thin_release_snap(struct dm_pool_metadata *pmd);
uint64_t pdsim_thin_held_root(struct dm_pool_metadata *pmd);
int pdsim_thin_set_needs_check(struct dm_pool_metadata *pmd);
int pdsim_thin_clear_needs_check(struct dm_pool_metadata *pmd);
bool pdsim_thin_needs_check(struct dm_pool_metadata *pmd);
void pdsim_thin_set_read_only(struct dm_pool_metadata *pmd, bool read_only);
bool pdsim_thin_is_read_only(struct dm_pool_metadata *pmd);
int pdsim_thin_flush(struct dm_pool_metadata *pmd);

/* ---- cache (cache_glue.c) ---- */
struct pdsim_cache_policy_desc {
	const char *name;
	unsigned int version[3];
	size_t hint_size;
	const uint32_t *hints; /* write_hints: one per cache block */
};
typedef int (*pdsim_load_mapping_fn)(void *ctx, uint64_t oblock, uint32_t cblock, bool dirty, uint32_t hint, bool hint_valid);
typedef int (*pdsim_load_discard_fn)(void *ctx, uint64_t dblock, bool discarded);
struct pdsim_cache_stats {
	uint32_t read_hits, read_misses, write_hits, write_misses;
};

struct dm_cache_metadata *pdsim_cache_open(struct block_device *bdev, uint64_t data_block_size, bool may_format,
					   unsigned int version, int *err);
/* Frees an instance without committing (the caller detached the device first). */
void pdsim_cache_drop(struct dm_cache_metadata *cmd);
unsigned int pdsim_cache_version(struct dm_cache_metadata *cmd);
uint32_t pdsim_cache_blocks(struct dm_cache_metadata *cmd);
bool pdsim_cache_clean_when_opened(struct dm_cache_metadata *cmd);
int pdsim_cache_resize(struct dm_cache_metadata *cmd, uint32_t new_size);
int pdsim_cache_insert(struct dm_cache_metadata *cmd, uint32_t cblock, uint64_t oblock);
int pdsim_cache_remove(struct dm_cache_metadata *cmd, uint32_t cblock);
/* The mapping array's entry: *mapped false when the entry is not valid; *dirty from the entry's
 * flags (version 1 only: version 2 keeps dirty bits in a bitset, read with pdsim_cache_dirty_bit). */
int pdsim_cache_lookup(struct dm_cache_metadata *cmd, uint32_t cblock, bool *mapped, uint64_t *oblock, bool *dirty);
int pdsim_cache_dirty_bit(struct dm_cache_metadata *cmd, uint32_t cblock, bool *dirty);
/* Version 1: the kernel's per-block update of the entry's dirty flag. */
int pdsim_cache_set_dirty_v1(struct dm_cache_metadata *cmd, uint32_t cblock, bool dirty);
int pdsim_cache_set_dirty_bits(struct dm_cache_metadata *cmd, uint32_t nr_bits, unsigned long *bits);
int pdsim_cache_load_mappings(struct dm_cache_metadata *cmd, const struct pdsim_cache_policy_desc *policy,
			      pdsim_load_mapping_fn fn, void *ctx);
int pdsim_cache_discard_resize(struct dm_cache_metadata *cmd, uint64_t discard_block_size, uint64_t nr_blocks,
			       bool as_target);
int pdsim_cache_set_discard(struct dm_cache_metadata *cmd, uint64_t dblock, bool discarded);
int pdsim_cache_load_discards(struct dm_cache_metadata *cmd, pdsim_load_discard_fn fn, void *ctx);
int pdsim_cache_write_hints(struct dm_cache_metadata *cmd, const struct pdsim_cache_policy_desc *policy);
void pdsim_cache_get_stats(struct dm_cache_metadata *cmd, struct pdsim_cache_stats *out);
void pdsim_cache_set_stats(struct dm_cache_metadata *cmd, const struct pdsim_cache_stats *in);
int pdsim_cache_commit(struct dm_cache_metadata *cmd, bool clean_shutdown);
int pdsim_cache_abort(struct dm_cache_metadata *cmd, bool reload_fields);
int pdsim_cache_set_needs_check(struct dm_cache_metadata *cmd);
int pdsim_cache_needs_check(struct dm_cache_metadata *cmd, bool *result);
int pdsim_cache_metadata_size(struct dm_cache_metadata *cmd, uint64_t *result);
int pdsim_cache_metadata_free(struct dm_cache_metadata *cmd, uint64_t *result);

#endif
