/* Ring-buffer reader: uv_poll on libbpf's epoll fd, one JS call per wake-up,
 * and optionally a timer that drains the ring every `interval` ms: producers
 * that submit with BPF_RB_NO_WAKEUP then cost the traced process no wakeup
 * (and the reader no context switch per record); those that force one are
 * still read at once. The timer backs off (up to IDLE_FACTOR × interval, or
 * what readerBackoff set) while the ring stays empty or drains find fewer
 * than `min_batch` records: an idle reader costs next to nothing, and each JS
 * call takes a batch of records, not one or two (each call has a fixed cost,
 * and a reader woken often runs on cold caches: BENCHMARKS.md).
 *
 * Batch layout handed to JS: for each record, [u32 length LE][u32 0]
 * [record bytes, zero-padded to a multiple of 8].
 *
 * Failures (a poll error, a consume error, a batch buffer that cannot grow,
 * which loses the record libbpf has already consumed) are handed to JS with
 * the batch as (errno, operation), so they are counted, never silent. */
#include "addon.h"
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Returned by the sample callback when the batch is full: libbpf has already
 * consumed that record, stops, and the level-triggered poll wakes us again. */
#define BATCH_FULL (-EFBIG)
#define IDLE_FACTOR 10

struct reader {
  uv_poll_t poll;
  uv_timer_t timer;
  bool timed;
  uint64_t interval, period, max_period; /* ms: the configured drain interval, the current one, the longest it backs off to */
  uint32_t min_batch; /* records: a drain that finds fewer backs the timer off */
  bool every_timer; /* the callback runs after every drain of the timer, records or not */
  int handles; /* uv handles still to close before the reader is freed */
  struct ring_buffer *rb;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  char *buf;
  size_t len, cap, max;
  uint32_t count;
  double payload;
  int err; /* first failure of this wake-up, positive errno; 0 if none */
  const char *err_op;
  bool closing;
};

static void note_error(struct reader *r, const char *op, int err) {
  if (r->err) return;
  r->err = err < 0 ? -err : err;
  r->err_op = op;
}

static int on_sample(void *ctx, void *data, size_t size) {
  struct reader *r = ctx;
  size_t padded = (size + 7) & ~(size_t)7;
  size_t need = r->len + 8 + padded;
  if (need > r->cap) {
    size_t cap = r->cap * 2;
    while (cap < need) cap *= 2;
    char *p = realloc(r->buf, cap);
    if (!p) {
      note_error(r, "grow the batch buffer (the record was lost)", ENOMEM);
      return -ENOMEM;
    }
    r->buf = p;
    r->cap = cap;
  }
  char *at = r->buf + r->len;
  uint32_t header[2] = {htole32((uint32_t)size), 0};
  memcpy(at, header, 8);
  memcpy(at + 8, data, size);
  memset(at + 8 + size, 0, padded - size);
  r->len = need;
  r->count++;
  r->payload += (double)size;
  return r->len >= r->max ? BATCH_FULL : 0;
}

static void deliver(struct reader *r, bool timer) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, args[6], result;
  if (napi_get_reference_value(env, r->callback, &fn) == napi_ok && fn &&
      napi_get_global(env, &recv) == napi_ok &&
      napi_create_buffer_copy(env, r->len, r->len ? r->buf : "", NULL, &args[0]) == napi_ok &&
      napi_create_uint32(env, r->count, &args[1]) == napi_ok &&
      napi_create_double(env, r->payload, &args[2]) == napi_ok &&
      napi_create_int32(env, r->err, &args[3]) == napi_ok &&
      napi_create_string_utf8(env, r->err_op ? r->err_op : "", NAPI_AUTO_LENGTH, &args[4]) == napi_ok &&
      napi_get_boolean(env, timer, &args[5]) == napi_ok) {
    if (napi_make_callback(env, r->async, recv, fn, 6, args, &result) == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* timer: the drain timer's (onTimer follows the records) */
static void drain(struct reader *r, int status, bool timer);

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  drain(handle->data, status, false);
}

static void on_timer(uv_timer_t *handle) {
  drain(handle->data, 0, true);
}

static void drain(struct reader *r, int status, bool timer) {
  if (r->closing) return;
  r->len = 0;
  r->count = 0;
  r->payload = 0;
  r->err = 0;
  r->err_op = NULL;
  if (status < 0) {
    note_error(r, "poll the ring buffer", status);
  } else {
    int n = ring_buffer__consume(r->rb);
    if (n < 0 && n != BATCH_FULL) note_error(r, "ring_buffer__consume", n);
  }
  if (r->count || r->err || (timer && r->every_timer)) deliver(r, timer);
  if (r->timed && !r->closing) {
    /* many records: drain at the configured pace again; few or none: wait longer next time */
    uint64_t next = r->count >= r->min_batch ? r->interval : r->period * 2;
    if (next > r->max_period) next = r->max_period;
    if (next != r->period) {
      r->period = next;
      uv_timer_start(&r->timer, on_timer, next, next);
    }
  }
  /* Shrink a buffer a past flood grew far beyond the batch cap; if that
   * fails the larger buffer is kept, which is harmless. */
  if (!r->closing && r->cap > 4 * r->max) {
    char *p = realloc(r->buf, r->max * 2);
    if (p) {
      r->buf = p;
      r->cap = r->max * 2;
    }
  }
}

static void on_closed(uv_handle_t *handle) {
  struct reader *r = handle->data;
  if (--r->handles > 0) return;
  free(r->buf);
  free(r);
}

void reader_close(struct reader *r) {
  if (r->closing) return;
  r->closing = true;
  uv_poll_stop(&r->poll);
  if (r->timed) uv_timer_stop(&r->timer);
  ring_buffer__free(r->rb);
  r->rb = NULL;
  napi_delete_reference(r->env, r->callback);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, on_closed);
  if (r->timed) uv_close((uv_handle_t *)&r->timer, on_closed);
}

/* ringBuffer(obj, mapName, callback(batch, count, payloadBytes, errno, op, timer), maxBatchBytes, intervalMs, minBatch, everyTimer) -> id
 * intervalMs 0: read on wake-ups only. everyTimer: the callback runs after
 * every drain of the timer, with no records too (timer: true). */
static napi_value ring_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct object *o = get_object(env, argv[0], true);
  if (!o) return NULL;
  if (!o->loaded) return throw_plain(env, "NOT_LOADED", "call load() before reading a ring buffer");
  char *name = get_string(env, argv[1]);
  if (!name) return throw_plain(env, "BAD_ARGUMENT", "map name must be a string");
  struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);
  free(name);
  if (!m) return throw_errno(env, "find ring buffer map", ENOENT);
  uint32_t max = 0;
  CHECK(napi_get_value_uint32(env, argv[3], &max));
  if (max < 64) max = 64;
  uint32_t interval = 0;
  if (argc > 4) CHECK(napi_get_value_uint32(env, argv[4], &interval));
  uint32_t min_batch = 1;
  if (argc > 5) CHECK(napi_get_value_uint32(env, argv[5], &min_batch));
  bool every_timer = false;
  if (argc > 6) CHECK(napi_get_value_bool(env, argv[6], &every_timer));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));

  struct reader *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "calloc", ENOMEM);
  r->env = env;
  r->max = max;
  r->cap = 4096;
  while (r->cap < max) r->cap *= 2;
  r->buf = malloc(r->cap);
  log_reset();
  r->rb = r->buf ? ring_buffer__new(bpf_map__fd(m), on_sample, r, NULL) : NULL;
  if (!r->rb) {
    int err = r->buf ? errno : ENOMEM;
    free(r->buf);
    free(r);
    return throw_errno(env, "ring_buffer__new", err);
  }
  napi_value resource, resource_name;
  if (o->n_readers == o->cap_readers) {
    size_t cap = o->cap_readers ? o->cap_readers * 2 : 4;
    struct reader **p = realloc(o->readers, cap * sizeof *p);
    if (!p) goto fail;
    o->readers = p;
    o->cap_readers = cap;
  }
  if (napi_create_reference(env, argv[2], 1, &r->callback) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "BpfRingBuffer", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, resource, resource_name, &r->async) != napi_ok)
    goto fail;
  if (uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb)) != 0) goto fail;
  r->poll.data = r;
  r->handles = 1;
  int uerr = uv_poll_start(&r->poll, UV_READABLE, on_poll);
  if (uerr == 0 && interval > 0) {
    uerr = uv_timer_init(loop, &r->timer);
    if (uerr == 0) {
      r->timer.data = r;
      r->timed = true;
      r->interval = r->period = interval;
      r->max_period = interval * IDLE_FACTOR;
      r->min_batch = min_batch;
      r->every_timer = every_timer;
      r->handles = 2;
      uerr = uv_timer_start(&r->timer, on_timer, interval, interval);
    }
  }
  if (uerr != 0) {
    /* the handle is initialised: it is freed by on_closed, after uv_close */
    napi_delete_reference(env, r->callback);
    napi_async_destroy(env, r->async);
    ring_buffer__free(r->rb);
    r->rb = NULL;
    r->closing = true;
    uv_close((uv_handle_t *)&r->poll, on_closed);
    if (r->timed) uv_close((uv_handle_t *)&r->timer, on_closed);
    return throw_errno(env, "start reading the ring buffer", uerr);
  }
  o->readers[o->n_readers] = r;
  napi_value id;
  CHECK(napi_create_uint32(env, (uint32_t)o->n_readers++, &id));
  return id;

fail:
  if (r->callback) napi_delete_reference(env, r->callback);
  if (r->async) napi_async_destroy(env, r->async);
  ring_buffer__free(r->rb);
  free(r->buf);
  free(r);
  return throw_errno(env, "ring buffer reader setup", ENOMEM);
}

static struct reader *reader_arg(napi_env env, napi_value *argv) {
  struct object *o = get_object(env, argv[0], false);
  uint32_t id = 0;
  if (!o || napi_get_value_uint32(env, argv[1], &id) != napi_ok) return NULL;
  if (o->closed || id >= o->n_readers) return NULL;
  return o->readers[id];
}

/* readerClose(obj, id) */
static napi_value reader_close_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = reader_arg(env, argv);
  if (r) {
    struct object *o = get_object(env, argv[0], false);
    uint32_t id;
    napi_get_value_uint32(env, argv[1], &id);
    o->readers[id] = NULL;
    reader_close(r);
  }
  return NULL;
}

/* A drain on demand stops after this many full batches: producers that keep
 * up with the reader cannot hold the caller forever (the ring's records fit
 * in far fewer at the default batch size). */
#define DRAIN_BATCHES_MAX 256

/* readerDrain(obj, id): reads what the ring holds now, in batches, before
 * returning (the callback runs synchronously). */
static napi_value reader_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = reader_arg(env, argv);
  for (int i = 0; r && !r->closing && i < DRAIN_BATCHES_MAX; i++) {
    drain(r, 0, false);
    /* a batch under the cap: the ring was emptied */
    if (r->len < r->max) break;
  }
  return NULL;
}

/* readerBackoff(obj, id, maxMs): the longest the drain timer backs off to
 * (at least its interval); a timer waiting longer now is restarted at it. */
static napi_value reader_backoff(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = reader_arg(env, argv);
  uint32_t ms = 0;
  CHECK(napi_get_value_uint32(env, argv[2], &ms));
  if (!r || r->closing || !r->timed) return NULL;
  r->max_period = ms < r->interval ? r->interval : ms;
  if (r->period > r->max_period) {
    r->period = r->max_period;
    uv_timer_start(&r->timer, on_timer, r->period, r->period);
  }
  return NULL;
}

/* readerRef(obj, id, keepsProcessAlive) */
static napi_value reader_ref(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct reader *r = reader_arg(env, argv);
  bool keep = true;
  napi_get_value_bool(env, argv[2], &keep);
  if (r && !r->closing) {
    if (keep) {
      uv_ref((uv_handle_t *)&r->poll);
      if (r->timed) uv_ref((uv_handle_t *)&r->timer);
    } else {
      uv_unref((uv_handle_t *)&r->poll);
      if (r->timed) uv_unref((uv_handle_t *)&r->timer);
    }
  }
  return NULL;
}

void register_ringbuf(napi_env env, napi_value exports) {
  export_fn(env, exports, "ringBuffer", ring_buffer);
  export_fn(env, exports, "readerClose", reader_close_js);
  export_fn(env, exports, "readerRef", reader_ref);
  export_fn(env, exports, "readerDrain", reader_drain);
  export_fn(env, exports, "readerBackoff", reader_backoff);
}
