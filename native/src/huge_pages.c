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
 *
 * reserveBuffer(bytes, reserve, hugeFrom) maps `reserve` bytes of address space (MAP_NORESERVE:
 * untouched pages cost no memory) of which `bytes` are used now; only `bytes` is reported to V8.
 * bgp/rib/grow.ts maps one such arena for the process and carves the tables' large arrays out of
 * it: V8 counts every ArrayBuffer's length as external memory and starts a full collection each
 * time that grows by tens of megabytes (measured: 200 arrays of 1-8 MiB, each in a 256 MiB
 * reservation of its own, made 58 mark-compacts; as views into one arena, 2), and an array in the
 * arena grows in place, as a longer view, with no copy. A buffer of 2 MiB or more starts on a 2 MiB
 * boundary.
 * When the mapping fails (strict overcommit, a ulimit on address space) it returns undefined.
 *
 * adviseHuge(buffer, offset, length) advises huge pages for the whole 2 MiB pages of that range of
 * a buffer of ours; discardBuffer(buffer, offset, length) gives back that range's memory.
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
  /* what was reported to V8 (napi_adjust_external_memory), given back when unmapped */
  int64_t accounted;
} mapping;

static void unmap(napi_env env, void *data, void *hint) {
  mapping *m = (mapping *)hint;
  int64_t ignored;
  (void)data;
  munmap(m->base, m->length);
  napi_adjust_external_memory(env, -m->accounted, &ignored);
  free(m);
}

/*
 * Maps `visible` bytes (plus alignment room when huge pages are advised) as an ArrayBuffer, huge
 * pages advised from offset `huge_from` (>= visible: none), `accounted` bytes reported to V8.
 * Returns NULL with errno set when mmap fails, leaving the throwing to the caller.
 */
static napi_value map_buffer(napi_env env, size_t visible, size_t huge_from, size_t accounted) {
  bool huge = huge_from < visible || visible >= HUGE; /* aligned to 2 MiB; advised only from huge_from */
  size_t length = huge ? ((visible + HUGE - 1) / HUGE) * HUGE + HUGE : ((visible + PAGE - 1) / PAGE) * PAGE;
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  uintptr_t aligned = (uintptr_t)p;
  if (huge) {
    aligned = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    size_t from = ((huge_from + HUGE - 1) / HUGE) * HUGE;
    size_t usable = length - (aligned - (uintptr_t)p);
    if (huge_from < visible && from < usable) madvise((void *)(aligned + from), usable - from, MADV_HUGEPAGE);
  }
  mapping *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(p, length);
    errno = ENOMEM;
    return NULL;
  }
  m->base = p;
  m->length = length;
  m->accounted = (int64_t)accounted;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, (void *)aligned, visible, unmap, m, &ab) != napi_ok) {
    munmap(p, length);
    free(m);
    errno = EINVAL;
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, m->accounted, &ignored);
  return ab;
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
   * Plain: whole 4 KiB pages (mmap aligns to a page). What is reported to V8 is what is mapped. */
  size_t mapped = huge ? ((bytes + HUGE - 1) / HUGE) * HUGE + HUGE : ((bytes + PAGE - 1) / PAGE) * PAGE;
  napi_value ab = map_buffer(env, bytes, huge ? 0 : bytes, mapped);
  if (ab == NULL) {
    napi_throw_error(env, "ENOMEM", "hugeBuffer: mmap failed");
    return NULL;
  }
  return ab;
}

napi_value js_reserve_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double bytes, reserve, huge_from;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_double(env, argv[0], &bytes) != napi_ok ||
      napi_get_value_double(env, argv[1], &reserve) != napi_ok || napi_get_value_double(env, argv[2], &huge_from) != napi_ok ||
      !(bytes > 0) || !(reserve >= bytes) || reserve > (double)(1ull << 40) || !(huge_from >= 0)) {
    napi_throw_range_error(env, NULL, "reserveBuffer(bytes, reserve, hugeFrom): 0 < bytes <= reserve < 2^40 and hugeFrom >= 0 are required");
    return NULL;
  }
  size_t visible = (size_t)reserve;
  napi_value ab = map_buffer(env, visible, huge_from >= reserve ? visible : (size_t)huge_from, (size_t)bytes);
  if (ab == NULL) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  return ab;
}

/*
 * discardBuffer(arrayBuffer): gives the physical memory of a hugeBuffer (either kind) back to the system at once
 * (MADV_DONTNEED) while keeping the mapping: a table that grew into a new array no longer needs the
 * old one, but V8 frees it only at some later collection. Reads of the old buffer would see zeros,
 * never fault, so a forgotten view cannot crash the process.
 */
/* The [offset, offset + length) range of an ArrayBuffer argument, page-aligned inwards for
 * `inwards` (advice that must not spill) or outwards; false (and a thrown error) when malformed. */
static bool buffer_range(napi_env env, napi_callback_info info, const char *what, size_t align, bool inwards, uintptr_t *from, uintptr_t *to) {
  size_t argc = 3;
  napi_value argv[3];
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return false;
  }
  double off = 0, len = (double)length;
  if ((argc >= 2 && napi_get_value_double(env, argv[1], &off) != napi_ok) || (argc >= 3 && napi_get_value_double(env, argv[2], &len) != napi_ok) ||
      !(off >= 0) || !(len >= 0) || off + len > (double)length) {
    napi_throw_range_error(env, NULL, what);
    return false;
  }
  uintptr_t a = (uintptr_t)data + (uintptr_t)off, b = a + (uintptr_t)len;
  if (inwards) {
    a = (a + align - 1) & ~(uintptr_t)(align - 1);
    b &= ~(uintptr_t)(align - 1);
  } else {
    a &= ~(uintptr_t)(align - 1);
    b = (b + align - 1) & ~(uintptr_t)(align - 1);
  }
  /* Only buffers of ours: the caller passes the addon's buffers only (native/index.ts keeps them
   * apart); one that does not start on a page is certainly not one. */
  if (data == NULL || ((uintptr_t)data & (PAGE - 1)) != 0 || b <= a) a = b = 0;
  *from = a;
  *to = b;
  return true;
}

/*
 * discardBuffer(arrayBuffer[, offset, length]): gives the physical memory of a buffer of ours (or
 * of that range of it) back to the system at once (MADV_DONTNEED) while keeping the mapping: a table
 * that grew into a new array no longer needs the old one, but V8 frees it only at some later
 * collection. Reads of the old buffer would see zeros, never fault, so a forgotten view cannot crash
 * the process.
 */
napi_value js_discard_buffer(napi_env env, napi_callback_info info) {
  uintptr_t a, b;
  if (!buffer_range(env, info, "discardBuffer(arrayBuffer, offset, length): an ArrayBuffer and a range inside it are required", PAGE, false, &a, &b)) return NULL;
  if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
  return NULL;
}

/* adviseHuge(arrayBuffer, offset, length): huge pages for the whole 2 MiB pages of the range. */
napi_value js_advise_huge(napi_env env, napi_callback_info info) {
  uintptr_t a, b;
  if (!buffer_range(env, info, "adviseHuge(arrayBuffer, offset, length): an ArrayBuffer and a range inside it are required", HUGE, true, &a, &b)) return NULL;
  if (b > a) madvise((void *)a, b - a, MADV_HUGEPAGE);
  return NULL;
}
