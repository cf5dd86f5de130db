/* uprobeNeedsSysAdmin(): whether this kernel wants CAP_SYS_ADMIN rather than
 * CAP_PERFMON to create uprobe perf events, asked on a short-lived thread.
 * dropCapabilities(keep): least privilege for a process that has loaded and
 * attached its programs. Linux keeps credentials per thread and capset(2)
 * only changes the calling thread, so, as libcap's psx does, the change runs
 * on every thread of the process from a signal handler (tgkill + wait).
 * Threads that block the signal cannot be reached that way; their ids are
 * returned. no_new_privs reaches every thread through seccomp's TSYNC. */
#include "addon.h"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define MAX_THREADS 1024

static uint64_t keep_mask;
static int last_cap;
static int acked;       /* handlers finished, atomic */
static int first_error; /* errno of the first failing thread, atomic */

static int read_last_cap(void) {
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  int n = -1;
  if (f) {
    if (fscanf(f, "%d", &n) != 1) n = -1;
    fclose(f);
  }
  return n < 0 || n > 63 ? 40 : n;
}

/* Async-signal-safe: raw syscalls only. Returns 0 or an errno. */
static int restrict_this_thread(void) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d)) return errno;
  uint64_t eff = d[0].effective | ((uint64_t)d[1].effective << 32);
  uint64_t prm = d[0].permitted | ((uint64_t)d[1].permitted << 32);
  /* The bounding set can only shrink while CAP_SETPCAP is still effective. */
  if (eff & (1ull << CAP_SETPCAP)) {
    for (int c = 0; c <= last_cap; c++) {
      if (!(keep_mask & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) return errno;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) return errno;
  prm &= keep_mask;
  d[0].permitted = d[0].effective = (uint32_t)prm;
  d[1].permitted = d[1].effective = (uint32_t)(prm >> 32);
  d[0].inheritable = d[1].inheritable = 0;
  if (syscall(SYS_capset, &h, d)) return errno;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return errno;
  return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  int saved = errno;
  if (si->si_code == SI_TKILL && si->si_pid == getpid()) {
    int e = restrict_this_thread();
    if (e) __atomic_compare_exchange_n(&first_error, &(int){ 0 }, e, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&acked, 1, __ATOMIC_SEQ_CST);
  }
  errno = saved;
}

/* Whether thread `tid` blocks `sig`, from /proc/self/task/<tid>/status. */
static bool blocks_signal(pid_t tid, int sig) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  unsigned long long mask = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "SigBlk: %llx", &mask) == 1) break;
  }
  fclose(f);
  return (mask >> (sig - 1)) & 1;
}

static bool seen(const pid_t *tids, size_t n, pid_t tid) {
  for (size_t i = 0; i < n; i++) if (tids[i] == tid) return true;
  return false;
}

/* Signals each thread not handled yet, one at a time; 0, or -errno. Threads
 * started meanwhile are found by the next pass, which finds nothing new. */
static int broadcast(int sig, pid_t *done, size_t *n_done, pid_t *blocked, size_t *n_blocked) {
  pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
  for (bool found = true; found;) {
    found = false;
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return -errno;
    struct dirent *e;
    while ((e = readdir(dir))) {
      pid_t tid = (pid_t)atoi(e->d_name);
      if (tid <= 0 || tid == self || seen(done, *n_done, tid) || seen(blocked, *n_blocked, tid)) continue;
      if (*n_done >= MAX_THREADS || *n_blocked >= MAX_THREADS) {
        closedir(dir);
        return -E2BIG;
      }
      found = true;
      if (blocks_signal(tid, sig)) {
        blocked[(*n_blocked)++] = tid;
        continue;
      }
      int before = __atomic_load_n(&acked, __ATOMIC_SEQ_CST);
      if (syscall(SYS_tgkill, pid, tid, sig)) {
        if (errno == ESRCH) continue; /* it exited */
        closedir(dir);
        return -errno;
      }
      struct timespec tick = { 0, 100000 };
      int waited = 0;
      while (__atomic_load_n(&acked, __ATOMIC_SEQ_CST) == before) {
        if (++waited > 20000) { /* 2 s: the thread is stuck with signals off */
          closedir(dir);
          return -ETIMEDOUT;
        }
        nanosleep(&tick, NULL);
      }
      done[(*n_done)++] = tid;
    }
    closedir(dir);
  }
  return 0;
}

static int set_no_new_privs_everywhere(void) {
  struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_fprog prog = { 1, allow };
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (r < 0) return errno;
  return r > 0 ? EBUSY : 0; /* r > 0: a thread with another filter could not be synced */
}

static napi_value tid_array(napi_env env, const pid_t *tids, size_t n) {
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (size_t i = 0; i < n; i++) {
    CHECK(napi_create_int32(env, tids[i], &v));
    CHECK(napi_set_element(env, arr, (uint32_t)i, v));
  }
  return arr;
}

/* dropCapabilities(keep: number[]): {threads: number[], unreachable: number[]} */
static napi_value drop_capabilities(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array)
    return throw_plain(env, "BAD_ARGUMENT", "dropCapabilities expects an array of capability numbers");
  uint32_t len = 0;
  CHECK(napi_get_array_length(env, argv[0], &len));
  uint64_t mask = 0;
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    int32_t c = -1;
    CHECK(napi_get_element(env, argv[0], i, &v));
    if (napi_get_value_int32(env, v, &c) != napi_ok || c < 0 || c > 63)
      return throw_plain(env, "BAD_ARGUMENT", "capability numbers must be integers from 0 to 63");
    mask |= 1ull << c;
  }
  keep_mask = mask;
  last_cap = read_last_cap();
  __atomic_store_n(&first_error, 0, __ATOMIC_SEQ_CST);

  /* A real-time signal nobody in Node uses; refuse if someone installed one. */
  int sig = SIGRTMAX - 2;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, NULL, &old)) return throw_errno(env, "sigaction", errno);
  if ((old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))
    return throw_plain(env, "SIGNAL_IN_USE", "dropCapabilities: the real-time signal it needs already has a handler");

  int e = restrict_this_thread();
  if (e) return throw_errno(env, "restricting the capabilities of the main thread", e);

  pid_t *done = calloc(MAX_THREADS, sizeof(pid_t)), *blocked = calloc(MAX_THREADS, sizeof(pid_t));
  if (!done || !blocked) {
    free(done);
    free(blocked);
    return throw_errno(env, "calloc", ENOMEM);
  }
  size_t n_done = 0, n_blocked = 0;
  done[n_done++] = (pid_t)syscall(SYS_gettid);
  if (sigaction(sig, &sa, NULL)) e = errno;
  else {
    int r = broadcast(sig, done, &n_done, blocked, &n_blocked);
    sigaction(sig, &old, NULL);
    e = r < 0 ? -r : __atomic_load_n(&first_error, __ATOMIC_SEQ_CST);
  }
  if (!e) e = set_no_new_privs_everywhere();
  napi_value result = NULL, threads, unreachable;
  if (e) throw_errno(env, "dropping capabilities on every thread", e);
  else if (napi_create_object(env, &result) == napi_ok && (threads = tid_array(env, done, n_done)) &&
           (unreachable = tid_array(env, blocked, n_blocked))) {
    napi_set_named_property(env, result, "threads", threads);
    napi_set_named_property(env, result, "unreachable", unreachable);
  }
  free(done);
  free(blocked);
  return result;
}

/* On its own thread (credentials are per thread): effective = BPF + PERFMON
 * only, then a disabled uprobe event on /proc/self/exe. Returns 0 or errno. */
static void *try_uprobe_without_sys_admin(void *arg) {
  int *result = arg;
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
  int type = -1;
  if (f) {
    if (fscanf(f, "%d", &type) != 1) type = -1;
    fclose(f);
  }
  if (type < 0) {
    *result = ENOENT;
    return NULL;
  }
  if (syscall(SYS_capget, &h, d)) {
    *result = errno;
    return NULL;
  }
  d[0].effective = 0;
  d[1].effective = d[1].permitted & ((1u << (CAP_PERFMON - 32)) | (1u << (CAP_BPF - 32)));
  if (syscall(SYS_capset, &h, d)) {
    *result = errno;
    return NULL;
  }
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = (uint32_t)type;
  attr.config1 = (uint64_t)(uintptr_t)"/proc/self/exe"; /* uprobe_path */
  attr.config2 = 0;                                    /* probe_offset */
  attr.disabled = 1;
  long fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  *result = fd < 0 ? errno : 0;
  if (fd >= 0) close((int)fd);
  return NULL;
}

static napi_value uprobe_needs_sys_admin(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_t t;
  int result = -1;
  int e = pthread_create(&t, NULL, try_uprobe_without_sys_admin, &result);
  if (e) return throw_errno(env, "pthread_create", e);
  pthread_join(t, NULL);
  if (result != 0 && result != EACCES && result != EPERM) return throw_errno(env, "probing uprobe perf events with CAP_PERFMON", result);
  napi_value v;
  CHECK(napi_get_boolean(env, result != 0, &v));
  return v;
}

void register_privileges(napi_env env, napi_value exports) {
  export_fn(env, exports, "dropCapabilities", drop_capabilities);
  export_fn(env, exports, "uprobeNeedsSysAdmin", uprobe_needs_sys_admin);
}
