// /proc files read through a descriptor kept open (discover/proc-file.ts):
// each read is the file as it is now, a list longer than the read buffer is
// read whole, a process that is gone reads as gone and lets its descriptor
// go, and no more descriptors stay open than the reader allows.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { OpenFiles, ProcFile } from '../packages/collector/src/discover/proc-file';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openDescriptorsOn(path: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // the directory's own descriptor, closed by now
    }
  }
  return n;
}

describe('ProcFile', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('reads the file as it is now, a long list whole, and a process that is gone as gone', async () => {
    // 1,000 children: their pids make a list longer than the 4 KB first read
    for (let i = 0; i < 1000; i++) children.push(spawn('sleep', ['60'], { stdio: 'ignore' }));
    const self = `/proc/${process.pid}/task/${process.pid}/children`;
    for (let i = 0; i < 100 && fs.readFileSync(self, 'latin1').trim().split(/\s+/).length < 1000; i++) await sleep(20);
    const list = new ProcFile(self, new OpenFiles(4), false);
    const read = list.read()!;
    expect(read.length).toBeGreaterThan(4096);
    expect(read).toBe(fs.readFileSync(self, 'latin1'));
    expect(openDescriptorsOn(self)).toBe(1);

    // the same descriptor, read again, says what the file says now
    const gone = children.pop()!;
    gone.kill('SIGKILL');
    await new Promise((r) => gone.once('exit', r));
    for (let i = 0; i < 100 && fs.readFileSync(self, 'latin1').includes(` ${gone.pid} `); i++) await sleep(20);
    expect(list.read()).toBe(fs.readFileSync(self, 'latin1'));
    expect(list.read()!.split(/\s+/)).not.toContain(String(gone.pid));

    // a process's file: open while it lives, gone (and closed) once it is
    const limit = new OpenFiles(2);
    const victim = children.pop()!;
    const stat = new ProcFile(`/proc/${victim.pid}/schedstat`, limit);
    expect(stat.read()).toMatch(/^\d+ \d+ \d+/);
    expect(openDescriptorsOn(`/proc/${victim.pid}/schedstat`)).toBe(1);
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${victim.pid}`); i++) await sleep(20);
    expect(stat.read()).toBeNull();
    expect(stat.reopened).toBe(false);
    expect(openDescriptorsOn(`/proc/${victim.pid}/schedstat`)).toBe(0);

    // the limit: two stay open, a third is opened and closed at each read
    const files = children.slice(0, 3).map((c) => new ProcFile(`/proc/${c.pid}/stat`, limit));
    for (const f of files) expect(f.read()).toMatch(/^\d+ \(sleep\) /);
    expect(children.slice(0, 3).map((c) => openDescriptorsOn(`/proc/${c.pid}/stat`))).toEqual([1, 1, 0]);
    files[0].close();
    expect(files[2].read()).toMatch(/^\d+ \(sleep\) /);
    expect(children.slice(0, 3).map((c) => openDescriptorsOn(`/proc/${c.pid}/stat`))).toEqual([0, 1, 1]);
    for (const f of files) f.close();
    list.close();
    expect(openDescriptorsOn(self)).toBe(0);
  });
});
