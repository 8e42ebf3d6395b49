/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — what the C++ side of the kernel engine defines for the kernel's C files and what the
 * glue files (thin_glue.c, cache_glue.c) export to the C++ side. Plain declarations, no shim
 * macros: this header is included from both languages (inside extern "C" in C++).
 */
#ifndef PDSIM_KERNEL_C_API_H
#define PDSIM_KERNEL_C_API_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

struct block_device;
struct dm_bufio_client;
struct dm_buffer;

/* kernel/support.cc */
__attribute__((noreturn)) void pdsim_kernel_bug(const char *file, int line, const char *what);
__attribute__((format(printf, 2, 3))) void pdsim_kernel_log(const char *level, const char *fmt, ...);
void *pdsim_kmalloc(size_t size, bool zero);
void pdsim_kfree(const void *p);
uint32_t crc32c(uint32_t seed, const void *data, unsigned int length);

/* kernel/bufio.cc */
struct dm_bufio_client *dm_bufio_client_create(struct block_device *bdev, unsigned int block_size,
					       unsigned int reserved_buffers, unsigned int aux_size,
					       void (*alloc_callback)(struct dm_buffer *),
					       void (*write_callback)(struct dm_buffer *),
					       unsigned int flags);
void dm_bufio_client_destroy(struct dm_bufio_client *c);
void dm_bufio_client_reset(struct dm_bufio_client *c);
void *dm_bufio_read(struct dm_bufio_client *c, uint64_t block, struct dm_buffer **bp);
void *dm_bufio_get(struct dm_bufio_client *c, uint64_t block, struct dm_buffer **bp);
void *dm_bufio_new(struct dm_bufio_client *c, uint64_t block, struct dm_buffer **bp);
void dm_bufio_prefetch(struct dm_bufio_client *c, uint64_t block, unsigned int n_blocks);
void dm_bufio_release(struct dm_buffer *b);
void dm_bufio_mark_buffer_dirty(struct dm_buffer *b);
int dm_bufio_write_dirty_buffers(struct dm_bufio_client *c);
uint64_t dm_bufio_get_device_size(struct dm_bufio_client *c);
uint64_t dm_bufio_get_block_number(struct dm_buffer *b);
void *dm_bufio_get_block_data(struct dm_buffer *b);
void *dm_bufio_get_aux_data(struct dm_buffer *b);
struct dm_bufio_client *dm_bufio_get_client(struct dm_buffer *b);
unsigned int dm_bufio_get_block_size(struct dm_bufio_client *c);
uint64_t bdev_nr_sectors(struct block_device *bdev);
bool bdev_read_only(struct block_device *bdev);

#endif
