/* Shared declarations of the @pgferret/bpf-loader N-API addon.
 * The C side only owns libbpf objects and moves bytes; policy lives in TS. */
#ifndef PGFERRET_ADDON_H
#define PGFERRET_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

struct reader;

/* One opened BPF object and everything attached through it. Links and
 * readers are addressed from JS by index so a stale JS handle can never
 * point at freed memory. */
struct object {
  struct bpf_object *obj;
  void *elf_copy; /* bytes given to open_mem, kept for the object's lifetime */
  bool loaded;
  bool closed;
  struct bpf_link **links;
  bool *link_usdt; /* per link: a USDT link (its destruction touches state attaches share) */
  int *link_perf_fd; /* per link: the perf event a perf_event program is attached to (-1: none), for enable/disable */
  uint64_t *link_gone_ns; /* per link: CLOCK_MONOTONIC when it was destroyed, 0 until then (written by the detacher: under `lock`) */
  size_t n_links, cap_links;
  struct reader **readers;
  size_t n_readers, cap_readers;
  /* Links released in the background: destroying a uprobe link waits for
   * the kernel (RCU grace periods: ~35 ms for a uprobe_multi link, ~90 ms
   * per perf-event uprobe), so detacher threads do it; several, because a
   * uprobe_multi link's grace period is taken under no global lock and
   * theirs overlap (a perf-event uprobe's are under the kernel's event_mutex:
   * those go one at a time whatever the threads). `lock` also covers USDT
   * attaches, whose bookkeeping libbpf shares with USDT link destruction. */
  pthread_mutex_t lock;
  pthread_cond_t wake;
#define DETACHERS 4
  pthread_t detachers[DETACHERS];
  unsigned n_detachers;
  bool uprobe_multi; /* a program is loaded for uprobe_multi links: its links' removals overlap, DETACHERS threads; else one */
  bool detacher_stop;
  uint64_t quiet_after_ns; /* CLOCK_MONOTONIC: the detacher waits until then (set by each attach) */
  struct bpf_link **released; /* a queue: destroyed in the order released, from head to n_released */
  bool *released_usdt;
  uint32_t *released_id; /* the link's index, to stamp its link_gone_ns */
  size_t head_released, n_released, cap_released;
  size_t in_flight; /* taken from the queue by a detacher, not destroyed yet */
  uint64_t n_destroyed, destroy_ns; /* by the detacher, and the time it spent in bpf_link__destroy */
};

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      throw_napi_failure(env, #call);                                   \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

/* addon.c */
napi_value throw_errno(napi_env env, const char *op, int err);
napi_value throw_plain(napi_env env, const char *code, const char *message);
void throw_napi_failure(napi_env env, const char *what);
struct object *get_object(napi_env env, napi_value v, bool need_open);
char *get_string(napi_env env, napi_value v); /* malloc'd, NULL if not a string */
struct bpf_program *find_program(napi_env env, struct object *o, napi_value name);
void log_reset(void);
napi_value take_log(napi_env env, napi_callback_info info);
void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* object.c */
void register_object(napi_env env, napi_value exports);
void object_close(struct object *o);
void object_init_detacher(struct object *o);
/* attach.c */
void register_attach(napi_env env, napi_value exports);
void destroy_link(struct bpf_link *link); /* libbpf's or a raw uprobe_multi link */
int uprobe_multi_supported(void); /* 1 yes, 0 no, -errno: could not ask */
/* map.c */
void register_map(napi_env env, napi_value exports);
/* ringbuf.c */
void register_ringbuf(napi_env env, napi_value exports);
void reader_close(struct reader *r);
/* features.c */
void register_features(napi_env env, napi_value exports);
/* privileges.c */
void register_privileges(napi_env env, napi_value exports);

#endif
