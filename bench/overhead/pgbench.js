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

/** Latencies (µs) from pgbench --log files: `client txn latency_us script epoch us`. */
function readLatencies(dir, prefix) {
  const lat = [];
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
      if (c > 0) lat.push(Number(line.slice(b + 1, c)));
      i = end + 1;
    }
    fs.rmSync(path.join(dir, f));
  }
  return Float64Array.from(lat).sort();
}

/** Runs one timed pgbench round; resolves with TPS, p50/p99 latency (ms, from per-transaction logs unless latencies is false) and transactions. */
function runPgbench({ cluster, workload, seconds, clients, threads, workDir, scriptFile, rate, latencies = true }) {
  const prefix = `pgbench_log_${Date.now()}`;
  const args = [
    '-n', '-f', scriptFile, '-c', String(clients), '-j', String(threads), '-T', String(seconds),
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
      const lat = latencies ? readLatencies(workDir, prefix) : new Float64Array([NaN]);
      resolve({
        tps: Number(tps[1]),
        transactions: Number(txns[1]),
        failed: failed ? Number(failed[1]) : 0,
        p50ms: percentile(lat, 0.5) / 1000,
        p99ms: percentile(lat, 0.99) / 1000,
      });
    });
  });
}

/** The body of a script (its \set lines stay in front) in which one transaction in `every` is sampled. */
function mixed(script, every) {
  const lines = script.split('\n');
  const sets = lines.filter((l) => l.startsWith('\\set'));
  const body = lines.filter((l) => l && !l.startsWith('\\set')).join('\n');
  return `${sets.join('\n')}\n\\set f random(1, ${every})\n\\if :f = 1\n${body}\n\\else\n${body.replaceAll(":s-01'*/", ":s-00'*/")}\n\\endif\n`;
}

/**
 * Script files per workload: `sampled` (flags 01 on every statement),
 * `unsampled` (flags 00: the kernel reads and parses the context, then leaves
 * the statement alone), `mixed` (one transaction in ten sampled: what
 * production looks like; the backends get phase probes, and the other nine
 * pay their hits) and `mixed1` (one in a hundred).
 */
function writeScripts(dir) {
  const files = {};
  for (const [name, w] of Object.entries(WORKLOADS)) {
    files[name] = {
      sampled: path.join(dir, `${name}.sql`), unsampled: path.join(dir, `${name}-unsampled.sql`), mixed: path.join(dir, `${name}-mixed.sql`),
      mixed1: path.join(dir, `${name}-mixed1.sql`),
    };
    fs.writeFileSync(files[name].sampled, w.script);
    fs.writeFileSync(files[name].unsampled, w.script.replaceAll(":s-01'*/", ":s-00'*/"));
    fs.writeFileSync(files[name].mixed, mixed(w.script, 10));
    fs.writeFileSync(files[name].mixed1, mixed(w.script, 100));
  }
  return files;
}

module.exports = { WORKLOADS, PREPARE_SQL, runPgbench, writeScripts };
