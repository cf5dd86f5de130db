/* Map access by fd; sizes are validated in TS, the kernel validates the rest. */
#include "addon.h"
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

/* mapInfo(obj, name) -> {fd, type, keySize, valueSize, maxEntries} | undefined */
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
  return r;
}

static bool buffer_arg(napi_env env, napi_value v, void **data, size_t *len) {
  bool is = false;
  napi_is_buffer(env, v, &is);
  return is && napi_get_buffer_info(env, v, data, len) == napi_ok;
}

/* mapLookup(obj, fd, key, valueBytes) -> Buffer | undefined */
static napi_value map_lookup(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_object(env, argv[0], true)) return NULL;
  int32_t fd;
  uint32_t vlen;
  void *key, *value;
  size_t klen;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_uint32(env, argv[3], &vlen));
  if (!buffer_arg(env, argv[2], &key, &klen)) return throw_plain(env, "BAD_ARGUMENT", "key must be a Buffer");
  napi_value out;
  CHECK(napi_create_buffer(env, vlen, &value, &out));
  if (bpf_map_lookup_elem(fd, key, value)) {
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
  if (!get_object(env, argv[0], true)) return NULL;
  int32_t fd;
  uint32_t flags;
  void *key, *value;
  size_t klen, vlen;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_uint32(env, argv[4], &flags));
  if (!buffer_arg(env, argv[2], &key, &klen) || !buffer_arg(env, argv[3], &value, &vlen))
    return throw_plain(env, "BAD_ARGUMENT", "key and value must be Buffers");
  if (bpf_map_update_elem(fd, key, value, flags)) return throw_errno(env, "bpf_map_update_elem", errno);
  return NULL;
}

/* mapDelete(obj, fd, key) -> whether the key existed */
static napi_value map_delete(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_object(env, argv[0], true)) return NULL;
  int32_t fd;
  void *key;
  size_t klen;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  if (!buffer_arg(env, argv[2], &key, &klen)) return throw_plain(env, "BAD_ARGUMENT", "key must be a Buffer");
  bool existed = true;
  if (bpf_map_delete_elem(fd, key)) {
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
  if (!get_object(env, argv[0], true)) return NULL;
  int32_t fd;
  uint32_t ksize;
  void *prev = NULL, *next;
  size_t plen;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_uint32(env, argv[3], &ksize));
  if (!buffer_arg(env, argv[2], &prev, &plen)) prev = NULL;
  napi_value out;
  CHECK(napi_create_buffer(env, ksize, &next, &out));
  if (bpf_map_get_next_key(fd, prev, next)) {
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
