/* Argument and error helpers shared by the addon's source files (all static: each file gets its
 * own copy, unused ones are not warned about). */
#ifndef IRONLB_NAPI_HELPERS_H
#define IRONLB_NAPI_HELPERS_H

#include <node_api.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 4
#define HELPER __attribute__((unused)) static

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                     */

HELPER napi_value throw_errno(napi_env env, const char *syscall, int err) {
  const char *name = strerrorname_np(err);
  char code[32];
  snprintf(code, sizeof code, "%s", name ? name : "EUNKNOWN");
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall, strerror(err), code);
  napi_value jcode, jmsg, error, jerrno, jsyscall;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_error(env, jcode, jmsg, &error);
  napi_create_int32(env, err, &jerrno);
  napi_set_named_property(env, error, "errno", jerrno);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &jsyscall);
  napi_set_named_property(env, error, "syscall", jsyscall);
  napi_throw(env, error);
  return NULL;
}

HELPER napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

HELPER napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

HELPER int get_args(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  *argc = MAX_ARGS;
  return napi_get_cb_info(env, info, argc, argv, NULL, NULL) == napi_ok;
}

HELPER int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 1;
  return t == napi_undefined || t == napi_null;
}

/* Throws a TypeError ("<what> must be a number") and returns 0 unless `v` is a number. */
HELPER int check_number(napi_env env, napi_value v, const char *what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_number) return 1;
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a number", what);
  throw_type(env, msg);
  return 0;
}

/* Reads a non-negative int32 argument; throws a TypeError and returns 0 on failure. */
HELPER int get_int(napi_env env, napi_value v, int32_t *out, const char *what) {
  if (!check_number(env, v, what)) return 0;
  napi_get_value_int32(env, v, out);
  return 1;
}

HELPER int get_uint32(napi_env env, napi_value v, uint32_t *out, const char *what) {
  if (!check_number(env, v, what)) return 0;
  napi_get_value_uint32(env, v, out);
  return 1;
}

/* Any Uint8Array (Buffer included). The data pointer already includes the byte offset. */
HELPER int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type type;
    size_t n;
    void *p;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off);
    if (type == napi_uint8_array) {
      *data = (uint8_t *)p;
      *len = n;
      return 1;
    }
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", what);
  throw_type(env, msg);
  return 0;
}

/* 1: read; 2: absent and not required; 0: thrown. */
HELPER int get_number_prop(napi_env env, napi_value obj, const char *name, double *out, int required) {
  napi_value v;
  napi_valuetype t = napi_undefined;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) {
    throw_type(env, "options must be an object");
    return 0;
  }
  napi_typeof(env, v, &t);
  if (!required && t == napi_undefined) return 2;
  if (!check_number(env, v, name)) return 0;
  napi_get_value_double(env, v, out);
  return 1;
}

/* A Float64Array; throws a TypeError ("<what> must be a Float64Array") and returns 0 otherwise. */
HELPER int get_f64(napi_env env, napi_value v, double **data, size_t *len, const char *what) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type type = napi_int8_array;
  void *p = NULL;
  *len = 0;
  if (is_ta) napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL);
  if (type != napi_float64_array) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a Float64Array", what);
    throw_type(env, msg);
    return 0;
  }
  *data = p;
  return 1;
}

/* A whole number in [lo, hi]; throws a TypeError or RangeError and returns 0 otherwise. */
HELPER int get_whole(napi_env env, napi_value v, double lo, double hi, double *out, const char *what) {
  if (!check_number(env, v, what)) return 0;
  napi_get_value_double(env, v, out);
  if (!(*out >= lo && *out <= hi) || *out != floor(*out)) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a whole number in [%.0f, %.0f]", what, lo, hi);
    throw_range(env, msg);
    return 0;
  }
  return 1;
}

HELPER napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

HELPER napi_value make_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

#endif
