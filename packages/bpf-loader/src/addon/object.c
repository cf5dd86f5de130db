/* Opening, configuring, loading and closing a BPF object. */
#include "addon.h"
#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

void object_init_detacher(struct object *o) {
  pthread_mutex_init(&o->lock, NULL);
  pthread_cond_init(&o->wake, NULL);
}

void object_close(struct object *o) {
  if (o->closed) return;
  o->closed = true;
  /* the links released in the background go before the object they came from */
  if (o->n_detachers) {
    pthread_mutex_lock(&o->lock);
    o->detacher_stop = true;
    pthread_cond_broadcast(&o->wake);
    pthread_mutex_unlock(&o->lock);
    for (unsigned i = 0; i < o->n_detachers; i++) pthread_join(o->detachers[i], NULL);
    o->n_detachers = 0;
  }
  free(o->released);
  free(o->released_usdt);
  free(o->released_id);
  o->released = NULL;
  o->released_usdt = NULL;
  o->released_id = NULL;
  for (size_t i = 0; i < o->n_readers; i++)
    if (o->readers[i]) reader_close(o->readers[i]);
  for (size_t i = 0; i < o->n_links; i++)
    if (o->links[i]) destroy_link(o->links[i]);
  free(o->readers);
  free(o->links);
  free(o->link_usdt);
  free(o->link_perf_fd);
  free(o->link_gone_ns);
  o->link_perf_fd = NULL;
  o->link_gone_ns = NULL;
  o->readers = NULL;
  o->links = NULL;
  o->link_usdt = NULL;
  o->n_readers = o->n_links = 0;
  bpf_object__close(o->obj);
  o->obj = NULL;
  free(o->elf_copy);
  o->elf_copy = NULL;
}

/* Dropping the last JS reference closes the object: fds are released and
 * probes detached, exactly as close() would. */
static void finalize_object(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct object *o = data;
  object_close(o);
  pthread_mutex_destroy(&o->lock);
  pthread_cond_destroy(&o->wake);
  free(o);
}

/* open(pathOrBuffer, name?). Every failure path frees what was allocated
 * before it: the name, the ELF copy, the object and libbpf's object. */
static napi_value open_object(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  log_reset();
  char *name = NULL, *path = NULL;
  struct object *o = NULL;
  napi_value ext = NULL;
  napi_valuetype t;
  if (argc > 1 && napi_typeof(env, argv[1], &t) == napi_ok && t == napi_string) {
    name = get_string(env, argv[1]);
    if (!name) {
      throw_errno(env, "read the object name", ENOMEM);
      goto out;
    }
  }
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
  o = calloc(1, sizeof *o);
  if (!o) {
    throw_errno(env, "calloc", ENOMEM);
    goto out;
  }
  object_init_detacher(o);
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (is_buffer) {
    void *data;
    size_t len;
    if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
      throw_napi_failure(env, "napi_get_buffer_info");
      goto out;
    }
    o->elf_copy = malloc(len ? len : 1);
    if (!o->elf_copy) {
      throw_errno(env, "malloc", ENOMEM);
      goto out;
    }
    memcpy(o->elf_copy, data, len);
    errno = 0;
    o->obj = bpf_object__open_mem(o->elf_copy, len, &opts);
  } else {
    path = get_string(env, argv[0]);
    if (!path) {
      throw_plain(env, "BAD_ARGUMENT", "source must be a path or a Buffer");
      goto out;
    }
    errno = 0;
    o->obj = bpf_object__open_file(path, &opts);
  }
  if (!o->obj) {
    throw_errno(env, "bpf_object__open", errno ? errno : EINVAL);
    goto out;
  }
  if (napi_create_external(env, o, finalize_object, NULL, &ext) != napi_ok) {
    throw_napi_failure(env, "napi_create_external");
    ext = NULL;
    goto out;
  }
  o = NULL; /* owned by the external now */
out:
  if (o) {
    object_close(o); /* closes libbpf's object and frees the ELF copy */
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->wake);
    free(o);
  }
  free(path);
  free(name);
  return ext;
}

static napi_value close_object(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], false);
  if (!o) return NULL;
  object_close(o);
  return NULL;
}

static napi_value load_object(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (o->loaded) return throw_plain(env, "ALREADY_LOADED", "the BPF object is already loaded");
  log_reset();
  /* The verifier gives up with EAGAIN when the loading thread has a signal
   * pending (libbpf retries five times). A sampling profiler in the process
   * (node --cpu-prof, an APM agent's) signals this thread every millisecond
   * or so, and a large program takes longer to verify: it was refused every
   * time. Signals are held for the load and delivered after it. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int err = bpf_object__load(o->obj);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) return throw_errno(env, "bpf_object__load", err);
  o->loaded = true;
  return NULL;
}

/* programs(obj) -> [{name, type, section}] */
static napi_value list_programs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  napi_value arr;
  CHECK(napi_create_array(env, &arr));
  uint32_t i = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, o->obj) {
    napi_value e, n, t, s;
    CHECK(napi_create_object(env, &e));
    CHECK(napi_create_string_utf8(env, bpf_program__name(p), NAPI_AUTO_LENGTH, &n));
    CHECK(napi_create_int32(env, (int)bpf_program__type(p), &t));
    CHECK(napi_create_string_utf8(env, bpf_program__section_name(p), NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_named_property(env, e, "name", n));
    CHECK(napi_set_named_property(env, e, "type", t));
    CHECK(napi_set_named_property(env, e, "section", s));
    CHECK(napi_set_element(env, arr, i++, e));
  }
  return arr;
}

/* Finds `name` in the .rodata datasec. Returns size, sets *offset; -ENOENT if
 * there is no such variable, -ESRCH if the object has no .rodata at all. */
static long rodata_var(struct object *o, const char *name, size_t *offset, struct bpf_map **map) {
  struct btf *btf = bpf_object__btf(o->obj);
  *map = bpf_object__find_map_by_name(o->obj, ".rodata");
  if (!btf || !*map) return -ESRCH;
  int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (sec_id < 0) return -ESRCH;
  const struct btf_type *sec = btf__type_by_id(btf, sec_id);
  const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, vs++) {
    const struct btf_type *var = btf__type_by_id(btf, vs->type);
    if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0) {
      *offset = vs->offset;
      return vs->size;
    }
  }
  return -ENOENT;
}

/* constantSize(obj, name) -> size in bytes, -1 no such variable, -2 no .rodata */
static napi_value constant_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) return throw_plain(env, "BAD_ARGUMENT", "constant name must be a string");
  size_t off;
  struct bpf_map *m;
  long size = rodata_var(o, name, &off, &m);
  free(name);
  napi_value v;
  CHECK(napi_create_int64(env, size >= 0 ? size : size == -ENOENT ? -1 : -2, &v));
  return v;
}

/* setConstant(obj, name, buffer): buffer length must equal the variable size. */
static napi_value set_constant(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (o->loaded)
    return throw_plain(env, "ALREADY_LOADED", "constants can only be set before load()");
  char *name = get_string(env, argv[1]);
  if (!name) return throw_plain(env, "BAD_ARGUMENT", "constant name must be a string");
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    free(name);
    return throw_plain(env, "BAD_ARGUMENT", "constant value must be a Buffer");
  }
  size_t off;
  struct bpf_map *m;
  long size = rodata_var(o, name, &off, &m);
  free(name);
  if (size < 0) return throw_errno(env, "find .rodata variable", (int)-size);
  if ((size_t)size != len) return throw_errno(env, "constant size", EINVAL);
  size_t total;
  char *init = (char *)bpf_map__initial_value(m, &total);
  if (!init || off + len > total) return throw_errno(env, "bpf_map__initial_value", EINVAL);
  memcpy(init + off, data, len);
  return NULL;
}

/* testRun(obj, program, ctx|null, repeat, cpu) -> retval; runs the program
 * once (or `repeat` times) through BPF_PROG_TEST_RUN on the calling thread. */
static napi_value test_run(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (is_buffer) {
    void *data;
    size_t len;
    CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
    opts.ctx_in = data;
    opts.ctx_size_in = (__u32)len;
  }
  int32_t repeat = 0, cpu = -1;
  napi_get_value_int32(env, argv[3], &repeat);
  napi_get_value_int32(env, argv[4], &cpu);
  opts.repeat = repeat;
  if (cpu >= 0) {
    opts.flags = BPF_F_TEST_RUN_ON_CPU;
    opts.cpu = (__u32)cpu;
  }
  int err = bpf_prog_test_run_opts(bpf_program__fd(p), &opts);
  if (err) return throw_errno(env, "bpf_prog_test_run", errno);
  napi_value v;
  CHECK(napi_create_uint32(env, opts.retval, &v));
  return v;
}

/* programInfo(obj) -> [{name, loaded, verifiedInsns, xlatedBytes, jitedBytes,
 * runTimeNs, runCount}]: what the kernel says of each loaded program
 * (verified_insns: how much of the verifier's 1M-instruction budget it took;
 * run time and count only while kernel.bpf_stats_enabled is 1). */
static napi_value program_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  napi_value arr;
  CHECK(napi_create_array(env, &arr));
  uint32_t i = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, o->obj) {
    napi_value e, v;
    CHECK(napi_create_object(env, &e));
    CHECK(napi_create_string_utf8(env, bpf_program__name(p), NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, e, "name", v));
    int fd = o->loaded ? bpf_program__fd(p) : -1;
    CHECK(napi_get_boolean(env, fd >= 0, &v));
    CHECK(napi_set_named_property(env, e, "loaded", v));
    if (fd >= 0) {
      struct bpf_prog_info pi;
      __u32 len = sizeof pi;
      memset(&pi, 0, sizeof pi);
      if (bpf_obj_get_info_by_fd(fd, &pi, &len)) return throw_errno(env, "bpf_obj_get_info_by_fd", errno);
      CHECK(napi_create_uint32(env, pi.verified_insns, &v));
      CHECK(napi_set_named_property(env, e, "verifiedInsns", v));
      CHECK(napi_create_uint32(env, pi.xlated_prog_len, &v));
      CHECK(napi_set_named_property(env, e, "xlatedBytes", v));
      CHECK(napi_create_uint32(env, pi.jited_prog_len, &v));
      CHECK(napi_set_named_property(env, e, "jitedBytes", v));
      CHECK(napi_create_bigint_uint64(env, pi.run_time_ns, &v));
      CHECK(napi_set_named_property(env, e, "runTimeNs", v));
      CHECK(napi_create_bigint_uint64(env, pi.run_cnt, &v));
      CHECK(napi_set_named_property(env, e, "runCount", v));
    }
    CHECK(napi_set_element(env, arr, i++, e));
  }
  return arr;
}

/* runStats(obj, [program, ...]) -> [runTimeNs, runCount]: the programs' run
 * time and runs summed (bpf_stats; zero while kernel.bpf_stats_enabled is 0),
 * one info call per program and nothing else: read several times a second by
 * a caller that weighs what its probes cost. A program not loaded counts 0. */
static napi_value run_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (!o->loaded) return throw_plain(env, "NOT_LOADED", "run statistics exist only after load()");
  uint32_t n = 0;
  CHECK(napi_get_array_length(env, argv[1], &n));
  __u64 run_ns = 0, runs = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value name;
    CHECK(napi_get_element(env, argv[1], i, &name));
    struct bpf_program *p = find_program(env, o, name);
    if (!p) return NULL;
    int fd = bpf_program__fd(p);
    if (fd < 0) continue;
    struct bpf_prog_info pi;
    __u32 len = sizeof pi;
    memset(&pi, 0, sizeof pi);
    if (bpf_obj_get_info_by_fd(fd, &pi, &len)) return throw_errno(env, "bpf_obj_get_info_by_fd", errno);
    run_ns += pi.run_time_ns;
    runs += pi.run_cnt;
  }
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, 2, &arr));
  CHECK(napi_create_double(env, (double)run_ns, &v));
  CHECK(napi_set_element(env, arr, 0, v));
  CHECK(napi_create_double(env, (double)runs, &v));
  CHECK(napi_set_element(env, arr, 1, v));
  return arr;
}

/* setAutoload(obj, program, on): before load(), leave a program out of it. */
static napi_value set_autoload(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (o->loaded) return throw_plain(env, "ALREADY_LOADED", "which programs load can only be chosen before load()");
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  bool on = true;
  CHECK(napi_get_value_bool(env, argv[2], &on));
  int err = bpf_program__set_autoload(p, on);
  if (err) return throw_errno(env, "bpf_program__set_autoload", -err);
  return NULL;
}

void register_object(napi_env env, napi_value exports) {
  export_fn(env, exports, "open", open_object);
  export_fn(env, exports, "close", close_object);
  export_fn(env, exports, "load", load_object);
  export_fn(env, exports, "programs", list_programs);
  export_fn(env, exports, "constantSize", constant_size);
  export_fn(env, exports, "setConstant", set_constant);
  export_fn(env, exports, "testRun", test_run);
  export_fn(env, exports, "programInfo", program_info);
  export_fn(env, exports, "runStats", run_stats);
  export_fn(env, exports, "setAutoload", set_autoload);
}
