// Encrypted backends (TLS, GSSAPI encryption): their plaintext is read at
// PostgreSQL's be_tls_read/be_tls_write (and the GSSAPI pair), which only
// encrypted connections call. So the probes are attached once per cluster
// binary, when the cluster is attached and before its backends are
// followed, in every process that runs it (no pid filter): a plaintext
// backend never executes them, and an encrypted one is followed from its
// first byte. Detached when the last cluster of the binary stops. The kernel
// hands over each backend that negotiates (counted here, and followed while
// it lives).
import type { BpfObject } from '@pgferret/bpf-loader';
import type { EncryptedStatus } from '../control/collector-control';
import type { ElfInfo } from '../discover/elf';
import { attachToBinary } from '../probes/attach';
import { encryptedProbes, encryptedUntraceable } from '../probes/encrypted';

export interface EncryptedOptions {
  obj: BpfObject;
  /** the binary (Clusters' binary id) a backend's cluster runs, by its postmaster's pid; null: the cluster is not attached */
  binaryOf: (ppid: number) => string | null;
  /** why the kernel refused the tls programs, or null */
  refused: string | null;
  log: (m: string) => void;
}

export class EncryptedBackends {
  /** binary id → its probes' detach, or why encrypted backends of it are not followed */
  private binaries = new Map<string, { detach: (() => void) | null; why: string | null }>();
  /** encrypted backends alive and followed: pid → its postmaster's pid */
  private followedPids = new Map<number, number>();
  private tls = 0;
  private gssenc = 0;
  private notFollowed = 0;
  private lastError: string | null = null;

  constructor(private readonly o: EncryptedOptions) {}

  /**
   * A cluster binary was read: its encrypted read/write probes go in now,
   * before any of its backends is followed. Never throws: a failure leaves
   * that binary's encrypted backends unfollowed, said once and in status.
   */
  attachBinary(id: string, exePath: string, exeName: string, elf: ElfInfo): void {
    if (this.binaries.has(id)) return;
    let why = this.o.refused ?? encryptedUntraceable(elf);
    let detach: (() => void) | null = null;
    if (why === null) {
      const probes = encryptedProbes(elf);
      try {
        detach = attachToBinary(this.o.obj, exePath, probes, elf);
        const gss = probes.some((p) => p.type === 'uprobe' && p.symbols[0].startsWith('be_gssapi_'));
        this.o.log(`${exeName}: encrypted connections (TLS${gss ? ', GSSAPI' : ''}) followed at ${gss ? 'be_tls_read/write and be_gssapi_read/write' : 'be_tls_read/write'} (${probes.length} probes in the binary, never executed by plaintext backends)`);
      } catch (e) {
        why = `attaching the probes failed: ${(e as Error).message}`;
      }
    }
    if (why !== null) {
      this.o.log(`${exeName}: encrypted connections will not be traced: ${why}`);
      this.lastError = why;
    }
    this.binaries.set(id, { detach, why });
  }

  /** The last cluster of a binary stopped. */
  forgetBinary(id: string): void {
    this.binaries.get(id)?.detach?.();
    this.binaries.delete(id);
  }

  /** A backend went encrypted (GSSAPI encryption when `gss`, else TLS). */
  add(pid: number, ppid: number, gss: boolean): void {
    if (gss) this.gssenc++;
    else this.tls++;
    const id = this.o.binaryOf(ppid);
    const bin = id === null ? undefined : this.binaries.get(id);
    if (bin?.detach) {
      this.followedPids.set(pid, ppid);
      return;
    }
    this.notFollowed++;
    this.lastError = `pid ${pid}: ${bin?.why ?? 'its cluster is not attached'}`;
  }

  /** Forgets backends that are gone. */
  sweep(alive: (pid: number) => boolean): void {
    for (const pid of this.followedPids.keys()) if (!alive(pid)) this.followedPids.delete(pid);
  }

  stop(): void {
    for (const b of this.binaries.values()) b.detach?.();
    this.binaries.clear();
    this.followedPids.clear();
  }

  get followed(): number {
    return this.followedPids.size;
  }

  status(): EncryptedStatus {
    return { tls: this.tls, gssenc: this.gssenc, followed: this.followed, notFollowed: this.notFollowed, lastError: this.lastError };
  }
}
