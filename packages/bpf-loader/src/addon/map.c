/* Map access. JS passes a map's fd; C checks that it is a map of this object
 * and that keys and values have that map's sizes before the kernel reads
 * them: a short Buffer would otherwise let the kernel read past its end. */
#include "addon.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>

/* Maps with one value slot per possible CPU. */
static bool per_cpu(const struct bpf_map *m) {
  switch (bpf_map__type(m)) {
  case BPF_MAP_TYPE_PERCPU_ARRAY:
  case BPF_MAP_TYPE_PERCPU_HASH:
  case BPF_MAP_TYPE_LRU_PERCPU_HASH:
  case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
    return true;
  default:
    return false;
  }
}

/* mapInfo(obj, name) -> {fd, type, keySize, valueSize, maxEntries, perCpu, ringBuffer} | undefined */
static napi_value map_info(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) return throw_plain(env, "BAD_ARGUMENT", "map name must be a string");
  struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);
  free(name);
  napi_value r, v;
  if (!m) {
    CHECK(napi_get_undefined(env, &r));
    return r;
  }
  CHECK(napi_create_object(env, &r));
  CHECK(napi_create_int32(env, bpf_map__fd(m), &v));
  CHECK(napi_set_named_property(env, r, "fd", v));
  CHECK(napi_create_uint32(env, (uint32_t)bpf_map__type(m), &v));
  CHECK(napi_set_named_property(env, r, "type", v));
  CHECK(napi_create_uint32(env, bpf_map__key_size(m), &v));
  CHECK(napi_set_named_property(env, r, "keySize", v));
  CHECK(napi_create_uint32(env, bpf_map__value_size(m), &v));
  CHECK(napi_set_named_property(env, r, "valueSize", v));
  CHECK(napi_create_uint32(env, bpf_map__max_entries(m), &v));
  CHECK(napi_set_named_property(env, r, "maxEntries", v));
  /* the kind of map, decided here from libbpf's enum so JS keeps no copy of its numbers */
  CHECK(napi_get_boolean(env, per_cpu(m), &v));
  CHECK(napi_set_named_property(env, r, "perCpu", v));
  CHECK(napi_get_boolean(env, bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF, &v));
  CHECK(napi_set_named_property(env, r, "ringBuffer", v));
  return r;
}

static bool buffer_arg(napi_env env, napi_value v, void **data, size_t *len) {
  bool is = false;
  napi_is_buffer(env, v, &is);
  return is && napi_get_buffer_info(env, v, data, len) == napi_ok;
}

/* The map of `o` with this fd, or NULL with a BAD_ARGUMENT thrown. */
static struct bpf_map *map_arg(napi_env env, napi_value *argv) {
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok) {
    throw_plain(env, "BAD_ARGUMENT", "map fd must be a number");
    return NULL;
  }
  struct bpf_map *m;
  bpf_object__for_each_map(m, o->obj) {
    if (bpf_map__fd(m) == fd && fd >= 0) return m;
  }
  char msg[96];
  snprintf(msg, sizeof msg, "fd %d is not a map of this BPF object", fd);
  throw_plain(env, "BAD_ARGUMENT", msg);
  return NULL;
}

/* Bytes a value of `m` takes in a lookup or update: one 8-byte-aligned slot per possible CPU for per-CPU maps. */
static size_t value_bytes(const struct bpf_map *m) {
  size_t v = bpf_map__value_size(m);
  if (!per_cpu(m)) return v;
  int cpus = libbpf_num_possible_cpus();
  return cpus > 0 ? ((v + 7) & ~(size_t)7) * (size_t)cpus : 0;
}

/* Throws BAD_ARGUMENT unless `got` == `want`. */
static bool size_ok(napi_env env, const struct bpf_map *m, const char *what, size_t got, size_t want) {
  if (got == want) return true;
  char msg[256];
  snprintf(msg, sizeof msg, "%s is %zu bytes but map '%s' takes %zu", what, got, bpf_map__name(m), want);
  throw_plain(env, "BAD_ARGUMENT", msg);
  return false;
}

/* mapLookup(obj, fd, key, valueBytes) -> Buffer | undefined */
static napi_value map_lookup(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct bpf_map *m = map_arg(env, argv);
  if (!m) return NULL;
  uint32_t vlen;
  void *key, *value;
  size_t klen;
  CHECK(napi_get_value_uint32(env, argv[3], &vlen));
  if (!buffer_arg(env, argv[2], &key, &klen)) return throw_plain(env, "BAD_ARGUMENT", "key must be a Buffer");
  if (!size_ok(env, m, "key", klen, bpf_map__key_size(m)) || !size_ok(env, m, "value", vlen, value_bytes(m))) return NULL;
  napi_value out;
  CHECK(napi_create_buffer(env, vlen, &value, &out));
  if (bpf_map_lookup_elem(bpf_map__fd(m), key, value)) {
    int err = errno;
    if (err != ENOENT) return throw_errno(env, "bpf_map_lookup_elem", err);
    CHECK(napi_get_undefined(env, &out));
  }
  return out;
}

/* mapUpdate(obj, fd, key, value, flags) */
static napi_value map_update(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct bpf_map *m = map_arg(env, argv);
  if (!m) return NULL;
  uint32_t flags;
  void *key, *value;
  size_t klen, vlen;
  CHECK(napi_get_value_uint32(env, argv[4], &flags));
  if (!buffer_arg(env, argv[2], &key, &klen) || !buffer_arg(env, argv[3], &value, &vlen))
    return throw_plain(env, "BAD_ARGUMENT", "key and value must be Buffers");
  if (!size_ok(env, m, "key", klen, bpf_map__key_size(m)) || !size_ok(env, m, "value", vlen, value_bytes(m))) return NULL;
  if (bpf_map_update_elem(bpf_map__fd(m), key, value, flags)) return throw_errno(env, "bpf_map_update_elem", errno);
  return NULL;
}

/* mapDelete(obj, fd, key) -> whether the key existed */
static napi_value map_delete(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct bpf_map *m = map_arg(env, argv);
  if (!m) return NULL;
  void *key;
  size_t klen;
  if (!buffer_arg(env, argv[2], &key, &klen)) return throw_plain(env, "BAD_ARGUMENT", "key must be a Buffer");
  if (!size_ok(env, m, "key", klen, bpf_map__key_size(m))) return NULL;
  bool existed = true;
  if (bpf_map_delete_elem(bpf_map__fd(m), key)) {
    int err = errno;
    if (err != ENOENT) return throw_errno(env, "bpf_map_delete_elem", err);
    existed = false;
  }
  napi_value v;
  CHECK(napi_get_boolean(env, existed, &v));
  return v;
}

/* mapNextKey(obj, fd, prevKey|null, keySize) -> Buffer | undefined at the end */
static napi_value map_next_key(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct bpf_map *m = map_arg(env, argv);
  if (!m) return NULL;
  uint32_t ksize;
  void *prev = NULL, *next;
  size_t plen;
  CHECK(napi_get_value_uint32(env, argv[3], &ksize));
  if (!size_ok(env, m, "key size", ksize, bpf_map__key_size(m))) return NULL;
  if (buffer_arg(env, argv[2], &prev, &plen)) {
    if (!size_ok(env, m, "previous key", plen, ksize)) return NULL;
  } else {
    prev = NULL;
  }
  napi_value out;
  CHECK(napi_create_buffer(env, ksize, &next, &out));
  if (bpf_map_get_next_key(bpf_map__fd(m), prev, next)) {
    int err = errno;
    if (err != ENOENT) return throw_errno(env, "bpf_map_get_next_key", err);
    CHECK(napi_get_undefined(env, &out));
  }
  return out;
}

/* maps(obj) -> names, internal ones (".rodata", ".bss") included */
static napi_value map_names(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  napi_value arr, n;
  CHECK(napi_create_array(env, &arr));
  uint32_t i = 0;
  struct bpf_map *m;
  bpf_object__for_each_map(m, o->obj) {
    CHECK(napi_create_string_utf8(env, bpf_map__name(m), NAPI_AUTO_LENGTH, &n));
    CHECK(napi_set_element(env, arr, i++, n));
  }
  return arr;
}

void register_map(napi_env env, napi_value exports) {
  export_fn(env, exports, "maps", map_names);
  export_fn(env, exports, "mapInfo", map_info);
  export_fn(env, exports, "mapLookup", map_lookup);
  export_fn(env, exports, "mapUpdate", map_update);
  export_fn(env, exports, "mapDelete", map_delete);
  export_fn(env, exports, "mapNextKey", map_next_key);
}
