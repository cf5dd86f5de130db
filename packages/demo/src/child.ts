// Child processes of the demo: each in its own process group (so Ctrl-C in
// the terminal reaches only the demo, which stops them in order) and tied to
// the demo by a parent-death signal (so a killed demo leaves none behind).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Tied {
  child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  exited: Promise<void>;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

export function spawnTied(deathSignal: string, cmd: string, args: string[], opts: SpawnOptions): Tied {
  // setpriv execs the command, so the child's pid is the command's pid
  const child = spawn('setpriv', [`--pdeathsig=${deathSignal}`, '--', cmd, ...args], { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      out += `\n${e.message}`;
      resolve();
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal, graceMs) => {
      if (gone()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
