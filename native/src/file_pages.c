/* See file_pages.h. */
#include "file_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* One mapping of the smaps text being read. */
typedef struct {
  int open;      /* a header was read */
  int candidate; /* the header matched: file, private, not writable */
  uint64_t start, end;
  int64_t rss, anon, locked; /* kB, -1 = not seen */
} mapping;

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses hex digits at *p (at least one, at most 16) up to `end`; advances *p. */
static int parse_hex(const char **p, const char *end, uint64_t *out) {
  uint64_t v = 0;
  int n = 0;
  while (*p < end && hexval(**p) >= 0) {
    if (++n > 16) return 0;
    v = (v << 4) | (uint64_t)hexval(**p);
    (*p)++;
  }
  *out = v;
  return n > 0;
}

static int parse_dec(const char **p, const char *end, uint64_t *out) {
  uint64_t v = 0;
  int n = 0;
  while (*p < end && **p >= '0' && **p <= '9') {
    if (++n > 19) return 0;
    v = v * 10 + (uint64_t)(**p - '0');
    (*p)++;
  }
  *out = v;
  return n > 0;
}

static int expect(const char **p, const char *end, char c) {
  if (*p >= end || **p != c) return 0;
  (*p)++;
  return 1;
}

static void skip_spaces(const char **p, const char *end) {
  while (*p < end && **p == ' ') (*p)++;
}

/* "start-end perms offset major:minor inode [path]". Returns 0 when the line is not a header. */
static int parse_header(const char *p, const char *end, const fp_file *file, mapping *m) {
  uint64_t start, end_addr, offset, major, minor, inode;
  if (!parse_hex(&p, end, &start) || !expect(&p, end, '-') || !parse_hex(&p, end, &end_addr) || !expect(&p, end, ' ')) return 0;
  if (end - p < 5 || p[4] != ' ') return 0;
  const char *perms = p;
  p += 5;
  if (!parse_hex(&p, end, &offset) || !expect(&p, end, ' ')) return 0;
  if (!parse_hex(&p, end, &major) || !expect(&p, end, ':') || !parse_hex(&p, end, &minor) || !expect(&p, end, ' ')) return 0;
  if (!parse_dec(&p, end, &inode)) return 0;
  skip_spaces(&p, end);
  memset(m, 0, sizeof *m);
  m->open = 1;
  m->start = start;
  m->end = end_addr;
  m->rss = m->anon = m->locked = -1;
  m->candidate = end_addr > start && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && inode != 0 && inode == file->inode &&
                 major == file->major && minor == file->minor && p < end && *p == '/';
  return 1;
}

/* "Name:   123 kB": the value of a field the plan reads, or leaves `m` as it was. */
static void parse_field(const char *p, const char *end, mapping *m) {
  static const struct {
    const char *name;
    size_t off;
  } fields[] = {{"Rss:", offsetof(mapping, rss)}, {"Anonymous:", offsetof(mapping, anon)}, {"Locked:", offsetof(mapping, locked)}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    size_t n = strlen(fields[i].name);
    if ((size_t)(end - p) < n || memcmp(p, fields[i].name, n) != 0) continue;
    p += n;
    skip_spaces(&p, end);
    uint64_t v;
    int64_t *slot = (int64_t *)((char *)m + fields[i].off);
    /* A second, differing copy of a field (not in any kernel's output) makes the mapping unreadable. */
    if (!parse_dec(&p, end, &v) || end - p < 3 || memcmp(p, " kB", 3) != 0 || (*slot >= 0 && (uint64_t)*slot != v)) {
      m->candidate = 0;
      return;
    }
    *slot = (int64_t)v;
    return;
  }
}

static void close_mapping(mapping *m, fp_range *out, size_t cap, size_t *count) {
  if (m->open && m->candidate && m->rss > 0 && m->anon == 0 && m->locked == 0) {
    if (*count < cap) out[*count] = (fp_range){m->start, m->end, (uint64_t)m->rss};
    (*count)++;
  }
  m->open = 0;
}

size_t file_pages_plan(const char *text, size_t len, const fp_file *file, fp_range *out, size_t cap) {
  size_t count = 0;
  mapping m = {0};
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = nl ? nl : end;
    mapping next;
    if (parse_header(p, line_end, file, &next)) {
      close_mapping(&m, out, cap, &count);
      m = next;
    } else if (m.open) {
      parse_field(p, line_end, &m);
    }
    p = nl ? nl + 1 : end;
  }
  close_mapping(&m, out, cap, &count);
  return count;
}

/* The whole of /proc/self/smaps (it has no size; read until EOF). NULL with errno on failure. */
static char *read_all(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) break;
      buf = bigger;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (r == 0) {
      close(fd);
      *len = n;
      return buf;
    }
    n += (size_t)r;
  }
  int saved = buf ? errno : ENOMEM;
  free(buf);
  close(fd);
  errno = saved;
  return NULL;
}

fp_result file_pages_release(void) {
  fp_result res = {0};
  struct stat st;
  if (stat("/proc/self/exe", &st) != 0) {
    res.err = errno;
    return res;
  }
  fp_file exe = {major(st.st_dev), minor(st.st_dev), (uint64_t)st.st_ino};
  size_t len = 0;
  char *text = read_all("/proc/self/smaps", &len);
  if (!text) {
    res.err = errno;
    return res;
  }
  fp_range ranges[64];
  size_t n = file_pages_plan(text, len, &exe, ranges, 64);
  free(text);
  if (n > 64) n = 64; /* the executable has a handful of mappings; more would be a surprise, not a need */
  for (size_t i = 0; i < n; i++) {
    if (madvise((void *)(uintptr_t)ranges[i].start, (size_t)(ranges[i].end - ranges[i].start), MADV_DONTNEED) == 0) {
      res.mappings++;
      res.rss_kib += ranges[i].rss_kib;
    } else {
      res.failed++;
    }
  }
  return res;
}
