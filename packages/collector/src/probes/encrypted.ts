// Encrypted backends (TLS, GSSAPI encryption): their socket carries
// ciphertext, so the kernel hands each one over when it negotiates (or is
// found speaking TLS when adopted) and it gets pid-filtered probes on
// PostgreSQL's own secure_read/secure_write, where every protocol byte passes
// in plaintext whatever encrypts it (tls.bpf.h). They stay for the backend's
// life: nothing else says which of its statements are sampled.
import type { BpfObject } from '@pgferret/bpf-loader';
import type { ElfInfo } from '../discover/elf';
import { armBackend, type ArmedBackend } from './attach';
import type { Probe } from './tables';

// Attached in this order, one after the other (each takes the kernel from
// ~0.1 to ~200 ms on a busy host): the output side first, so that no input
// is ever followed while the replies to it could go unseen (their
// completions would be given to the wrong statements).
export const TLS_PROBES: Probe[] = [
  { type: 'uprobe', symbols: ['secure_write'], program: 'uprobe_tls_write' },
  { type: 'uprobe', symbols: ['secure_write'], program: 'uretprobe_tls_write', retprobe: true },
  { type: 'uprobe', symbols: ['secure_read'], program: 'uprobe_tls_read' },
  { type: 'uprobe', symbols: ['secure_read'], program: 'uretprobe_tls_read', retprobe: true },
];

/** Why an encrypted backend of this binary cannot be followed, or null. */
export function encryptedUntraceable(elf: ElfInfo): string | null {
  const missing = ['secure_read', 'secure_write'].filter((s) => !elf.functions.has(s));
  return missing.length ? `its executable does not export ${missing.join(' and ')}` : null;
}

export interface EncryptedStatus {
  /** backends seen negotiating TLS / GSSAPI encryption (since the start, gone ones included) */
  tls: number;
  gssenc: number;
  /** encrypted backends followed at secure_read/secure_write now */
  followed: number;
  /** backends armed so far, and the mean time their four probes took to attach (what a new connection's first statements may miss) */
  armings: number;
  meanArmingMs: number;
  /** arming failures, and why the last one failed (or why encrypted backends are not followed at all) */
  failures: number;
  lastError: string | null;
}

export class EncryptedBackends {
  private armed = new Map<number, ArmedBackend>();
  private pending = new Map<number, ElfInfo>();
  private scheduled = false;
  private tls = 0;
  private gssenc = 0;
  private failures = 0;
  private lastError: string | null = null;
  private said = false;
  private armings = 0;
  private armingMs = 0;

  /** `refused`: why the kernel refused the tls programs, or null */
  constructor(
    private readonly obj: () => BpfObject | null,
    private readonly refused: () => string | null,
    private readonly log: (m: string) => void,
  ) {}

  /** A backend went encrypted: `elf` is its cluster's executable (null: not known). */
  add(pid: number, gss: boolean, elf: ElfInfo | null): void {
    if (gss) this.gssenc++;
    else this.tls++;
    if (this.armed.has(pid)) return;
    const why = this.refused() ?? (elf ? encryptedUntraceable(elf) : 'its cluster is not attached');
    if (why) {
      if (this.lastError === null) this.log(`encrypted connections (pid ${pid}) are not traced: ${why}`);
      this.lastError = why;
      return;
    }
    // attached out of the ring-buffer callback, every backend waiting at once
    this.pending.set(pid, elf!);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.armPending());
    }
  }

  private armPending(): void {
    this.scheduled = false;
    const obj = this.obj();
    for (const [pid, elf] of this.pending) {
      if (!obj || this.armed.has(pid)) continue;
      try {
        const t0 = process.hrtime.bigint();
        this.armed.set(pid, armBackend(obj, pid, `/proc/${pid}/exe`, TLS_PROBES, elf));
        this.armings++;
        this.armingMs += Number(process.hrtime.bigint() - t0) / 1e6;
        if (!this.said) this.log(`following encrypted connections (TLS, GSSAPI) at secure_read/secure_write, first pid ${pid}: 4 probes per such backend`);
        this.said = true;
      } catch (e) {
        // mostly a backend that exited meanwhile (a connection refused after its handshake)
        this.failures++;
        this.lastError = `pid ${pid}: ${(e as Error).message}`;
      }
    }
    this.pending.clear();
  }

  /** Detaches the probes of backends that are gone. */
  sweep(alive: (pid: number) => boolean): void {
    for (const [pid, a] of this.armed) {
      if (alive(pid)) continue;
      a.detach();
      this.armed.delete(pid);
    }
  }

  stop(): void {
    for (const a of this.armed.values()) a.detach();
    this.armed.clear();
    this.pending.clear();
  }

  get status(): EncryptedStatus {
    return {
      tls: this.tls, gssenc: this.gssenc, followed: this.armed.size, armings: this.armings,
      meanArmingMs: this.armings ? this.armingMs / this.armings : 0, failures: this.failures, lastError: this.lastError,
    };
  }
}
