/* N-API bindings of the answer thread: its lifecycle (start, beats, fence, faults, stop, the
 * finalizers) and the registration of every binding (the rest: answer_thread_io_napi.c; the thread
 * and its rules: answer_thread.c). */
#include "answer_thread.h"

#include "napi_helpers.h"

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static int ans_stop(ans_t *p, int timeout_ms) {
  int r = ans_join(p, timeout_ms);
  pthread_mutex_lock(&p->mu);
  if (r == 0) {
    /* Ended: its dups go now, not when the handle is collected. */
    ans_close_sockets(p->socks, p->nsocks);
    p->socks = NULL;
    p->nsocks = 0;
    if (p->monitor_fd >= 0) close(p->monitor_fd);
    p->monitor_fd = -1;
    if (p->wake_fd >= 0) close(p->wake_fd);
    p->wake_fd = -1;
  }
  int release = !p->tsfn_released;
  /* Under the lock: a detached thread checks it before every call. */
  p->tsfn_released = 1;
  pthread_mutex_unlock(&p->mu);
  if (release) napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
  return r;
}

/* The callback is going away: released by ans_stop, or torn down with the environment. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  ans_t *p = data;
  ans_join(p, ANS_FINAL_JOIN_MS);
  pthread_mutex_lock(&p->mu);
  p->tsfn_released = 1;
  pthread_mutex_unlock(&p->mu);
  ans_unref(p);
}

static void ans_finalize(napi_env env, void *data, void *hint) {
  ans_t *p = data;
  ans_stop(p, ANS_FINAL_JOIN_MS);
  ans_unref(p);
}

/* The handle; `live`: the thread must still be running. */
ANS_INTERNAL ans_t *ans_get(napi_env env, napi_value v, int live) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    throw_type(env, "not an answer thread handle");
    return NULL;
  }
  ans_t *p = data;
  if (live && !p->running) {
    throw_type(env, "the answer thread is stopped");
    return NULL;
  }
  return p;
}

static napi_value AnsStart(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) return throw_type(env, "ansStart(onEvent, options)");
  double cap, fwd_rate, fwd_burst, rate, burst;
  if (!get_number_prop(env, argv[1], "capacity", &cap, 1) || !get_number_prop(env, argv[1], "forwardRate", &fwd_rate, 1) ||
      !get_number_prop(env, argv[1], "forwardBurst", &fwd_burst, 1) || !get_number_prop(env, argv[1], "replyRate", &rate, 1) ||
      !get_number_prop(env, argv[1], "replyBurst", &burst, 1))
    return NULL;
  if (!(cap >= 1 && cap <= ANS_MAX_CAPACITY) || !(fwd_rate >= 0) || !(fwd_burst >= 1) || !(rate >= 0) || !(burst >= 0)) return throw_range(env, "answer thread options out of range");
  ans_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->ring = calloc((size_t)cap, sizeof *p->ring);
  p->owned = l2_owned_new();
  p->limiter = l2_limiter_new(rate, burst, 4096);
  p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!p->ring || !p->owned || !p->limiter || p->wake_fd < 0) {
    int err = p->wake_fd < 0 ? errno : ENOMEM;
    const char *what = p->wake_fd < 0 ? "eventfd" : "calloc";
    if (p->wake_fd >= 0) close(p->wake_fd);
    free(p->ring);
    l2_owned_free(p->owned);
    l2_limiter_free(p->limiter);
    free(p);
    return throw_errno(env, what, err);
  }
  p->monitor_fd = -1;
  p->cap = (int)cap;
  p->fwd_rate = fwd_rate;
  p->fwd_burst = fwd_burst;
  p->fwd_tokens = fwd_burst;
  p->fwd_at = ans_now();
  pthread_mutex_init(&p->mu, NULL);
  napi_value name;
  napi_create_string_utf8(env, "ironlb answer thread", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, p, tsfn_finalize, NULL, call_js, &p->tsfn) != napi_ok) {
    p->refs = 1;
    ans_unref(p);
    return throw_type(env, "could not create the answer thread's callback");
  }
  p->refs = 2;
  /* The thread must not keep the process alive by itself. */
  napi_unref_threadsafe_function(env, p->tsfn);
  napi_value handle;
  if (napi_create_external(env, p, ans_finalize, NULL, &handle) != napi_ok) {
    p->refs = 1; /* the callback's finalizer frees it */
    ans_stop(p, ANS_FINAL_JOIN_MS);
    return throw_type(env, "could not create the answer thread handle");
  }
  int err = pthread_create(&p->thread, NULL, ans_main, p);
  if (err != 0) {
    ans_stop(p, ANS_FINAL_JOIN_MS); /* the handle's finalizer frees it */
    return throw_errno(env, "pthread_create", err);
  }
  p->running = 1;
  return handle;
}

static napi_value AnsBeats(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansBeats(handle)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  return make_int(env, (int64_t)atomic_load(&p->beats));
}

static napi_value AnsFence(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 1) return throw_type(env, "ansFence(handle)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  atomic_store(&p->fenced, 1);
  return make_undefined(env);
}

/* ansAnswerFor(h, ms): answers go out until ms from now (0 < ms <= 60000), and not after. */
static napi_value AnsAnswerFor(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansAnswerFor(handle, ms)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  if (!check_number(env, argv[1], "ms")) return NULL;
  double ms;
  napi_get_value_double(env, argv[1], &ms);
  if (!(ms > 0 && ms <= 60000)) return throw_range(env, "ms must be in (0, 60000]");
  long long until = (long long)((ans_now() + ms) * 1000.0);
  atomic_store(&p->answer_until_us, until > 0 ? until : 1);
  return make_undefined(env);
}

static napi_value AnsFault(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansFault(handle, 'exit' | 'wedge')");
  ans_t *p = ans_get(env, argv[0], 1);
  if (!p) return NULL;
  char name[16] = {0};
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) != napi_ok) return throw_type(env, "fault must be a string");
  if (strcmp(name, "exit") == 0) atomic_store(&p->fault, ANS_FAULT_EXIT);
  else if (strcmp(name, "wedge") == 0) atomic_store(&p->fault, ANS_FAULT_WEDGE);
  else return throw_range(env, "fault must be 'exit' or 'wedge'");
  ans_wake(p);
  return make_undefined(env);
}

static napi_value AnsStop(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, &argc, argv)) return NULL;
  if (argc < 2) return throw_type(env, "ansStop(handle, timeoutMs)");
  ans_t *p = ans_get(env, argv[0], 0);
  if (!p) return NULL;
  int32_t ms;
  if (!get_int(env, argv[1], &ms, "timeoutMs")) return NULL;
  if (ms < 0 || ms > 60000) return throw_range(env, "timeoutMs out of range");
  napi_value r;
  napi_get_boolean(env, ans_stop(p, ms) == 0, &r);
  return r;
}

void answer_thread_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"ansStart", NULL, AnsStart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansSockets", NULL, AnsSockets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansOwned", NULL, AnsOwned, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansLimit", NULL, AnsLimit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansEvents", NULL, AnsEvents, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansTake", NULL, AnsTake, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansMonitorRearm", NULL, AnsMonitorRearm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansStats", NULL, AnsStats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansBeats", NULL, AnsBeats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansFence", NULL, AnsFence, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansAnswerFor", NULL, AnsAnswerFor, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansFault", NULL, AnsFault, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ansStop", NULL, AnsStop, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
