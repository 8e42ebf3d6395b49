/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — the thin side of the kernel engine. This file compiles the kernel's own
 * dm-thin-metadata.c (from the kernel tree the build was configured with; never copied into this
 * repository) in this translation unit, so that the few operations the engine seam needs beyond
 * dm-thin-metadata.h (walks, the next mapping, the metadata space map's own free count, clearing
 * NEEDS_CHECK as thin_check --clear-needs-check-flag does, a drop without commit) can reach its
 * structures. Everything else calls the kernel's public functions unchanged.
 */
#include "dm-thin-metadata.c"

#include "kernel/kernel_glue.h"

struct dm_pool_metadata *pdsim_thin_open(struct block_device *bdev, uint64_t data_block_size, bool format, int *err)
{
	struct dm_pool_metadata *pmd = dm_pool_metadata_open(bdev, data_block_size, format);

	if (IS_ERR(pmd)) {
		*err = (int)PTR_ERR(pmd);
		return NULL;
	}
	*err = 0;
	return pmd;
}

void pdsim_thin_drop(struct dm_pool_metadata *pmd)
{
	struct dm_thin_device *td, *tmp;

	list_for_each_entry_safe(td, tmp, &pmd->thin_devices, list) {
		list_del(&td->list);
		kfree(td);
	}
	if (pmd->data_sm)
		dm_sm_destroy(pmd->data_sm);
	if (pmd->metadata_sm)
		dm_sm_destroy(pmd->metadata_sm);
	if (pmd->nb_tm)
		dm_tm_destroy(pmd->nb_tm);
	if (pmd->tm)
		dm_tm_destroy(pmd->tm);
	if (pmd->bm)
		dm_block_manager_destroy(pmd->bm);
	kfree(pmd);
}

int pdsim_thin_create_thin(struct dm_pool_metadata *pmd, uint64_t id) { return dm_pool_create_thin(pmd, id); }
int pdsim_thin_create_snap(struct dm_pool_metadata *pmd, uint64_t id, uint64_t origin)
{
	return dm_pool_create_snap(pmd, id, origin);
}
int pdsim_thin_delete(struct dm_pool_metadata *pmd, uint64_t id) { return dm_pool_delete_thin_device(pmd, id); }

struct pdsim_walk {
	pdsim_kv_fn fn;
	void *ctx;
};

static int pdsim_walk_leaf(void *context, uint64_t *keys, void *leaf)
{
	struct pdsim_walk *w = context;
	__le64 value;

	memcpy(&value, leaf, sizeof(value));
	return w->fn(w->ctx, keys[0], le64_to_cpu(value));
}

int pdsim_thin_walk_devices(struct dm_pool_metadata *pmd, pdsim_kv_fn fn, void *ctx)
{
	struct pdsim_walk w = { fn, ctx };
	int r = -EINVAL;

	down_read(&pmd->root_lock);
	if (!pmd->fail_io)
		r = dm_btree_walk(&pmd->tl_info, pmd->root, pdsim_walk_leaf, &w);
	up_read(&pmd->root_lock);
	return r;
}

int pdsim_thin_walk_mappings(struct dm_pool_metadata *pmd, uint64_t id, pdsim_kv_fn fn, void *ctx)
{
	struct pdsim_walk w = { fn, ctx };
	__le64 root;
	int r = -EINVAL;

	down_read(&pmd->root_lock);
	if (!pmd->fail_io) {
		r = dm_btree_lookup(&pmd->tl_info, pmd->root, &id, &root);
		if (!r)
			r = dm_btree_walk(&pmd->bl_info, le64_to_cpu(root), pdsim_walk_leaf, &w);
	}
	up_read(&pmd->root_lock);
	return r;
}

/* Runs the statements given on thin device `id`, opened for it and closed after; evaluates to the open's error
 * or to the r that they set. A device that does not exist is the open's -ENODATA. */
#define PDSIM_WITH_DEVICE(pmd, id, ...)                                   \
	({                                                                 \
		struct dm_thin_device *td;                                 \
		int r = dm_pool_open_thin_device((pmd), (id), &td);        \
		if (!r) {                                                  \
			__VA_ARGS__;                                       \
			dm_pool_close_thin_device(td);                     \
		}                                                          \
		r;                                                         \
	})

/* The lookups below report "no mapping" as *found = false with 0, so that -ENODATA from them
 * always means the device is missing. */
static int pdsim_not_found_is_zero(int r, bool *found)
{
	*found = !r;
	return r == -ENODATA ? 0 : r;
}

int pdsim_thin_mapped_count(struct dm_pool_metadata *pmd, uint64_t id, uint64_t *result)
{
	return PDSIM_WITH_DEVICE(pmd, id, r = dm_thin_get_mapped_count(td, result));
}

int pdsim_thin_alloc_data_block(struct dm_pool_metadata *pmd, uint64_t *result)
{
	dm_block_t b;
	int r = dm_pool_alloc_data_block(pmd, &b);

	*result = b;
	return r;
}

int pdsim_thin_insert(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, uint64_t data_block)
{
	return PDSIM_WITH_DEVICE(pmd, id, r = dm_thin_insert_block(td, vblock, data_block));
}

int pdsim_thin_find(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, bool *found, uint64_t *block,
		    bool *shared)
{
	struct dm_thin_lookup_result res;

	return PDSIM_WITH_DEVICE(pmd, id, {
		r = pdsim_not_found_is_zero(dm_thin_find_block(td, vblock, 1, &res), found);
		if (*found) {
			*block = res.block;
			*shared = res.shared;
		}
	});
}

/* A single-block remove as dm-thin-metadata.c had it before 6.1 dropped dm_thin_remove_block
 * (its users moved to ranges): dm_btree_remove of (device, block) on the two-level mapping tree,
 * under the pool's write lock, and the device's count one lower. The caller has looked the block
 * up first: dm_btree_remove of an absent key shadows the path before it finds out. */
int pdsim_thin_remove_block(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock)
{
	return PDSIM_WITH_DEVICE(pmd, id, {
		dm_block_t keys[2] = { td->id, vblock };

		r = -EINVAL;
		pmd_write_lock(pmd);
		if (!pmd->fail_io) {
			r = dm_btree_remove(&pmd->info, pmd->root, keys, &pmd->root);
			if (!r) {
				td->mapped_blocks--;
				td->changed = true;
			}
		}
		pmd_write_unlock(pmd);
	});
}

/* dm_thin_remove_range, and how many mappings it removed (the device's mapped count before and
 * after, read on the same open device). */
int pdsim_thin_remove_range(struct dm_pool_metadata *pmd, uint64_t id, uint64_t begin, uint64_t end,
			    uint64_t *removed)
{
	dm_block_t before, after;

	return PDSIM_WITH_DEVICE(pmd, id, {
		r = dm_thin_get_mapped_count(td, &before);
		if (!r)
			r = dm_thin_remove_range(td, begin, end);
		if (!r)
			r = dm_thin_get_mapped_count(td, &after);
		if (!r) {
			BUG_ON(after > before);
			*removed = before - after;
		}
	});
}

int pdsim_thin_next_mapping(struct dm_pool_metadata *pmd, uint64_t id, uint64_t vblock, bool *found, uint64_t *key,
			    uint64_t *block)
{
	struct dm_thin_lookup_result res;
	dm_block_t k;

	return PDSIM_WITH_DEVICE(pmd, id, {
		down_read(&pmd->root_lock);
		r = pmd->fail_io ? -EINVAL : __find_next_mapped_block(td, vblock, &k, &res);
		up_read(&pmd->root_lock);
		r = pdsim_not_found_is_zero(r, found);
		if (*found) {
			*key = k;
			*block = res.block;
		}
	});
}

/* The kernel's convention (dm-thin's status line relies on it): a positive return is the number of
 * tree levels that had a key, 0 an empty tree with the result untouched. */
int pdsim_thin_highest(struct dm_pool_metadata *pmd, uint64_t id, bool *found, uint64_t *result)
{
	dm_block_t b;

	return PDSIM_WITH_DEVICE(pmd, id, {
		r = dm_thin_get_highest_mapped_block(td, &b);
		*found = r > 0;
		if (*found) {
			*result = b;
			r = 0;
		}
	});
}

int pdsim_thin_commit(struct dm_pool_metadata *pmd) { return dm_pool_commit_metadata(pmd); }
int pdsim_thin_abort(struct dm_pool_metadata *pmd) { return dm_pool_abort_metadata(pmd); }
int pdsim_thin_set_transaction_id(struct dm_pool_metadata *pmd, uint64_t current, uint64_t next)
{
	return dm_pool_set_metadata_transaction_id(pmd, current, next);
}
int pdsim_thin_transaction_id(struct dm_pool_metadata *pmd, uint64_t *result)
{
	return dm_pool_get_metadata_transaction_id(pmd, result);
}
int pdsim_thin_resize_data(struct dm_pool_metadata *pmd, uint64_t nr_blocks) { return dm_pool_resize_data_dev(pmd, nr_blocks); }
int pdsim_thin_resize_metadata(struct dm_pool_metadata *pmd, uint64_t nr_blocks)
{
	return dm_pool_resize_metadata_dev(pmd, nr_blocks);
}

#define PDSIM_GET(fn, call)                                              \
	int fn(struct dm_pool_metadata *pmd, uint64_t *result)              \
	{                                                                    \
		dm_block_t b;                                                \
		int r = call(pmd, &b);                                       \
		if (!r)                                                      \
			*result = b;                                         \
		return r;                                                    \
	}
PDSIM_GET(pdsim_thin_data_size, dm_pool_get_data_dev_size)
PDSIM_GET(pdsim_thin_data_free, dm_pool_get_free_block_count)
PDSIM_GET(pdsim_thin_metadata_size, dm_pool_get_metadata_dev_size)
PDSIM_GET(pdsim_thin_metadata_free, dm_pool_get_free_metadata_block_count)

int pdsim_thin_metadata_sm_free(struct dm_pool_metadata *pmd, uint64_t *result)
{
	dm_block_t b;
	int r = -EINVAL;

	down_read(&pmd->root_lock);
	if (!pmd->fail_io)
		r = dm_sm_get_nr_free(pmd->metadata_sm, &b);
	up_read(&pmd->root_lock);
	if (!r)
		*result = b;
	return r;
}

int pdsim_thin_register_threshold(struct dm_pool_metadata *pmd, uint64_t threshold, void (*fn)(void *), void *ctx)
{
	return dm_pool_register_metadata_threshold(pmd, threshold, fn, ctx);
}

int pdsim_thin_reserve_snap(struct dm_pool_metadata *pmd) { return dm_pool_reserve_metadata_snap(pmd); }
int pdsim_thin_release_snap(struct dm_pool_metadata *pmd) { return dm_pool_release_metadata_snap(pmd); }
uint64_t pdsim_thin_held_root(struct dm_pool_metadata *pmd) { return pmd->held_root; }
int pdsim_thin_set_needs_check(struct dm_pool_metadata *pmd) { return dm_pool_metadata_set_needs_check(pmd); }

/* thin_check --clear-needs-check-flag's last step, as the mirror of the kernel's set: the flag
 * leaves the in-core flags and the superblock, then a commit makes it durable. */
int pdsim_thin_clear_needs_check(struct dm_pool_metadata *pmd)
{
	int r = -EINVAL;
	struct dm_block *sblock;
	struct thin_disk_superblock *disk_super;

	pmd_write_lock(pmd);
	if (pmd->fail_io)
		goto out;
	pmd->flags &= ~THIN_METADATA_NEEDS_CHECK_FLAG;
	r = superblock_lock(pmd, &sblock);
	if (r)
		goto out;
	disk_super = dm_block_data(sblock);
	disk_super->flags = cpu_to_le32(pmd->flags);
	dm_bm_unlock(sblock);
	r = dm_bm_flush(pmd->bm);
out:
	pmd_write_unlock(pmd);
	return r;
}

bool pdsim_thin_needs_check(struct dm_pool_metadata *pmd) { return dm_pool_metadata_needs_check(pmd); }

void pdsim_thin_set_read_only(struct dm_pool_metadata *pmd, bool read_only)
{
	if (read_only)
		dm_pool_metadata_read_only(pmd);
	else
		dm_pool_metadata_read_write(pmd);
}

bool pdsim_thin_is_read_only(struct dm_pool_metadata *pmd) { return pmd->bm && dm_bm_is_read_only(pmd->bm); }

int pdsim_thin_flush(struct dm_pool_metadata *pmd)
{
	int r = -EINVAL;

	pmd_write_lock_in_core(pmd);
	if (!pmd->fail_io)
		r = dm_bm_flush(pmd->bm);
	pmd_write_unlock(pmd);
	return r;
}
