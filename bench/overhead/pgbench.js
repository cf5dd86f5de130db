// pgbench workloads in which every statement carries a sampled W3C
// traceparent in a trailing sqlcommenter comment. pgbench cannot print hex,
// so each transaction draws two 10-digit decimal numbers (decimal digits are
// valid hex) for the low digits of the trace id and the parent span id:
// every transaction is a distinct, valid trace.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const IDS = '\\set t random(1000000000, 9999999999)\n\\set s random(1000000000, 9999999999)\n';
const TP = "/*traceparent='00-0000000000000000000000:t-000000:s-01'*/";

const WORKLOADS = {
  // the built-in -S (select-only) script, traced
  select: {
    statementsPerTxn: 1,
    script: `\\set aid random(1, 100000 * :scale)\n${IDS}` +
      `SELECT abalance FROM pgbench_accounts WHERE aid = :aid ${TP};\n`,
  },
  // the built-in TPC-B-like script, every statement (BEGIN and END too) traced
  tpcb: {
    statementsPerTxn: 7,
    script: '\\set aid random(1, 100000 * :scale)\n\\set bid random(1, 1 * :scale)\n' +
      `\\set tid random(1, 10 * :scale)\n\\set delta random(-5000, 5000)\n${IDS}` +
      `BEGIN ${TP};\n` +
      `UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid ${TP};\n` +
      `SELECT abalance FROM pgbench_accounts WHERE aid = :aid ${TP};\n` +
      `UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid ${TP};\n` +
      `UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid ${TP};\n` +
      `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP) ${TP};\n` +
      `END ${TP};\n`,
  },
  // CPU-heavy: a hash join of 1M accounts (scale 10) with themselves, in one backend (no parallel workers)
  hashjoin: {
    statementsPerTxn: 1,
    script: `${IDS}SELECT count(*) FROM pgbench_accounts a JOIN pgbench_accounts b ON b.aid = a.aid WHERE a.abalance >= 0 ${TP};\n`,
  },
};

/** What pgbench does before a run (its default vacuum), done outside the timed window. */
const PREPARE_SQL = ['VACUUM pgbench_branches', 'VACUUM pgbench_tellers', 'TRUNCATE pgbench_history', 'CHECKPOINT'];

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Latencies (µs) from pgbench --log files (`client txn latency_us script epoch us`): all, and by script number; each sorted. */
function readLatencies(dir, prefix) {
  const all = [];
  const byScript = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith(`${prefix}.`))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    let i = 0;
    while (i < text.length) {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? text.length : nl;
      const line = text.slice(i, end);
      const a = line.indexOf(' ');
      const b = line.indexOf(' ', a + 1);
      const c = line.indexOf(' ', b + 1);
      const d = line.indexOf(' ', c + 1);
      if (d > 0) {
        const lat = Number(line.slice(b + 1, c));
        all.push(lat);
        (byScript[Number(line.slice(c + 1, d))] ??= []).push(lat);
      }
      i = end + 1;
    }
    fs.rmSync(path.join(dir, f));
  }
  const sorted = (xs) => Float64Array.from(xs ?? []).sort();
  return { all: sorted(all), byScript: Array.from(byScript, sorted) };
}

/**
 * Runs one timed pgbench round; resolves with TPS, p50/p99 latency (ms, from
 * per-transaction logs unless latencies is false) and transactions.
 * scriptFile: a script, or `file@weight` scripts that pgbench picks among per
 * transaction (writeScripts' mixed ones: sampled first); with several, the
 * latencies of the first (sampled) and of the others (unsampled) apart too.
 */
function runPgbench({ cluster, workload, seconds, clients, threads, workDir, scriptFile, rate, latencies = true }) {
  const prefix = `pgbench_log_${Date.now()}`;
  const args = [
    '-n', ...[scriptFile].flat().flatMap((f) => ['-f', f]), '-c', String(clients), '-j', String(threads), '-T', String(seconds),
    ...(rate ? ['-R', String(rate)] : []),
    ...(latencies ? ['--log', `--log-prefix=${path.join(workDir, prefix)}`] : []), ...cluster.connArgs, 'postgres',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(cluster.bin, 'pgbench'), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...cluster.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`pgbench (${workload}) failed with exit ${code}:\n${err}`));
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
      const txns = /number of transactions actually processed: (\d+)/.exec(out);
      const failed = /number of failed transactions: (\d+)/.exec(out);
      if (!tps || !txns) return reject(new Error(`unexpected pgbench output:\n${out}\n${err}`));
      const lat = latencies ? readLatencies(workDir, prefix) : { all: new Float64Array([NaN]), byScript: [] };
      const ms = (xs, q) => (xs.length > 0 ? percentile(xs, q) / 1000 : NaN);
      const r = {
        tps: Number(tps[1]),
        transactions: Number(txns[1]),
        failed: failed ? Number(failed[1]) : 0,
        p50ms: ms(lat.all, 0.5),
        p99ms: ms(lat.all, 0.99),
      };
      if (Array.isArray(scriptFile) && lat.byScript.length > 1) {
        const [sampled, ...rest] = lat.byScript;
        const unsampled = Float64Array.from(rest.flatMap((xs) => [...xs])).sort();
        Object.assign(r, {
          sampledTransactions: sampled.length,
          sampledP50ms: ms(sampled, 0.5), sampledP99ms: ms(sampled, 0.99),
          unsampledP50ms: ms(unsampled, 0.5), unsampledP99ms: ms(unsampled, 0.99),
        });
      }
      resolve(r);
    });
  });
}

/**
 * Script files per workload: `sampled` (flags 01 on every statement),
 * `unsampled` (flags 00: the kernel reads and parses the context, then leaves
 * the statement alone), `mixed` (one transaction in ten sampled: what
 * production looks like; the backends get phase probes, and the other nine
 * pay their hits) and `mixed1` (one in a hundred). The mixed ones are the
 * sampled and the unsampled script weighted (`file@weight`: pgbench picks one
 * per transaction), so a round's log tells sampled transactions from the others.
 */
function writeScripts(dir) {
  const files = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    files[name] = {
      sampled: path.join(dir, `${name}.sql`), unsampled: path.join(dir, `${name}-unsampled.sql`),
    };
    files[name].mixed = [`${files[name].sampled}@1`, `${files[name].unsampled}@9`];
    files[name].mixed1 = [`${files[name].sampled}@1`, `${files[name].unsampled}@99`];
    fs.writeFileSync(files[name].sampled, w.script);
    fs.writeFileSync(files[name].unsampled, w.script.replaceAll(":s-01'*/", ":s-00'*/"));
  }
  return files;
}

module.exports = { WORKLOADS, PREPARE_SQL, runPgbench, writeScripts };
