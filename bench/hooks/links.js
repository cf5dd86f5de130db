// BPF links on the host that are not the arm's own. Other sessions on this
// machine run the collector's tests; a foreign sys_exit or sched_switch
// program makes every process pay the tracepoint, detached arm included, so
// runs that saw one are left out of the pairs.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

/** prog ids of the BPF programs a process holds open */
function progIds(pid) {
  const ids = new Set();
  if (!pid) return ids;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const m = /^prog_id:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch { /* fd closed meanwhile */ }
  }
  return ids;
}

/** "type:tracepoint" of every link whose program `ownPid` does not hold; null if bpftool failed */
function foreignLinks(ownPid) {
  const r = spawnSync('bpftool', ['link', 'show', '--json'], { encoding: 'utf8' });
  let links;
  try {
    links = JSON.parse(r.stdout);
  } catch {
    return null;
  }
  const own = progIds(ownPid);
  return links.filter((l) => !own.has(l.prog_id)).map((l) => `${l.type}${l.tp_name ? `:${l.tp_name}` : ''}`);
}

/** Polls until no foreign link is left or `timeoutMs` passed; resolves with what is left. */
async function quietHost(ownPid, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const f = foreignLinks(ownPid);
    if (f === null || f.length === 0 || Date.now() - t0 > timeoutMs) return f;
    await new Promise((r) => setTimeout(r, 500));
  }
}

module.exports = { foreignLinks, quietHost };
