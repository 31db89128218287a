/* N-API bindings of the layer-2 answer path (l2_answer.c), for tests only: they let
 * test/unit/net/l2-answer-native*.test.ts compare the C with the TypeScript it ports. The native
 * responder thread calls l2_answer.h directly. */
#include "l2_answer.h"

#include <math.h>
#include <stdlib.h>

#include "napi_helpers.h"

#define L2_MAX_ARGS 8

/* Handles are externals carrying a type tag, so that one kind is never taken for another. */
static const napi_type_tag OWNED_TAG = {0x6c32616e73776572ULL, 0x6f776e6564746162ULL};
static const napi_type_tag LIMITER_TAG = {0x6c32616e73776572ULL, 0x6c696d6974657221ULL};

static int get_args_n(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  *argc = L2_MAX_ARGS;
  return napi_get_cb_info(env, info, argc, argv, NULL, NULL) == napi_ok;
}

static void *get_handle(napi_env env, napi_value v, const napi_type_tag *tag, const char *what) {
  napi_valuetype t;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_external && napi_check_object_type_tag(env, v, tag, &tagged) == napi_ok && tagged &&
      napi_get_value_external(env, v, &data) == napi_ok && data)
    return data;
  throw_type(env, what);
  return NULL;
}

static napi_value make_handle(napi_env env, void *data, const napi_type_tag *tag, napi_finalize fin) {
  napi_value h;
  if (napi_create_external(env, data, fin, NULL, &h) != napi_ok) {
    fin(env, data, NULL);
    return throw_type(env, "could not create the handle");
  }
  napi_type_tag_object(env, h, tag);
  return h;
}

static void owned_finalize(napi_env env, void *data, void *hint) { l2_owned_free(data); }

/* Fills `t` from [{ip: 4 or 16 bytes, ifindexes: number[] | null}]; 0 when it threw. */
/* Fills `t` from [{ip: 4 or 16 bytes, ifindexes: number[] | null}]; 0: thrown. */
__attribute__((visibility("hidden"))) int l2_fill_owned(napi_env env, napi_value arr, l2_owned *t) {
  bool is_arr = false;
  uint32_t n = 0;
  napi_is_array(env, arr, &is_arr);
  if (!is_arr) {
    throw_type(env, "owned must be an array of {ip, ifindexes}");
    return 0;
  }
  napi_get_array_length(env, arr, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e, ipv, ixv;
    napi_valuetype et;
    napi_get_element(env, arr, i, &e);
    if (napi_typeof(env, e, &et) != napi_ok || et != napi_object) {
      throw_type(env, "each owned entry must be an object {ip, ifindexes}");
      return 0;
    }
    uint8_t *ip;
    size_t iplen;
    napi_get_named_property(env, e, "ip", &ipv);
    if (!get_bytes(env, ipv, &ip, &iplen, "ip")) return 0;
    if (iplen != 4 && iplen != 16) {
      throw_range(env, "ip must be 4 or 16 bytes");
      return 0;
    }
    napi_get_named_property(env, e, "ifindexes", &ixv);
    int32_t *ix = NULL;
    uint32_t m = 0;
    if (!is_nullish(env, ixv)) {
      bool ix_arr = false;
      napi_is_array(env, ixv, &ix_arr);
      if (!ix_arr) {
        throw_type(env, "ifindexes must be an array of numbers or null");
        return 0;
      }
      napi_get_array_length(env, ixv, &m);
      ix = malloc((m ? m : 1) * sizeof *ix);
      if (!ix) {
        throw_errno(env, "malloc", ENOMEM);
        return 0;
      }
      for (uint32_t j = 0; j < m; j++) {
        napi_value x;
        napi_get_element(env, ixv, j, &x);
        if (!get_int(env, x, &ix[j], "ifindex")) {
          free(ix);
          return 0;
        }
      }
    }
    int rc = l2_owned_set(t, iplen == 4 ? 4 : 6, ip, ix, m);
    free(ix);
    if (rc < 0) {
      throw_errno(env, "l2_owned_set", ENOMEM);
      return 0;
    }
  }
  return 1;
}

/* l2OwnedTest(entries) -> handle */
static napi_value OwnedTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "l2OwnedTest(entries)");
  l2_owned *t = l2_owned_new();
  if (!t) return throw_errno(env, "l2_owned_new", ENOMEM);
  if (!l2_fill_owned(env, argv[0], t)) {
    l2_owned_free(t);
    return NULL;
  }
  return make_handle(env, t, &OWNED_TAG, owned_finalize);
}

/* l2OwnedSizeTest(handle, family) -> addresses of the family */
static napi_value OwnedSizeTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "l2OwnedSizeTest(owned, family)");
  l2_owned *t = get_handle(env, argv[0], &OWNED_TAG, "owned must be an l2OwnedTest handle");
  double family;
  if (!t || !get_whole(env, argv[1], 4, 6, &family, "family")) return NULL;
  if (family == 5) return throw_range(env, "family must be 4 or 6");
  return make_int(env, (int64_t)l2_owned_size(t, (int)family));
}

/* l2AnswerTest(kind, frame, length, ifindex, mac, owned, out) -> answer length or -reason.
 * `length` is clamped to the frame (as the TypeScript clamps it); `owned` is a handle or an
 * array of entries (a table built for this call). */
static napi_value AnswerTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 7) return throw_type(env, "l2AnswerTest(kind, frame, length, ifindex, mac, owned, out)");
  char kind[8];
  size_t kn = 0;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &kn) != napi_ok || kn != 3 ||
      (strcmp(kind, "arp") != 0 && strcmp(kind, "ndp") != 0))
    return throw_type(env, "kind must be 'arp' or 'ndp'");
  uint8_t *frame, *mac, *out;
  size_t flen, mlen, olen;
  double length;
  int32_t ifindex;
  if (!get_bytes(env, argv[1], &frame, &flen, "frame")) return NULL;
  if (!get_whole(env, argv[2], 0, 4294967295.0, &length, "length")) return NULL;
  if (!get_int(env, argv[3], &ifindex, "ifindex")) return NULL;
  if (!get_bytes(env, argv[4], &mac, &mlen, "mac")) return NULL;
  if (mlen != 6) return throw_range(env, "mac must be 6 bytes");
  if (!get_bytes(env, argv[6], &out, &olen, "out")) return NULL;
  if (olen < L2_ANSWER_MAX) return throw_range(env, "out must hold at least 256 bytes");
  bool is_arr = false;
  napi_is_array(env, argv[5], &is_arr);
  l2_owned *owned = NULL, *temp = NULL;
  if (is_arr) {
    if (!(temp = l2_owned_new())) return throw_errno(env, "l2_owned_new", ENOMEM);
    if (!l2_fill_owned(env, argv[5], temp)) {
      l2_owned_free(temp);
      return NULL;
    }
    owned = temp;
  } else if (!(owned = get_handle(env, argv[5], &OWNED_TAG, "owned must be an l2OwnedTest handle or an array of entries"))) {
    return NULL;
  }
  size_t len = length < (double)flen ? (size_t)length : flen;
  int r = kind[0] == 'a' ? l2_answer_arp(frame, len, ifindex, mac, owned, out) : l2_answer_ndp(frame, len, ifindex, mac, owned, out);
  l2_owned_free(temp);
  return make_int(env, r);
}

static void limiter_finalize(napi_env env, void *data, void *hint) { l2_limiter_free(data); }

static int get_double(napi_env env, napi_value v, double *out, const char *what) {
  if (!check_number(env, v, what)) return 0;
  napi_get_value_double(env, v, out);
  return 1;
}

/* l2LimiterTest(ratePerSecond, burst, slots) -> handle */
static napi_value LimiterTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "l2LimiterTest(ratePerSecond, burst, slots)");
  double rate, burst, slots;
  if (!get_double(env, argv[0], &rate, "ratePerSecond") || !get_double(env, argv[1], &burst, "burst") ||
      !get_whole(env, argv[2], 0, 1 << 24, &slots, "slots"))
    return NULL;
  l2_limiter *l = l2_limiter_new(rate, burst, (size_t)slots);
  if (!l) return throw_errno(env, "l2_limiter_new", ENOMEM);
  return make_handle(env, l, &LIMITER_TAG, limiter_finalize);
}

/* l2LimiterAllowTest(handle, mac, nowMs) -> boolean */
static napi_value LimiterAllowTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "l2LimiterAllowTest(limiter, mac, nowMs)");
  l2_limiter *l = get_handle(env, argv[0], &LIMITER_TAG, "limiter must be an l2LimiterTest handle");
  uint8_t *mac;
  size_t mlen;
  double now;
  if (!l || !get_bytes(env, argv[1], &mac, &mlen, "mac") || !get_double(env, argv[2], &now, "nowMs")) return NULL;
  if (mlen != 6) return throw_range(env, "mac must be 6 bytes");
  napi_value r;
  napi_get_boolean(env, l2_limiter_allow(l, mac, now) != 0, &r);
  return r;
}

/* l2LimiterSetTest(handle, ratePerSecond, burst) */
static napi_value LimiterSetTest(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[L2_MAX_ARGS];
  if (!get_args_n(env, info, &argc, argv)) return NULL;
  if (argc < 3) return throw_type(env, "l2LimiterSetTest(limiter, ratePerSecond, burst)");
  l2_limiter *l = get_handle(env, argv[0], &LIMITER_TAG, "limiter must be an l2LimiterTest handle");
  double rate, burst;
  if (!l || !get_double(env, argv[1], &rate, "ratePerSecond") || !get_double(env, argv[2], &burst, "burst")) return NULL;
  l2_limiter_set(l, rate, burst);
  return make_undefined(env);
}

void l2_answer_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"l2OwnedTest", NULL, OwnedTest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"l2OwnedSizeTest", NULL, OwnedSizeTest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"l2AnswerTest", NULL, AnswerTest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"l2LimiterTest", NULL, LimiterTest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"l2LimiterAllowTest", NULL, LimiterAllowTest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"l2LimiterSetTest", NULL, LimiterSetTest, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
