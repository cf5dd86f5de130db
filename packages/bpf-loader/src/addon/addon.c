/* Module entry, error helpers and capture of libbpf's log. */
#include "addon.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

/* libbpf prints from the calling thread, so a thread-local buffer keeps
 * worker threads apart. Entries are "<level digit><text>\0". */
static __thread char *log_buf;
static __thread size_t log_len, log_cap;

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return 0;
  size_t need = log_len + (size_t)n + 2;
  if (need > log_cap) {
    size_t cap = log_cap ? log_cap : 4096;
    while (cap < need) cap *= 2;
    char *p = realloc(log_buf, cap);
    if (!p) return 0;
    log_buf = p;
    log_cap = cap;
  }
  log_buf[log_len++] = (char)('0' + (int)level);
  vsnprintf(log_buf + log_len, (size_t)n + 1, fmt, ap);
  log_len += (size_t)n + 1;
  return 0;
}

void log_reset(void) { log_len = 0; }

/* takeLog(): [{level, message}] captured since the last native operation began. */
napi_value take_log(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  CHECK(napi_create_array(env, &arr));
  uint32_t i = 0;
  size_t pos = 0;
  while (pos < log_len) {
    int level = log_buf[pos] - '0';
    const char *text = log_buf + pos + 1;
    size_t tl = strlen(text);
    napi_value entry, lv, msg;
    CHECK(napi_create_object(env, &entry));
    CHECK(napi_create_int32(env, level, &lv));
    CHECK(napi_create_string_utf8(env, text, tl, &msg));
    CHECK(napi_set_named_property(env, entry, "level", lv));
    CHECK(napi_set_named_property(env, entry, "message", msg));
    CHECK(napi_set_element(env, arr, i++, entry));
    pos += tl + 2;
  }
  log_len = 0;
  return arr;
}

static napi_value make_error(napi_env env, const char *code, const char *message) {
  napi_value msg, err, c;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  if (code) {
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
    napi_set_named_property(env, err, "nativeCode", c);
  }
  return err;
}

/* Errors carry errno and the failing operation; TS turns them into BpfError. */
napi_value throw_errno(napi_env env, const char *op, int err) {
  if (err < 0) err = -err;
  char reason[256], message[512];
  /* libbpf's own codes (4000+) describe ELF/object format problems. */
  if (err >= __LIBBPF_ERRNO__START) libbpf_strerror(err, reason, sizeof reason);
  else snprintf(reason, sizeof reason, "%s", strerror(err));
  snprintf(message, sizeof message, "%s: %s", op, reason);
  napi_value e = make_error(env, NULL, message), n, o;
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &o);
  napi_set_named_property(env, e, "op", o);
  napi_throw(env, e);
  return NULL;
}

napi_value throw_plain(napi_env env, const char *code, const char *message) {
  napi_throw(env, make_error(env, code, message));
  return NULL;
}

void throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char message[512];
  snprintf(message, sizeof message, "%s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "NAPI", message);
}

char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

struct object *get_object(napi_env env, napi_value v, bool need_open) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    throw_plain(env, "BAD_HANDLE", "not a BPF object handle");
    return NULL;
  }
  struct object *o = p;
  if (need_open && o->closed) {
    throw_plain(env, "CLOSED", "the BPF object is closed");
    return NULL;
  }
  return o;
}

struct bpf_program *find_program(napi_env env, struct object *o, napi_value name) {
  char *n = get_string(env, name);
  if (!n) {
    throw_plain(env, "BAD_ARGUMENT", "program name must be a string");
    return NULL;
  }
  struct bpf_program *p = bpf_object__find_program_by_name(o->obj, n);
  free(n);
  if (!p) throw_errno(env, "bpf_object__find_program_by_name", ENOENT);
  return p;
}

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value possible_cpus(napi_env env, napi_callback_info info) {
  (void)info;
  int n = libbpf_num_possible_cpus();
  if (n < 0) return throw_errno(env, "libbpf_num_possible_cpus", n);
  napi_value v;
  CHECK(napi_create_int32(env, n, &v));
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  libbpf_set_print(on_libbpf_print);
  /* RLIMIT_MEMLOCK: libbpf skips raising it on kernels that charge BPF
   * memory to the memory cgroup (>= 5.11) and ignores a failed raise. */
  export_fn(env, exports, "takeLog", take_log);
  export_fn(env, exports, "possibleCpus", possible_cpus);
  register_object(env, exports);
  register_attach(env, exports);
  register_map(env, exports);
  register_ringbuf(env, exports);
  register_privileges(env, exports);
  register_features(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
