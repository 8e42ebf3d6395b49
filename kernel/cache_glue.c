/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — the cache side of the kernel engine. Compiles the kernel's own dm-cache-metadata.c
 * (from the configured kernel tree) in this translation unit, so that what the engine seam needs
 * beyond dm-cache-metadata.h (looking one mapping up, version 1's per-block dirty update, a drop
 * without commit) can reach its structures, and supplies the three policy accessors the metadata
 * code calls (a policy here is only a name, a version, a hint size and the hints to write).
 */
#include "dm-cache-metadata.c"

#include "kernel/kernel_glue.h"

struct pdsim_policy {
	struct dm_cache_policy policy;
	const struct pdsim_cache_policy_desc *desc;
};

static uint32_t pdsim_policy_get_hint(struct dm_cache_policy *p, dm_cblock_t cblock)
{
	struct pdsim_policy *pp = container_of(p, struct pdsim_policy, policy);

	return pp->desc->hints[from_cblock(cblock)];
}

static void pdsim_policy_init(struct pdsim_policy *pp, const struct pdsim_cache_policy_desc *desc)
{
	memset(pp, 0, sizeof(*pp));
	pp->desc = desc;
	pp->policy.get_hint = pdsim_policy_get_hint;
}

const char *dm_cache_policy_get_name(struct dm_cache_policy *p)
{
	return container_of(p, struct pdsim_policy, policy)->desc->name;
}

const unsigned int *dm_cache_policy_get_version(struct dm_cache_policy *p)
{
	return container_of(p, struct pdsim_policy, policy)->desc->version;
}

size_t dm_cache_policy_get_hint_size(struct dm_cache_policy *p)
{
	return container_of(p, struct pdsim_policy, policy)->desc->hint_size;
}

/* The kernel engine's policies have 4-byte hints, like smq. */
#define PDSIM_HINT_SIZE 4

struct dm_cache_metadata *pdsim_cache_open(struct block_device *bdev, uint64_t data_block_size, bool may_format,
					   unsigned int version, int *err)
{
	struct dm_cache_metadata *cmd =
		dm_cache_metadata_open(bdev, data_block_size, may_format, PDSIM_HINT_SIZE, version);

	if (IS_ERR(cmd)) {
		*err = (int)PTR_ERR(cmd);
		return NULL;
	}
	*err = 0;
	return cmd;
}

void pdsim_cache_drop(struct dm_cache_metadata *cmd)
{
	/* dm_cache_metadata_close does not commit: with the device detached it only frees. */
	dm_cache_metadata_close(cmd);
}

unsigned int pdsim_cache_version(struct dm_cache_metadata *cmd) { return cmd->version; }
uint32_t pdsim_cache_blocks(struct dm_cache_metadata *cmd) { return from_cblock(cmd->cache_blocks); }
bool pdsim_cache_clean_when_opened(struct dm_cache_metadata *cmd) { return cmd->clean_when_opened; }
int pdsim_cache_resize(struct dm_cache_metadata *cmd, uint32_t new_size) { return dm_cache_resize(cmd, to_cblock(new_size)); }
int pdsim_cache_insert(struct dm_cache_metadata *cmd, uint32_t cblock, uint64_t oblock)
{
	return dm_cache_insert_mapping(cmd, to_cblock(cblock), to_oblock(oblock));
}
int pdsim_cache_remove(struct dm_cache_metadata *cmd, uint32_t cblock)
{
	return dm_cache_remove_mapping(cmd, to_cblock(cblock));
}

int pdsim_cache_lookup(struct dm_cache_metadata *cmd, uint32_t cblock, bool *mapped, uint64_t *oblock, bool *dirty)
{
	int r = -EINVAL;
	__le64 value;
	dm_oblock_t ob;
	unsigned int flags;

	down_read(&cmd->root_lock);
	if (!cmd->fail_io) {
		r = dm_array_get_value(&cmd->info, cmd->root, cblock, &value);
		if (!r) {
			unpack_value(value, &ob, &flags);
			*mapped = flags & M_VALID;
			*oblock = from_oblock(ob);
			*dirty = flags & M_DIRTY;
		}
	}
	up_read(&cmd->root_lock);
	return r;
}

int pdsim_cache_dirty_bit(struct dm_cache_metadata *cmd, uint32_t cblock, bool *dirty)
{
	int r = -EINVAL;

	down_write(&cmd->root_lock);
	if (!cmd->fail_io)
		r = dm_bitset_test_bit(&cmd->dirty_info, cmd->dirty_root, cblock, &cmd->dirty_root, dirty);
	up_write(&cmd->root_lock);
	return r;
}

int pdsim_cache_set_dirty_v1(struct dm_cache_metadata *cmd, uint32_t cblock, bool dirty)
{
	int r = -EINVAL;

	down_write(&cmd->root_lock);
	if (!cmd->fail_io && !dm_bm_is_read_only(cmd->bm))
		r = __dirty(cmd, to_cblock(cblock), dirty);
	up_write(&cmd->root_lock);
	return r;
}

int pdsim_cache_set_dirty_bits(struct dm_cache_metadata *cmd, uint32_t nr_bits, unsigned long *bits)
{
	return dm_cache_set_dirty_bits(cmd, nr_bits, bits);
}

struct pdsim_load_ctx {
	pdsim_load_mapping_fn fn;
	void *ctx;
};

static int pdsim_load_mapping(void *context, dm_oblock_t oblock, dm_cblock_t cblock, bool dirty, uint32_t hint,
			      bool hint_valid)
{
	struct pdsim_load_ctx *c = context;

	return c->fn(c->ctx, from_oblock(oblock), from_cblock(cblock), dirty, hint, hint_valid);
}

int pdsim_cache_load_mappings(struct dm_cache_metadata *cmd, const struct pdsim_cache_policy_desc *policy,
			      pdsim_load_mapping_fn fn, void *ctx)
{
	struct pdsim_policy pp;
	struct pdsim_load_ctx c = { fn, ctx };

	pdsim_policy_init(&pp, policy);
	return dm_cache_load_mappings(cmd, &pp.policy, pdsim_load_mapping, &c);
}

/* dm_cache_discard_bitset_resize as the dm-cache target uses it: there the cached bitset word is
 * always flushed (by a commit) before a resize, and every bit is written after it. Called
 * mid-transaction, the kernel's resize alone (1) leaves a dirty cached word past the new end,
 * whose flush at the next commit fails with ENODATA, and (2) leaves the bits past the new length
 * in the last kept word as they were, so a shrink and a grow bring stale bits back. So: flush
 * first, resize, then clear the tail of the last kept word. `as_target` false: the kernel's call
 * alone (tests pin both behaviours). */
int pdsim_cache_discard_resize(struct dm_cache_metadata *cmd, uint64_t discard_block_size, uint64_t nr_blocks,
			       bool as_target)
{
	uint64_t old, keep, tail_end, bit;
	int r;

	if (!as_target)
		return dm_cache_discard_bitset_resize(cmd, discard_block_size, to_dblock(nr_blocks));
	WRITE_LOCK(cmd);
	old = from_dblock(cmd->discard_nr_blocks);
	r = dm_bitset_flush(&cmd->discard_info, cmd->discard_root, &cmd->discard_root);
	WRITE_UNLOCK(cmd);
	if (r)
		return r;
	r = dm_cache_discard_bitset_resize(cmd, discard_block_size, to_dblock(nr_blocks));
	if (r)
		return r;
	keep = min(old, nr_blocks);
	tail_end = min(max(old, nr_blocks), (keep + 63) / 64 * 64);
	for (bit = keep; bit < tail_end && bit < nr_blocks; bit++) {
		r = dm_cache_set_discard(cmd, to_dblock(bit), false);
		if (r)
			return r;
	}
	return 0;
}

int pdsim_cache_set_discard(struct dm_cache_metadata *cmd, uint64_t dblock, bool discarded)
{
	return dm_cache_set_discard(cmd, to_dblock(dblock), discarded);
}

struct pdsim_discard_ctx {
	pdsim_load_discard_fn fn;
	void *ctx;
};

static int pdsim_load_discard(void *context, sector_t discard_block_size, dm_dblock_t dblock, bool discarded)
{
	struct pdsim_discard_ctx *c = context;

	return c->fn(c->ctx, from_dblock(dblock), discarded);
}

int pdsim_cache_load_discards(struct dm_cache_metadata *cmd, pdsim_load_discard_fn fn, void *ctx)
{
	struct pdsim_discard_ctx c = { fn, ctx };

	return dm_cache_load_discards(cmd, pdsim_load_discard, &c);
}

int pdsim_cache_write_hints(struct dm_cache_metadata *cmd, const struct pdsim_cache_policy_desc *policy)
{
	struct pdsim_policy pp;

	pdsim_policy_init(&pp, policy);
	return dm_cache_write_hints(cmd, &pp.policy);
}

void pdsim_cache_get_stats(struct dm_cache_metadata *cmd, struct pdsim_cache_stats *out)
{
	struct dm_cache_statistics s = { 0, 0, 0, 0 };

	dm_cache_metadata_get_stats(cmd, &s);
	out->read_hits = s.read_hits;
	out->read_misses = s.read_misses;
	out->write_hits = s.write_hits;
	out->write_misses = s.write_misses;
}

void pdsim_cache_set_stats(struct dm_cache_metadata *cmd, const struct pdsim_cache_stats *in)
{
	struct dm_cache_statistics s = { in->read_hits, in->read_misses, in->write_hits, in->write_misses };

	dm_cache_metadata_set_stats(cmd, &s);
}

int pdsim_cache_commit(struct dm_cache_metadata *cmd, bool clean_shutdown) { return dm_cache_commit(cmd, clean_shutdown); }
/* dm_cache_metadata_abort, then the superblock's fields re-read as the next open would load them:
 * the kernel's abort keeps the aborted transaction's in-core roots and sizes (see
 * kernel_cache_engine.cc). */
int pdsim_cache_abort(struct dm_cache_metadata *cmd, bool reload_fields)
{
	int r = dm_cache_metadata_abort(cmd);

	if (r || !reload_fields)
		return r;
	WRITE_LOCK(cmd);
	/* The reopen inside the abort sets up hint_info only when the in-core hint size is non-zero,
	 * so with a hint size of 0 it keeps pointing at the transaction manager the abort destroyed
	 * (a later write_hints then uses freed memory). Set it up against the new one. */
	if (!cmd->policy_hint_size) {
		cmd->policy_hint_size = PDSIM_HINT_SIZE;
		__setup_mapping_info(cmd);
	}
	/* The abort's reopen read the superblock as the device returns it, which after a failed flush
	 * can be a commit that is not durable. dm-cache builds no transaction on it (it goes read-only
	 * with NEEDS_CHECK); it writes again only after a new activation, whose open flushes
	 * (__begin_transaction_flags). Do that flush here, so the next transaction cannot overwrite
	 * blocks the durable superblock still references. */
	r = dm_bm_flush(cmd->bm);
	if (!r)
		r = __begin_transaction(cmd);
	WRITE_UNLOCK(cmd);
	return r;
}
int pdsim_cache_set_needs_check(struct dm_cache_metadata *cmd) { return dm_cache_metadata_set_needs_check(cmd); }
int pdsim_cache_needs_check(struct dm_cache_metadata *cmd, bool *result) { return dm_cache_metadata_needs_check(cmd, result); }
int pdsim_cache_metadata_size(struct dm_cache_metadata *cmd, uint64_t *result)
{
	dm_block_t b;
	int r = dm_cache_get_metadata_dev_size(cmd, &b);

	if (!r)
		*result = b;
	return r;
}
int pdsim_cache_metadata_free(struct dm_cache_metadata *cmd, uint64_t *result)
{
	dm_block_t b;
	int r = dm_cache_get_free_metadata_block_count(cmd, &b);

	if (!r)
		*result = b;
	return r;
}
