/*
 * Large tables in transparent huge pages: hugeBuffer(bytes) returns an ArrayBuffer over anonymous
 * memory that the kernel is asked (madvise MADV_HUGEPAGE) to back with 2 MiB pages.
 *
 * Why: the RIB keeps millions of routes in typed arrays, and every 4 KiB page first touched costs a
 * page fault; on virtual machines such as this project's (Firecracker, free page reporting) a fault
 * costs several microseconds, so a full table spends more time faulting than inserting. One 2 MiB
 * page replaces 512 faults. Memory is zero and untouched pages cost nothing, as with calloc.
 * The buffer is external to V8: we report its size with napi_adjust_external_memory so the garbage
 * collector weighs it, and unmap it in the finalizer. Where THP is off the advice is ignored and
 * this is plain mmap.
 *
 * hugeBuffer(bytes, false) maps the same way without the advice (4 KiB pages, page-aligned, no
 * padding): for mid-sized tables (128 KiB to 8 MiB), whose memory discardBuffer can then give back
 * the moment a table grows out of them, instead of at some later collection (measured with
 * bench/daemon.bench.ts: at 32,000 routes two thirds of the typed arrays' memory was arrays already
 * grown out of).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE (2u << 20)
#define PAGE 4096u

typedef struct {
  void *base;
  size_t length;
} mapping;

static void unmap(napi_env env, void *data, void *hint) {
  mapping *m = (mapping *)hint;
  int64_t ignored;
  (void)data;
  munmap(m->base, m->length);
  napi_adjust_external_memory(env, -(int64_t)m->length, &ignored);
  free(m);
}

napi_value js_huge_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double want;
  bool huge = true;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_double(env, argv[0], &want) != napi_ok ||
      !(want > 0) || want > (double)(1ull << 40)) {
    napi_throw_range_error(env, NULL, "hugeBuffer(bytes, huge): bytes must be a positive number below 2^40");
    return NULL;
  }
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &huge) != napi_ok) {
    napi_throw_type_error(env, NULL, "hugeBuffer(bytes, huge): huge must be a boolean");
    return NULL;
  }
  size_t bytes = (size_t)want;
  /* Huge: room to align the start to 2 MiB, so that every whole 2 MiB of the buffer can be one page.
   * Plain: whole 4 KiB pages (mmap aligns to a page). */
  size_t length = huge ? ((bytes + HUGE - 1) / HUGE) * HUGE + HUGE : ((bytes + PAGE - 1) / PAGE) * PAGE;
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    napi_throw_error(env, "ENOMEM", "hugeBuffer: mmap failed");
    return NULL;
  }
  uintptr_t aligned = (uintptr_t)p;
  if (huge) {
    aligned = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    madvise((void *)aligned, length - (aligned - (uintptr_t)p), MADV_HUGEPAGE);
  }
  mapping *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(p, length);
    napi_throw_error(env, "ENOMEM", "hugeBuffer: out of memory");
    return NULL;
  }
  m->base = p;
  m->length = length;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, (void *)aligned, bytes, unmap, m, &ab) != napi_ok) {
    munmap(p, length);
    free(m);
    napi_throw_error(env, NULL, "hugeBuffer: napi_create_external_arraybuffer failed");
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, (int64_t)length, &ignored);
  return ab;
}

/*
 * discardBuffer(arrayBuffer): gives the physical memory of a hugeBuffer (either kind) back to the system at once
 * (MADV_DONTNEED) while keeping the mapping: a table that grew into a new array no longer needs the
 * old one, but V8 frees it only at some later collection. Reads of the old buffer would see zeros,
 * never fault, so a forgotten view cannot crash the process.
 */
napi_value js_discard_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "discardBuffer(arrayBuffer): an ArrayBuffer is required");
    return NULL;
  }
  /* Only whole pages of ours: the caller passes hugeBuffer's buffers only (native/index.ts keeps
   * them apart); a buffer that does not start on a page is certainly not one. */
  if (data != NULL && length > 0 && ((uintptr_t)data & (PAGE - 1)) == 0) {
    madvise(data, (length + 4095) & ~(size_t)4095, MADV_DONTNEED);
  }
  return NULL;
}
