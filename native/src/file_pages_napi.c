/* N-API bindings of file_pages.c: releaseExecutablePages() for the speaker, and the plan on a
 * given smaps text for test/unit/net/file-pages.test.ts. */
#include "file_pages.h"

#include <stdlib.h>

#include "napi_helpers.h"

static void set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value ReleaseExecutablePages(napi_env env, napi_callback_info info) {
  fp_result r = file_pages_release();
  if (r.err != 0) return throw_errno(env, "reading /proc/self/smaps", r.err);
  napi_value out;
  napi_create_object(env, &out);
  set_number(env, out, "mappings", (double)r.mappings);
  set_number(env, out, "rssKiB", (double)r.rss_kib);
  set_number(env, out, "failed", (double)r.failed);
  return out;
}

/* filePagesPlanTest(smapsText, major, minor, inode): [{ start, end (bigint), rssKiB }]. */
static napi_value FilePagesPlanTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv) || argc < 4) return throw_type(env, "filePagesPlanTest(smapsText, major, minor, inode)");
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) return throw_type(env, "smapsText must be a string");
  double major, minor, inode;
  const double max = 9007199254740991.0; /* 2^53 - 1: device numbers and inodes as the tests pass them */
  if (!get_whole(env, argv[1], 0, max, &major, "major") || !get_whole(env, argv[2], 0, max, &minor, "minor") || !get_whole(env, argv[3], 0, max, &inode, "inode"))
    return NULL;
  char *text = malloc(len + 1);
  if (!text) return throw_errno(env, "malloc", ENOMEM);
  napi_get_value_string_utf8(env, argv[0], text, len + 1, &len);
  fp_file file = {(unsigned)major, (unsigned)minor, (uint64_t)inode};
  size_t n = file_pages_plan(text, len, &file, NULL, 0);
  fp_range *ranges = n ? calloc(n, sizeof *ranges) : NULL;
  if (n && !ranges) {
    free(text);
    return throw_errno(env, "calloc", ENOMEM);
  }
  file_pages_plan(text, len, &file, ranges, n);
  free(text);
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (size_t i = 0; i < n; i++) {
    napi_value o, start, end;
    napi_create_object(env, &o);
    napi_create_bigint_uint64(env, ranges[i].start, &start);
    napi_create_bigint_uint64(env, ranges[i].end, &end);
    napi_set_named_property(env, o, "start", start);
    napi_set_named_property(env, o, "end", end);
    set_number(env, o, "rssKiB", (double)ranges[i].rss_kib);
    napi_set_element(env, arr, (uint32_t)i, o);
  }
  free(ranges);
  return arr;
}

void file_pages_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"releaseExecutablePages", NULL, ReleaseExecutablePages, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filePagesPlanTest", NULL, FilePagesPlanTest, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
