/* Attaching programs; each link is owned by its object and addressed by index. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "addon.h"
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Removing uprobes contends in the kernel with adding them (a perf-event
 * uprobe's removal sleeps through its grace periods holding event_mutex,
 * which its attach needs; uprobe_multi links' both take dup_mmap_sem): the
 * detachers stay out of the way for this long after each attach, so arming
 * new backends goes first. */
#define YIELD_TO_ATTACH_NS 200000000ull

static uint64_t monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void attached_now(struct object *o) {
  __atomic_store_n(&o->quiet_after_ns, monotonic_ns() + YIELD_TO_ATTACH_NS, __ATOMIC_RELAXED);
}

static void gone_now(struct object *o, uint32_t id) {
  pthread_mutex_lock(&o->lock);
  o->link_gone_ns[id] = monotonic_ns();
  pthread_mutex_unlock(&o->lock);
}


/* uprobe_multi links (Linux >= 6.6): one link puts a program at several
 * offsets, and removing it costs one RCU Tasks Trace grace period for all of
 * them, taken under no global lock. A uprobe attached through perf (what
 * libbpf's bpf_program__attach_uprobe_opts makes) costs three such grace
 * periods and two RCU ones per offset, all but one under the kernel's
 * event_mutex (BENCHMARKS.md "Probe removal"). The libbpf this builds
 * against (1.1) predates them: the link is made with the bpf syscall and is
 * a bare fd, kept in `links` as a tagged pointer (raw_link). UAPI numbers:
 * stable ABI. */
#define ATTACH_UPROBE_MULTI 48 /* BPF_TRACE_UPROBE_MULTI */
#define UPROBE_MULTI_RETURN 1u /* BPF_F_UPROBE_MULTI_RETURN */
struct uprobe_multi_attr {
  uint32_t prog_fd, target_fd, attach_type, flags;
  uint64_t path, offsets, ref_ctr_offsets, cookies;
  uint32_t cnt, uflags, pid;
};
/* A link libbpf does not know: its fd, behind a pointer with bit 0 set
 * (malloc'd memory is aligned: a libbpf link's pointer never has it). */
struct raw_link {
  int fd;
};
static struct bpf_link *raw_link(int fd) {
  struct raw_link *r = malloc(sizeof *r);
  if (!r) return NULL;
  r->fd = fd;
  return (struct bpf_link *)((uintptr_t)r | 1u);
}

/* A link made here with the bpf syscall: its fd, or -errno. */
static int uprobe_multi_link(int prog_fd, const char *path, const uint64_t *offsets, uint32_t n, int pid, bool retprobe) {
  union bpf_attr attr;
  struct uprobe_multi_attr *a = (struct uprobe_multi_attr *)&attr;
  _Static_assert(sizeof(struct uprobe_multi_attr) <= sizeof(union bpf_attr), "the link_create attributes fit in bpf_attr");
  memset(&attr, 0, sizeof attr);
  a->prog_fd = (uint32_t)prog_fd;
  a->attach_type = ATTACH_UPROBE_MULTI;
  a->path = (uint64_t)(uintptr_t)path;
  a->offsets = (uint64_t)(uintptr_t)offsets;
  a->cnt = n;
  a->uflags = retprobe ? UPROBE_MULTI_RETURN : 0;
  a->pid = pid > 0 ? (uint32_t)pid : 0;
  int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof attr);
  return fd < 0 ? -errno : fd;
}

/* Whether this kernel makes uprobe_multi links: a program of that attach
 * type on the directory "/" is refused with EBADF by a kernel that has them
 * (it looked for a file), EINVAL by one that does not know the type. */
int uprobe_multi_supported(void) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = (enum bpf_attach_type)ATTACH_UPROBE_MULTI);
  int prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "uprobe_multi_probe", "GPL", insns, 2, &opts);
  if (prog < 0) return prog == -EINVAL || prog == -E2BIG ? 0 : prog;
  uint64_t offset = 0;
  int fd = uprobe_multi_link(prog, "/", &offset, 1, -1, false);
  close(prog);
  if (fd >= 0) {
    close(fd);
    return 1;
  }
  return fd == -EBADF ? 1 : fd == -EPERM || fd == -EACCES ? fd : 0;
}

static bool is_uprobe_multi(struct bpf_program *p) {
  return (int)bpf_program__expected_attach_type(p) == ATTACH_UPROBE_MULTI;
}

/* Destroys a link of `links`, libbpf's or a raw one. */
void destroy_link(struct bpf_link *link) {
  if ((uintptr_t)link & 1u) {
    struct raw_link *r = (struct raw_link *)((uintptr_t)link & ~(uintptr_t)1u);
    close(r->fd);
    free(r);
  } else {
    bpf_link__destroy(link);
  }
}

static napi_value add_link_fd(napi_env env, struct object *o, struct bpf_link *link, bool usdt, int perf_fd) {
  if (o->n_links == o->cap_links) {
    size_t cap = o->cap_links ? o->cap_links * 2 : 8;
    struct bpf_link **p = realloc(o->links, cap * sizeof *p);
    if (p) o->links = p;
    bool *u = p ? realloc(o->link_usdt, cap * sizeof *u) : NULL;
    if (u) o->link_usdt = u;
    int *f = u ? realloc(o->link_perf_fd, cap * sizeof *f) : NULL;
    if (f) o->link_perf_fd = f;
    /* the detacher stamps link_gone_ns under the lock: it moves under it */
    pthread_mutex_lock(&o->lock);
    uint64_t *g = f ? realloc(o->link_gone_ns, cap * sizeof *g) : NULL;
    if (g) o->link_gone_ns = g;
    pthread_mutex_unlock(&o->lock);
    if (!g) {
      destroy_link(link);
      return throw_errno(env, "realloc", ENOMEM);
    }
    o->cap_links = cap;
  }
  o->links[o->n_links] = link;
  o->link_usdt[o->n_links] = usdt;
  o->link_perf_fd[o->n_links] = perf_fd;
  o->link_gone_ns[o->n_links] = 0;
  napi_value id;
  CHECK(napi_create_uint32(env, (uint32_t)o->n_links++, &id));
  return id;
}

static napi_value add_link(napi_env env, struct object *o, struct bpf_link *link, bool usdt) {
  return add_link_fd(env, o, link, usdt, -1);
}

static struct object *loaded_object(napi_env env, napi_value v) {
  struct object *o = get_object(env, v, true);
  if (o && !o->loaded) {
    throw_plain(env, "NOT_LOADED", "call load() before attaching programs");
    return NULL;
  }
  return o;
}

/* attachUprobe(obj, program, path, symbol|null, offset, pid, retprobe) */
static napi_value attach_uprobe(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  if (is_uprobe_multi(p)) return throw_plain(env, "BAD_ARGUMENT", "the program was loaded for uprobe_multi links: attach it with attachUprobeMulti()");
  char *path = get_string(env, argv[2]);
  char *symbol = get_string(env, argv[3]);
  int64_t offset = 0;
  int32_t pid = -1;
  bool retprobe = false;
  napi_get_value_int64(env, argv[4], &offset);
  napi_get_value_int32(env, argv[5], &pid);
  napi_get_value_bool(env, argv[6], &retprobe);
  log_reset();
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .func_name = symbol);
  attached_now(o);
  struct bpf_link *link =
      path ? bpf_program__attach_uprobe_opts(p, pid, path, (size_t)offset, &opts) : NULL;
  int err = path ? errno : EINVAL;
  free(path);
  free(symbol);
  if (!link) return throw_errno(env, retprobe ? "attach uretprobe" : "attach uprobe", err);
  return add_link(env, o, link, false);
}

/* setUprobeMulti(obj, program): before load(), the program is loaded for
 * uprobe_multi links (the kernel then refuses it for perf-event uprobes). */
static napi_value set_uprobe_multi(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (o->loaded) return throw_plain(env, "ALREADY_LOADED", "how a program attaches can only be chosen before load()");
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  int err = bpf_program__set_expected_attach_type(p, (enum bpf_attach_type)ATTACH_UPROBE_MULTI);
  if (err) return throw_errno(env, "bpf_program__set_expected_attach_type", -err);
  o->uprobe_multi = true;
  return NULL;
}

/* attachUprobeMulti(obj, program, path, offsets (numbers), pid, retprobe):
 * one link, the program at every offset of path (in pid only, pid > 0). */
static napi_value attach_uprobe_multi(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  if (!is_uprobe_multi(p)) return throw_plain(env, "BAD_ARGUMENT", "the program was not loaded for uprobe_multi links: call setUprobeMulti() before load()");
  uint32_t n = 0;
  CHECK(napi_get_array_length(env, argv[3], &n));
  if (n == 0) return throw_plain(env, "BAD_ARGUMENT", "attachUprobeMulti needs at least one offset");
  uint64_t *offsets = calloc(n, sizeof *offsets);
  if (!offsets) return throw_errno(env, "calloc", ENOMEM);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    int64_t off = 0;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || napi_get_value_int64(env, v, &off) != napi_ok || off < 0) {
      free(offsets);
      return throw_plain(env, "BAD_ARGUMENT", "offsets must be non-negative integers");
    }
    offsets[i] = (uint64_t)off;
  }
  char *path = get_string(env, argv[2]);
  int32_t pid = -1;
  bool retprobe = false;
  napi_get_value_int32(env, argv[4], &pid);
  napi_get_value_bool(env, argv[5], &retprobe);
  log_reset();
  attached_now(o);
  int fd = path ? uprobe_multi_link(bpf_program__fd(p), path, offsets, n, pid, retprobe) : -EINVAL;
  free(path);
  free(offsets);
  if (fd < 0) return throw_errno(env, retprobe ? "attach uretprobe (uprobe_multi)" : "attach uprobe (uprobe_multi)", -fd);
  struct bpf_link *link = raw_link(fd);
  if (!link) {
    close(fd);
    return throw_errno(env, "malloc", ENOMEM);
  }
  return add_link(env, o, link, false);
}

/* attachUsdt(obj, program, path, provider, name, pid, cookie) */
static napi_value attach_usdt(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  char *path = get_string(env, argv[2]);
  char *provider = get_string(env, argv[3]);
  char *name = get_string(env, argv[4]);
  int32_t pid = -1;
  uint64_t cookie = 0;
  bool lossless = true;
  napi_get_value_int32(env, argv[5], &pid);
  napi_get_value_bigint_uint64(env, argv[6], &cookie, &lossless);
  log_reset();
  LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = cookie);
  struct bpf_link *link = NULL;
  int err = EINVAL;
  if (path && provider && name) {
    attached_now(o);
    pthread_mutex_lock(&o->lock);
    link = bpf_program__attach_usdt(p, pid, path, provider, name, &opts);
    pthread_mutex_unlock(&o->lock);
    err = errno;
  }
  free(path);
  free(provider);
  free(name);
  if (!link) return throw_errno(env, "attach usdt", err);
  return add_link(env, o, link, true);
}

/* attachTracepoint(obj, program, category, name): perf-event tracepoints for
 * SEC("tracepoint/..") programs, raw tracepoints for SEC("raw_tp/..") ones. */
static napi_value attach_tracepoint(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  char *category = get_string(env, argv[2]);
  char *name = get_string(env, argv[3]);
  log_reset();
  struct bpf_link *link = NULL;
  int err = EINVAL;
  if (category && name) {
    if (bpf_program__type(p) == BPF_PROG_TYPE_RAW_TRACEPOINT)
      link = bpf_program__attach_raw_tracepoint(p, name);
    else
      link = bpf_program__attach_tracepoint(p, category, name);
    err = errno;
  }
  free(category);
  free(name);
  if (!link) return throw_errno(env, "attach tracepoint", err);
  return add_link(env, o, link, false);
}

/* attachTrace(obj, program): a SEC("fentry/..") or SEC("fexit/..") program
 * on the kernel function its section names (resolved in the kernel's BTF at
 * load): a BPF trampoline, run only where that function is called. */
static napi_value attach_trace(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  log_reset();
  struct bpf_link *link = bpf_program__attach_trace(p);
  if (!link) return throw_errno(env, "attach trace", errno);
  return add_link(env, o, link, false);
}

/* attachPerfEvent(obj, program, pid, hz, enabled): a SEC("perf_event")
 * program on a software CPU clock of one process (any CPU), sampled hz times
 * a second of its CPU time. cpu-clock needs no hardware counter, so it works
 * in VMs; the link owns the perf fd (destroying it closes the fd). An enabled
 * clock costs its process at every context switch (an hrtimer started and
 * cancelled): one created disabled costs nothing until perfEventEnable. */
static napi_value attach_perf_event(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = loaded_object(env, argv[0]);
  if (!o) return NULL;
  struct bpf_program *p = find_program(env, o, argv[1]);
  if (!p) return NULL;
  int32_t pid = -1;
  uint32_t hz = 0;
  napi_get_value_int32(env, argv[2], &pid);
  napi_get_value_uint32(env, argv[3], &hz);
  bool enabled = true;
  napi_get_value_bool(env, argv[4], &enabled);
  if (pid <= 0 || hz == 0) return throw_errno(env, "perf_event_open", EINVAL);
  struct perf_event_attr attr = {
      .type = PERF_TYPE_SOFTWARE,
      .size = sizeof(attr),
      .config = PERF_COUNT_SW_CPU_CLOCK,
      .freq = 1,
      .sample_freq = hz,
  };
  log_reset();
  int fd = (int)syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "perf_event_open", errno);
  struct bpf_link *link = bpf_program__attach_perf_event(p, fd);
  if (!link) {
    int err = errno;
    close(fd);
    return throw_errno(env, "attach perf_event", err);
  }
  /* libbpf enables the event when it attaches */
  if (!enabled && ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) != 0) {
    int err = errno;
    destroy_link(link);
    return throw_errno(env, "PERF_EVENT_IOC_DISABLE", err);
  }
  return add_link_fd(env, o, link, false, fd);
}

/* perfEventEnable(obj, id, on) -> whether the link was still attached */
static napi_value perf_event_enable(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], false);
  if (!o) return NULL;
  uint32_t id = 0;
  bool on = false;
  napi_get_value_uint32(env, argv[1], &id);
  napi_get_value_bool(env, argv[2], &on);
  bool was = !o->closed && id < o->n_links && o->links[id] && o->link_perf_fd[id] >= 0;
  if (was && ioctl(o->link_perf_fd[id], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0) != 0)
    return throw_errno(env, on ? "PERF_EVENT_IOC_ENABLE" : "PERF_EVENT_IOC_DISABLE", errno);
  napi_value v;
  CHECK(napi_get_boolean(env, was, &v));
  return v;
}

/* perfEventFrequency(obj, id, hz) -> whether the link was still attached.
 * A cpu-clock event is an hrtimer: opened in frequency mode, the kernel turns
 * it into a fixed period at init (perf_swevent_init_hrtimer clears
 * attr.freq), so PERF_EVENT_IOC_PERIOD takes a period in nanoseconds — hz
 * there would mean a 10 µs timer. Applied without detaching. */
static napi_value perf_event_frequency(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], false);
  if (!o) return NULL;
  uint32_t id = 0, hz = 0;
  napi_get_value_uint32(env, argv[1], &id);
  napi_get_value_uint32(env, argv[2], &hz);
  if (hz == 0) return throw_errno(env, "PERF_EVENT_IOC_PERIOD", EINVAL);
  bool was = !o->closed && id < o->n_links && o->links[id] && o->link_perf_fd[id] >= 0;
  uint64_t period_ns = 1000000000ull / hz;
  if (was && ioctl(o->link_perf_fd[id], PERF_EVENT_IOC_PERIOD, &period_ns) != 0) return throw_errno(env, "PERF_EVENT_IOC_PERIOD", errno);
  napi_value v;
  CHECK(napi_get_boolean(env, was, &v));
  return v;
}

/* The object and link index of a (obj, id) call; NULL when it threw. */
static struct object *link_args(napi_env env, napi_callback_info info, uint32_t *id) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_napi_failure(env, "napi_get_cb_info");
    return NULL;
  }
  struct object *o = get_object(env, argv[0], false);
  if (o && napi_get_value_uint32(env, argv[1], id) != napi_ok) {
    throw_napi_failure(env, "napi_get_value_uint32");
    return NULL;
  }
  return o;
}

/* detach(obj, id) -> whether the link was still attached */
static napi_value detach(napi_env env, napi_callback_info info) {
  uint32_t id = 0;
  struct object *o = link_args(env, info, &id);
  if (!o) return NULL;
  bool was = false;
  if (!o->closed && id < o->n_links && o->links[id]) {
    if (o->link_usdt[id]) pthread_mutex_lock(&o->lock);
    destroy_link(o->links[id]);
    if (o->link_usdt[id]) pthread_mutex_unlock(&o->lock);
    o->links[id] = NULL;
    gone_now(o, id);
    was = true;
  }
  napi_value v;
  CHECK(napi_get_boolean(env, was, &v));
  return v;
}

/* A detacher thread: destroys released links in the order they were
 * released (a USDT link under the lock), until the object closes; then the
 * threads finish what was released before they stop. DETACHERS of them take
 * links from the one queue: a thread waiting out a link's grace periods
 * leaves the next link to another (bench/removal: with uprobe_multi links,
 * four threads removed a pool's uprobe_multi links in 0.4 of the time one
 * took; perf-event uprobes, whose removals the kernel serializes, get one). In
 * order, not the last first: a link released while many others wait is
 * removed after them, not after every link released later (which starved it
 * for tens of seconds while releases kept coming). */
static void *detacher_main(void *arg) {
  struct object *o = arg;
  pthread_mutex_lock(&o->lock);
  for (;;) {
    while (o->head_released == o->n_released && !o->detacher_stop) pthread_cond_wait(&o->wake, &o->lock);
    if (o->head_released == o->n_released) break;
    uint64_t quiet = __atomic_load_n(&o->quiet_after_ns, __ATOMIC_RELAXED), now = monotonic_ns();
    if (!o->detacher_stop && now < quiet) {
      /* attaches are under way: wait until they have been quiet a while */
      pthread_mutex_unlock(&o->lock);
      struct timespec d = {.tv_sec = (time_t)((quiet - now) / 1000000000ull), .tv_nsec = (long)((quiet - now) % 1000000000ull)};
      nanosleep(&d, NULL);
      pthread_mutex_lock(&o->lock);
      continue;
    }
    size_t i = o->head_released++;
    struct bpf_link *link = o->released[i];
    uint32_t id = o->released_id[i];
    bool usdt = o->released_usdt[i];
    if (o->head_released == o->n_released) o->head_released = o->n_released = 0;
    o->in_flight++;
    uint64_t t0 = monotonic_ns();
    if (usdt) {
      destroy_link(link);
      /* let a USDT attach on the main thread in between */
      pthread_mutex_unlock(&o->lock);
    } else {
      /* a plain perf-event link shares nothing with libbpf's other state */
      pthread_mutex_unlock(&o->lock);
      destroy_link(link);
    }
    uint64_t t1 = monotonic_ns();
    pthread_mutex_lock(&o->lock);
    o->link_gone_ns[id] = t1;
    o->in_flight--;
    o->n_destroyed++;
    o->destroy_ns += t1 - t0;
  }
  pthread_mutex_unlock(&o->lock);
  return NULL;
}

/* release(obj, id) -> whether the link was still attached. The link is
 * taken from the object at once and destroyed on the detacher thread. */
static napi_value release(napi_env env, napi_callback_info info) {
  uint32_t id = 0;
  struct object *o = link_args(env, info, &id);
  if (!o) return NULL;
  bool was = false;
  if (!o->closed && id < o->n_links && o->links[id]) {
    pthread_mutex_lock(&o->lock);
    int err = 0;
    if (o->n_released == o->cap_released && o->head_released > 0) {
      /* room at the front: the queue moves down */
      size_t n = o->n_released - o->head_released;
      memmove(o->released, o->released + o->head_released, n * sizeof *o->released);
      memmove(o->released_usdt, o->released_usdt + o->head_released, n * sizeof *o->released_usdt);
      memmove(o->released_id, o->released_id + o->head_released, n * sizeof *o->released_id);
      o->head_released = 0;
      o->n_released = n;
    }
    if (o->n_released == o->cap_released) {
      size_t cap = o->cap_released ? o->cap_released * 2 : 16;
      struct bpf_link **p = realloc(o->released, cap * sizeof *p);
      if (p) o->released = p;
      bool *u = p ? realloc(o->released_usdt, cap * sizeof *u) : NULL;
      if (u) o->released_usdt = u;
      uint32_t *ids = u ? realloc(o->released_id, cap * sizeof *ids) : NULL;
      if (ids) {
        o->released_id = ids;
        o->cap_released = cap;
      } else {
        err = ENOMEM;
      }
    }
    /* the threads start with the first release; one that cannot be made leaves the others. Perf-event
     * uprobes' removals queue on the kernel's event_mutex, which their attaches need too: one thread */
    while (!err && o->n_detachers < (o->uprobe_multi ? DETACHERS : 1)) {
      pthread_t t;
      int e = pthread_create(&t, NULL, detacher_main, o);
      if (e) {
        if (o->n_detachers == 0) err = e;
        break;
      }
      /* named, so their kernel time can be told apart (perf, bpftrace: comm) */
      pthread_setname_np(t, "bpf-detacher");
      o->detachers[o->n_detachers++] = t;
    }
    if (err) {
      /* no thread or no room: destroyed here, as detach() would */
      destroy_link(o->links[id]);
      o->link_gone_ns[id] = monotonic_ns();
    } else {
      o->released[o->n_released] = o->links[id];
      o->released_id[o->n_released] = id;
      o->released_usdt[o->n_released++] = o->link_usdt[id];
      pthread_cond_signal(&o->wake);
    }
    pthread_mutex_unlock(&o->lock);
    o->links[id] = NULL;
    was = true;
  }
  napi_value v;
  CHECK(napi_get_boolean(env, was, &v));
  return v;
}

/* linkGoneNs(obj, id) -> CLOCK_MONOTONIC ns when the link was destroyed
 * (its probe gone), as a bigint; 0n while it is attached or waiting for the
 * detacher, and once the object is closed. */
static napi_value link_gone_ns(napi_env env, napi_callback_info info) {
  uint32_t id = 0;
  struct object *o = link_args(env, info, &id);
  if (!o) return NULL;
  uint64_t ns = 0;
  if (!o->closed && id < o->n_links) {
    pthread_mutex_lock(&o->lock);
    ns = o->link_gone_ns[id];
    pthread_mutex_unlock(&o->lock);
  }
  napi_value v;
  CHECK(napi_create_bigint_uint64(env, ns, &v));
  return v;
}

/* detacherStats(obj) -> { pending, destroyed, destroyNs }: links released and
 * not destroyed yet (queued, or being destroyed), links the detachers
 * destroyed, and the time they spent destroying them (summed over threads). */
static napi_value detacher_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], false);
  if (!o) return NULL;
  pthread_mutex_lock(&o->lock);
  uint64_t pending = o->n_released - o->head_released + o->in_flight, destroyed = o->n_destroyed, ns = o->destroy_ns;
  pthread_mutex_unlock(&o->lock);
  napi_value r, v;
  CHECK(napi_create_object(env, &r));
  CHECK(napi_create_uint32(env, (uint32_t)pending, &v));
  CHECK(napi_set_named_property(env, r, "pending", v));
  CHECK(napi_create_double(env, (double)destroyed, &v));
  CHECK(napi_set_named_property(env, r, "destroyed", v));
  CHECK(napi_create_bigint_uint64(env, ns, &v));
  CHECK(napi_set_named_property(env, r, "destroyNs", v));
  return r;
}

void register_attach(napi_env env, napi_value exports) {
  export_fn(env, exports, "attachUprobe", attach_uprobe);
  export_fn(env, exports, "attachUprobeMulti", attach_uprobe_multi);
  export_fn(env, exports, "setUprobeMulti", set_uprobe_multi);
  export_fn(env, exports, "attachUsdt", attach_usdt);
  export_fn(env, exports, "attachTracepoint", attach_tracepoint);
  export_fn(env, exports, "attachTrace", attach_trace);
  export_fn(env, exports, "attachPerfEvent", attach_perf_event);
  export_fn(env, exports, "perfEventEnable", perf_event_enable);
  export_fn(env, exports, "perfEventFrequency", perf_event_frequency);
  export_fn(env, exports, "detach", detach);
  export_fn(env, exports, "release", release);
  export_fn(env, exports, "linkGoneNs", link_gone_ns);
  export_fn(env, exports, "detacherStats", detacher_stats);
}
