// The collector's own health, read from its status at scrape time: process
// metrics (prom-client's defaults plus threads), what the kernel saw and
// dropped, the ring buffer, decoding, the export queue, what is attached.
import * as fs from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, type Registry } from 'prom-client';
import type { CollectorStatus } from '../control/collector-control';

function threads(): number {
  const m = /^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) : 0;
}

/** The executable's own name ("/usr/lib/postgresql/15/bin/postgres"), not the /proc/<pid>/exe it was attached through. */
export function registerCollectorMetrics(registry: Registry, status: () => CollectorStatus): void {
  collectDefaultMetrics({ register: registry });
  // gauges named like counters, which promtool rejects; nodejs_active_handles etc. carry the same numbers by type
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const registers = [registry];
  // one status() per scrape, however many metrics read it
  let cached: { at: number; s: CollectorStatus } | null = null;
  const now = () => {
    const t = Date.now();
    if (!cached || t - cached.at > 500) cached = { at: t, s: status() };
    return cached.s;
  };
  const counter = (name: string, help: string, value: (s: CollectorStatus) => number) =>
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(value(now())); } });
  const gauge = (name: string, help: string, value: (s: CollectorStatus) => number) =>
    new Gauge({ name, help, registers, collect() { this.set(value(now())); } });

  gauge('pgferret_process_threads', 'OS threads of the collector process', () => threads());
  new Counter({
    name: 'pgferret_kernel_statements_total',
    help: 'Statements the kernel side saw, by outcome: seen (all), traced (with a sampled traceparent), roots (sampled without one), unsampled, malformed traceparent, long_text (only a leading comment searched)',
    labelNames: ['outcome'], registers,
    collect() {
      this.reset();
      const k = now().kernel;
      const outcomes: Record<string, number | undefined> = {
        seen: k.starts, traced: k.traced, roots: k.roots, unsampled: k.unsampled, malformed: k.malformed, long_text: k.long_text,
      };
      for (const [outcome, v] of Object.entries(outcomes)) this.labels(outcome).inc(v ?? 0);
    },
  });
  counter('pgferret_ringbuffer_dropped_total', 'Records the kernel dropped because the ring buffer was full', (s) => s.kernel.dropped ?? 0);
  counter('pgferret_ringbuffer_records_total', 'Records read from the ring buffer', (s) => s.ringBuffer.records);
  counter('pgferret_ringbuffer_bytes_total', 'Bytes read from the ring buffer', (s) => s.ringBuffer.bytes);
  counter('pgferret_decode_errors_total', 'Ring-buffer records that could not be decoded', (s) => s.decode.invalid);
  counter('pgferret_statements_assembled_total', 'Statements assembled from the records (each becomes spans and metrics)', (s) => s.statements);
  counter('pgferret_orphan_marks_total', 'Records for a backend with no open statement (its start record was lost)', (s) => s.orphanMarks);
  gauge('pgferret_open_statements', 'Request cycles still open (a backend is working on them)', (s) => s.openCycles);
  gauge('pgferret_export_queue_spans', 'Spans waiting in the export queue', (s) => s.export.queued);
  counter('pgferret_export_spans_total', 'Spans exported successfully', (s) => s.export.exported);
  counter('pgferret_export_dropped_spans_total', 'Spans dropped: queue full, or their export failed', (s) => s.export.dropped);
  counter('pgferret_export_failures_total', 'Export requests that failed (after the exporter\'s retries)', (s) => s.export.exportFailures);
  gauge('pgferret_tracing_enabled', '1 while tracing is enabled (see pgferret-collector control)', (s) => (s.enabled ? 1 : 0));
  gauge('pgferret_clusters_attached', 'PostgreSQL clusters the probes are attached to', (s) => s.clusters.filter((c) => !c.error).length);
  gauge('pgferret_clusters_failed', 'PostgreSQL clusters found that could not be attached (see pgferret-collector status)', (s) => s.clusters.filter((c) => c.error).length);
  gauge('pgferret_backends_armed', 'Backends with phase probes now (they carry sampled statements)', (s) => s.backends.armed);
  counter('pgferret_backends_armed_total', 'Backends armed with phase probes so far', (s) => s.backends.armings);
  gauge('pgferret_backends_tls', 'Encrypted backends (TLS, GSSAPI) alive and followed at their TLS/GSSAPI read and write', (s) => s.backends.tls);
  counter('pgferret_untimed_statements_total', 'Sampled statements that ran before their backend had phase probes', (s) => s.untimedStatements);
  new Gauge({
    name: 'pgferret_binary_probe_set',
    help: 'The phase probe set each PostgreSQL binary gets (1 per binary and set)',
    labelNames: ['binary', 'probe_set'], registers,
    collect() {
      this.reset();
      const s = now();
      for (const b of s.binaries) this.labels(b.exe, b.probeSet).set(1);
    },
  });
}
