// Medians, ratios and derived per-statement costs of the A/B rounds, as
// Markdown for BENCHMARKS.md.
'use strict';

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function summarise(results, workloads, census) {
  const out = {};
  for (const w of [...new Set(results.map((r) => r.workload))]) {
    const stmtsPerTxn = workloads[w].statementsPerTxn;
    const rows = results.filter((r) => r.workload === w);
    // each arm against the detached rounds of its shape (detached-low for low, ...)
    const baseOf = (arm) => {
      const kind = arm.split('@')[0];
      const shape = ['low', 'pool16'].find((x) => kind === x || kind === `detached-${x}`);
      return shape ? `detached-${shape}` : 'detached';
    };
    const arms = {};
    for (const arm of [...new Set(rows.map((r) => r.arm))]) {
      const rs = rows.filter((r) => r.arm === arm);
      const base = rows.filter((r) => r.arm === baseOf(arm));
      const stmts = (r) => r.transactions * stmtsPerTxn;
      // each B round against the A round of the same index: drift cancels
      const paired = (f) => median(rs.map((r) => {
        const a = base.find((b) => b.round === r.round);
        return a ? f(r) / f(a) : NaN;
      }));
      arms[arm] = {
        rounds: rs.length,
        tps: median(rs.map((r) => r.tps)),
        p50ms: median(rs.map((r) => r.p50ms)),
        p99ms: median(rs.map((r) => r.p99ms)),
        tpsRatioPaired: paired((r) => r.tps),
        p99RatioPaired: paired((r) => r.p99ms),
        backendCpuUsPerStmt: median(rs.map((r) => (1e6 * r.backendCpuSeconds) / stmts(r))),
        failed: rs.reduce((s, r) => s + r.failed, 0),
      };
      // mixed arms: the sampled transactions (the ones users trace) against the unsampled ones of the same round
      if (rs.some((r) => Number.isFinite(r.sampledP50ms))) {
        Object.assign(arms[arm], {
          sampledP50ms: median(rs.map((r) => r.sampledP50ms)),
          sampledP99ms: median(rs.map((r) => r.sampledP99ms)),
          unsampledP50ms: median(rs.map((r) => r.unsampledP50ms)),
          unsampledP99ms: median(rs.map((r) => r.unsampledP99ms)),
          sampledP50VsUnsampled: median(rs.map((r) => r.sampledP50ms / r.unsampledP50ms)),
          sampledP99VsUnsampled: median(rs.map((r) => r.sampledP99ms / r.unsampledP99ms)),
          unsampledP99VsDetachedPaired: paired((r) => r.unsampledP99ms ?? r.p99ms),
        });
      }
      if (!arm.startsWith('detached')) {
        Object.assign(arms[arm], {
          // while pgbench ran; the per-statement figure also counts the drain afterwards
          collectorCpuPct: median(rs.map((r) => (100 * r.collectorCpuDuringLoadSeconds) / r.wallSeconds)),
          collectorCpuUsPerStmt: median(rs.map((r) => (1e6 * r.collectorCpuSeconds) / stmts(r))),
          rssMaxMiB: Math.max(...rs.map((r) => r.rssMaxKiB)) / 1024,
          rssMedianMiB: median(rs.map((r) => r.rssMaxKiB)) / 1024,
          // per-backend phase probe hits (sampled statements or not), and records sent
          hitsPerStmt: median(rs.map((r) => r.kernel.phase_hits / stmts(r))),
          untimedShare: median(rs.map((r) => r.untimed / Math.max(1, r.statements))),
          recordsPerStmt: median(rs.map((r) => r.ringRecords / stmts(r))),
          kernelDropShare: median(rs.map((r) => r.kernel.dropped / Math.max(1, r.ringRecords + r.kernel.dropped))),
          assembledShare: median(rs.map((r) => r.statements / stmts(r))),
          tracedShare: median(rs.map((r) => r.kernel.traced / stmts(r))),
          spansPerStmt: median(rs.map((r) => (r.export.exported + r.export.dropped) / stmts(r))),
          exportedShare: median(rs.map((r) => r.export.exported / Math.max(1, r.export.exported + r.export.dropped))),
          exportedSpansPerSec: median(rs.map((r) => r.export.exported / r.wallSeconds)),
          assembledPerSec: median(rs.map((r) => r.statements / r.wallSeconds)),
          kernelDropped: rs.reduce((s, r) => s + r.kernel.dropped, 0),
          exportDropped: rs.reduce((s, r) => s + r.export.dropped, 0),
          exportFailures: rs.reduce((s, r) => s + r.export.exportFailures, 0),
          sinkBytesPerStmt: median(rs.map((r) => r.sinkBytes / stmts(r))),
          benchProcessCpuPct: median(rs.map((r) => (100 * r.benchProcessCpuSeconds) / r.wallSeconds)),
          drainMs: median(rs.map((r) => r.drainMs)),
          phasesShare: median(rs.map((r) => r.phases?.share ?? NaN)),
          probeCostPct: median(rs.map((r) => r.budget?.totalPct ?? NaN)),
        });
      }
    }
    for (const [arm, s] of Object.entries(arms)) {
      if (arm.startsWith('detached')) continue;
      const a = arms[baseOf(arm)];
      if (!a) continue;
      s.tpsRatio = s.tps / a.tps;
      s.p99Ratio = s.p99ms / a.p99ms;
      // probe work runs in the backend: its extra CPU per statement, spread
      // over the hits counted in the drop-free census
      s.backendExtraUsPerStmt = s.backendCpuUsPerStmt - a.backendCpuUsPerStmt;
      s.usPerHit = s.hitsPerStmt > 0 ? s.backendExtraUsPerStmt / s.hitsPerStmt : NaN;
    }
    out[w] = arms;
  }
  return out;
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function formatAb(summary, meta, census) {
  const lines = [];
  for (const [w, c] of Object.entries(census || {})) {
    lines.push(`census ${w}: ${f(c.hitsPerStmt)} probe hits, ${f(c.recordsPerStmt)} records and ${f(c.spansPerStmt)} spans per sampled statement, collector ${f(c.collectorUsPerStmt, 1)} µs CPU per statement in ${c.batches} batches (${c.statements} statements at 200 tps, ${c.kernelDropped} dropped, ${c.untimed} without phases${c.phases ? `, ${f(100 * (c.phases.share ?? 0), 1)} % with` : ''})`);
  }
  lines.push(`Run ${meta.date}: ${meta.cpus} × ${meta.cpuModel}, ${meta.memGiB} GiB, kernel ${meta.kernel}, ${meta.postgres}, node ${meta.node}`);
  lines.push(`pgbench -c ${meta.options.clients} -j ${meta.options.threads}, ${meta.options.seconds} s rounds, ${meta.options.rounds} rounds per arm, scale ${meta.options.scale}`, '');
  lines.push('| workload | arm | rounds | TPS (median) | TPS ratio (paired) | p99 ms | p99 ratio (paired) | backend CPU µs/stmt | Δ vs detached µs | collector CPU % of a core | collector µs/stmt | collector RSS max MiB | probe hits per stmt | ring drops | backend µs per hit | spans/stmt exported | untimed | sampled with phases | probe cost (budget) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [w, arms] of Object.entries(summary)) {
    for (const [arm, s] of Object.entries(arms)) {
      const b = !arm.startsWith('detached');
      lines.push(`| ${w} | ${arm} | ${s.rounds} | ${f(s.tps, 0)} | ${b ? `${f(s.tpsRatio, 3)} (${f(s.tpsRatioPaired, 3)})` : '1'} | ${f(s.p99ms, 3)} | ${b ? `${f(s.p99Ratio, 3)} (${f(s.p99RatioPaired, 3)})` : '1'} | ${f(s.backendCpuUsPerStmt, 1)} | ${b ? f(s.backendExtraUsPerStmt, 1) : '—'} | ${b ? f(s.collectorCpuPct, 0) : '—'} | ${b ? f(s.collectorCpuUsPerStmt, 1) : '—'} | ${b ? f(s.rssMaxMiB, 0) : '—'} | ${b ? f(s.hitsPerStmt, 2) : '—'} | ${b ? `${f(100 * s.kernelDropShare, 0)} %` : '—'} | ${b ? f(s.usPerHit, 2) : '—'} | ${b ? `${f(s.spansPerStmt * s.exportedShare, 2)} of ${f(s.spansPerStmt, 2)}` : '—'} | ${b ? `${f(100 * s.untimedShare, 2)} %` : '—'} | ${b && Number.isFinite(s.phasesShare) ? `${f(100 * s.phasesShare, 1)} %` : '—'} | ${b && Number.isFinite(s.probeCostPct) ? `${f(s.probeCostPct, 2)} %` : '—'} |`);
    }
  }
  const mixed = Object.entries(summary).flatMap(([w, arms]) => Object.entries(arms).filter(([, s]) => Number.isFinite(s.sampledP50ms)).map(([arm, s]) => [w, arm, s]));
  if (mixed.length > 0) {
    lines.push('', '| workload | arm | sampled p50 / p99 ms | unsampled p50 / p99 ms | sampled ÷ unsampled, p50 / p99 (median of rounds) | unsampled p99 ÷ detached p99 (paired) |', '|---|---|---|---|---|---|');
    for (const [w, arm, s] of mixed) {
      lines.push(`| ${w} | ${arm} | ${f(s.sampledP50ms, 3)} / ${f(s.sampledP99ms, 3)} | ${f(s.unsampledP50ms, 3)} / ${f(s.unsampledP99ms, 3)} | ${f(s.sampledP50VsUnsampled, 2)} / ${f(s.sampledP99VsUnsampled, 2)} | ${f(s.unsampledP99VsDetachedPaired, 2)} |`);
    }
  }
  lines.push('', '```json', JSON.stringify(summary, (k, v) => (typeof v === 'number' ? Number(v.toPrecision(5)) : v), 1), '```', '');
  return `${lines.join('\n')}\n`;
}

function formatAccount(account) {
  const lines = ['', '| workload/arm | TPS | phase probe hits per stmt | BPF program: ns per run × runs per statement |', '|---|---|---|---|'];
  for (const [k, a] of Object.entries(account)) {
    const progs = Object.entries(a.prog).map(([n, v]) => `${n} ${f(v.nsPerRun, 0)} ns × ${f(v.runs / Math.max(1, a.statements * (a.measuredShare ?? 1)), 2)}`).join('; ');
    lines.push(`| ${k} | ${f(a.tps, 0)} | ${f(a.phaseHitsPerStmt, 2)} | ${progs} |`);
  }
  return `${lines.join('\n')}\n`;
}

function formatRss(rss) {
  const kib = rss.samples.map((s) => s.rssKiB);
  const loaded = rss.samples.filter((s) => s.t > 0);
  const mib = (k) => (k / 1024).toFixed(1);
  const half = loaded.slice(Math.floor(loaded.length / 2));
  return [
    `RSS run: ${rss.minutes} min of traced pgbench select (${rss.pgbench.tps.toFixed(0)} tps, ${rss.statements} statements assembled), sampled every ${rss.intervalSeconds} s`,
    `attached idle ${mib(kib[0])} MiB; first loaded sample ${mib(loaded[0]?.rssKiB ?? NaN)} MiB; end ${mib(kib[kib.length - 1])} MiB; max ${mib(Math.max(...kib))} MiB; ` +
      `second half min–max ${mib(Math.min(...half.map((s) => s.rssKiB)))}–${mib(Math.max(...half.map((s) => s.rssKiB)))} MiB`,
    `kernel drops ${rss.kernel.dropped}, export dropped ${rss.export.dropped}, export failures ${rss.export.exportFailures}`,
    `BPF program time per run (bpf_stats): ${Object.entries(rss.progTime || {}).map(([n, v]) => `${n} ${(v.nsPerRun / 1000).toFixed(2)} µs × ${v.runs}`).join(', ')}`,
    `samples (s: MiB): ${rss.samples.map((s) => `${s.t.toFixed(0)}: ${mib(s.rssKiB)}`).join(', ')}`,
    '',
  ].join('\n');
}

module.exports = { summarise, formatAb, formatAccount, formatRss, median };
