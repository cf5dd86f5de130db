/* What the running kernel offers, asked the kernel itself (libbpf loads a
 * tiny program or map of each kind): version numbers lie on distribution
 * kernels that backport BPF features (RHEL 9 is "5.14").
 * probeProgramType(type), probeMapType(type), probeHelper(progType, helper),
 * probeUprobeMulti() (uprobe_multi links, Linux >= 6.6)
 * -> 1 supported, 0 not, or a negative errno when the kernel could not be asked. */
#include "addon.h"
#include <bpf/libbpf.h>

static napi_value probe_result(napi_env env, int r) {
  napi_value v;
  CHECK(napi_create_int32(env, r, &v));
  return v;
}

static int32_t arg_int(napi_env env, napi_value v) {
  int32_t n = -1;
  napi_get_value_int32(env, v, &n);
  return n;
}

static napi_value probe_program_type(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return probe_result(env, libbpf_probe_bpf_prog_type((enum bpf_prog_type)arg_int(env, argv[0]), NULL));
}

static napi_value probe_map_type(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return probe_result(env, libbpf_probe_bpf_map_type((enum bpf_map_type)arg_int(env, argv[0]), NULL));
}

static napi_value probe_helper(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return probe_result(env, libbpf_probe_bpf_helper((enum bpf_prog_type)arg_int(env, argv[0]), (enum bpf_func_id)arg_int(env, argv[1]), NULL));
}

static napi_value probe_uprobe_multi(napi_env env, napi_callback_info info) {
  return probe_result(env, uprobe_multi_supported());
}

void register_features(napi_env env, napi_value exports) {
  export_fn(env, exports, "probeUprobeMulti", probe_uprobe_multi);
  export_fn(env, exports, "probeProgramType", probe_program_type);
  export_fn(env, exports, "probeMapType", probe_map_type);
  export_fn(env, exports, "probeHelper", probe_helper);
}
