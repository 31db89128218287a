/* Releasing the process's mapping of the node executable's pages after startup.
 *
 * VmRSS counts every page of the ~100 MB node binary the process has touched once: bootstrap,
 * the first compile of every module, OpenSSL's initialisation, the dynamic symbol tables read
 * when the addon is loaded. They are clean page cache, but they stay mapped, and so in VmRSS,
 * until the kernel reclaims them under pressure. file_pages_release() drops the mapping
 * (madvise MADV_DONTNEED) of the executable's read-only, private, unmodified mappings; a page
 * that is still used comes back on its next touch as a minor fault from the page cache, with
 * the same content, because nothing in these mappings differs from the file.
 *
 * file_pages_plan() is the pure part: which ranges of a /proc/self/smaps text may be dropped. */
#ifndef IRONLB_FILE_PAGES_H
#define IRONLB_FILE_PAGES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t start, end; /* [start, end) */
  uint64_t rss_kib;    /* resident when the smaps text was read */
} fp_range;

/* The file whose mappings may be dropped: the executable's device (major, minor) and inode. */
typedef struct {
  unsigned major, minor;
  uint64_t inode;
} fp_file;

/*
 * Reads an smaps text and writes to `out` (at most `cap`) the mappings that may be dropped: of
 * `file`, private ('p'), not writable, with pages resident, none of them anonymous
 * ("Anonymous: 0 kB": a page written once, such as the relocated RELRO segment, is private
 * memory and must never be dropped) and none locked. A mapping whose Anonymous or Locked field
 * is missing or unreadable is not dropped. Returns how many ranges qualify (may exceed `cap`).
 */
size_t file_pages_plan(const char *text, size_t len, const fp_file *file, fp_range *out, size_t cap);

typedef struct {
  size_t mappings;  /* ranges dropped */
  uint64_t rss_kib; /* their resident size before */
  size_t failed;    /* ranges madvise refused (left as they were) */
  int err;          /* 0, or the errno that stopped the whole call (reading smaps, stat) */
} fp_result;

/* Plans on this process's /proc/self/smaps and /proc/self/exe, and drops what the plan allows. */
fp_result file_pages_release(void);

#endif
