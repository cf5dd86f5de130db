// Encrypted backends (TLS, GSSAPI encryption): the kernel hands each one over
// when it negotiates (or is found speaking TLS when adopted), and it gets the
// secure_read/secure_write probes (probes/encrypted) as a second Arming — a
// ProbeKind of its own beside the phase probes. They stay for the backend's
// life (nothing else says which of its statements are sampled): its exit
// disarms it, idleness never does.
import type { BpfObject } from '@pgferret/bpf-loader';
import type { EncryptedStatus } from '../control/collector-control';
import type { ElfInfo } from '../discover/elf';
import { encryptedUntraceable, TLS_PROBES } from '../probes/encrypted';
import { Arming } from './arming';

export interface EncryptedOptions {
  obj: BpfObject;
  /** the executable of a backend's cluster (by its postmaster's pid); null: the cluster is not attached */
  elfOf: (ppid: number) => ElfInfo | null;
  /** why the kernel refused the tls programs, or null */
  refused: string | null;
  log: (m: string) => void;
}

export class EncryptedBackends {
  private readonly arming: Arming;
  private tls = 0;
  private gssenc = 0;
  /** why encrypted backends were last found untraceable (refused programs, no secure_read/secure_write) */
  private untraceable: string | null = null;
  private said = false;

  constructor(private readonly o: EncryptedOptions) {
    this.arming = new Arming(o.obj, {
      laterName: 'TLS probes',
      idleMs: Infinity,
      target: (pid, ppid) => {
        const elf = o.elfOf(ppid);
        // through the backend's own /proc entry: its postmaster may have been replaced since the binary was read
        return elf ? { binaryPath: `/proc/${pid}/exe`, elf, probes: TLS_PROBES, later: [] } : null;
      },
    });
  }

  /** A backend went encrypted (GSSAPI encryption when `gss`, else TLS). */
  add(pid: number, ppid: number, gss: boolean): void {
    if (gss) this.gssenc++;
    else this.tls++;
    if (this.arming.armedSince(pid) !== null) return;
    const elf = this.o.elfOf(ppid);
    const why = this.o.refused ?? (elf ? encryptedUntraceable(elf) : 'its cluster is not attached');
    if (why) {
      if (this.untraceable === null) this.o.log(`encrypted connections (pid ${pid}) are not traced: ${why}`);
      this.untraceable = why;
      return;
    }
    if (!this.said) this.o.log(`following encrypted connections (TLS, GSSAPI) at secure_read/secure_write, first pid ${pid}: 4 probes per such backend`);
    this.said = true;
    // attached out of the ring-buffer callback, every backend waiting at once
    this.arming.use(pid, ppid);
    this.arming.armSoon();
  }

  /** Detaches the probes of backends that are gone. */
  sweep(alive: (pid: number) => boolean): void {
    this.arming.sweep(alive);
  }

  stop(): void {
    this.arming.stop();
  }

  get followed(): number {
    return this.arming.status().armed;
  }

  status(): EncryptedStatus {
    const a = this.arming.status();
    return {
      tls: this.tls, gssenc: this.gssenc, followed: a.armed, armings: a.armings, meanArmingMs: a.meanArmingMs,
      failures: a.armFailures, lastError: a.lastArmError ?? this.untraceable,
    };
  }
}
