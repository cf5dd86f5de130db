// The probes that follow an encrypted backend (TLS, GSSAPI encryption): its
// socket carries ciphertext, so it gets pid-filtered probes on PostgreSQL's
// own secure_read/secure_write, where every protocol byte passes in
// plaintext whatever encrypts it (tls.bpf.h). Armed by arming/encrypted.ts.
import type { ElfInfo } from '../discover/elf';
import { Programs } from '../kernel/bpf-names';
import type { Probe } from './tables';

// Attached in this order, one after the other (each takes the kernel from
// ~0.1 to ~200 ms on a busy host): the output side first, so that no input
// is ever followed while the replies to it could go unseen (their
// completions would be given to the wrong statements).
export const TLS_PROBES: Probe[] = [
  { type: 'uprobe', symbols: ['secure_write'], program: Programs.uprobe_tls_write },
  { type: 'uprobe', symbols: ['secure_write'], program: Programs.uretprobe_tls_write, retprobe: true },
  { type: 'uprobe', symbols: ['secure_read'], program: Programs.uprobe_tls_read },
  { type: 'uprobe', symbols: ['secure_read'], program: Programs.uretprobe_tls_read, retprobe: true },
];

/** Why an encrypted backend of this binary cannot be followed, or null. */
export function encryptedUntraceable(elf: ElfInfo): string | null {
  const missing = ['secure_read', 'secure_write'].filter((s) => !elf.functions.has(s));
  return missing.length ? `its executable does not export ${missing.join(' and ')}` : null;
}
