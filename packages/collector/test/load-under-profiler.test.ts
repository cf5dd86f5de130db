// The BPF object loads in a process that a sampling profiler signals every
// 100 µs (node --cpu-prof here; an APM agent's profiler does the same). The
// verifier gives up when the loading thread has a signal pending, and its
// largest program takes longer than that to verify: it was refused every time
// ("the kernel refused the collector's program on_sys_exit") until the loader
// held signals during the load.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasProgramType, PROGRAM_TYPES } from '@pgferret/bpf-loader';

const DIST = path.resolve(__dirname, '..', 'dist');

test('the whole object loads while a CPU profiler samples the loading thread every 100 µs', () => {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-prof-'));
  try {
    const script = `
      const { BPF_OBJECT } = require(${JSON.stringify(path.join(DIST, 'collector.js'))});
      const { loadProbes } = require(${JSON.stringify(path.join(DIST, 'kernel', 'load.js'))});
      const logged = [];
      const loaded = loadProbes(BPF_OBJECT, (m) => logged.push(m));
      const refused = Object.entries(loaded.refused).filter(([, why]) => why !== null);
      // a socket hook fallen back for want of tracing programs is said, as expected (and tracefs mounted where it was not); one for any other reason is not
      const unexpected = logged.filter((m) => !(loaded.socketFallback && m.endsWith(loaded.socketFallback) && /allows no tracing programs/.test(m)) && !m.startsWith('mounted tracefs at '));
      process.stdout.write(JSON.stringify({ programs: loaded.programs.filter((p) => p.loaded).length, refused, logged: unexpected, socketHook: loaded.socketHook }));
      loaded.obj.close();
    `;
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profDir, '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({ programs: expect.any(Number), refused: [], logged: [], socketHook: hasProgramType(PROGRAM_TYPES.tracing) === true ? 'fexit' : 'syscalls' });
    expect(out.programs).toBeGreaterThan(10);
    // the profiler did run (and so did sample the thread while it loaded)
    expect(fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(1);
  } finally {
    fs.rmSync(profDir, { recursive: true, force: true });
  }
});
