// The probes that follow encrypted backends (TLS, GSSAPI encryption): their
// socket carries ciphertext, so the plaintext is read at PostgreSQL's own
// be_tls_read/be_tls_write and be_gssapi_read/be_gssapi_write (tls.bpf.h).
// Only encrypted connections ever call them: attached once per cluster
// binary, without a pid filter, by arming/encrypted.ts.
import type { ElfInfo } from '../discover/elf';
import { Programs } from '../kernel/bpf-names';
import type { Probe } from './tables';

const pair = (read: string, write: string): Probe[] => [
  // the output side first: no input is followed while the replies to it could go unseen
  { type: 'uprobe', symbols: [write], program: Programs.uprobe_tls_write },
  { type: 'uprobe', symbols: [write], program: Programs.uretprobe_tls_write, retprobe: true },
  { type: 'uprobe', symbols: [read], program: Programs.uprobe_tls_read },
  { type: 'uprobe', symbols: [read], program: Programs.uretprobe_tls_read, retprobe: true },
];

const TLS = ['be_tls_read', 'be_tls_write'] as const;
const GSS = ['be_gssapi_read', 'be_gssapi_write'] as const;

/**
 * The probes for this binary: TLS's, and GSSAPI's when it was built with
 * GSSAPI (a build without it never negotiates GSSAPI encryption).
 */
export function encryptedProbes(elf: ElfInfo): Probe[] {
  const has = (names: readonly string[]) => names.every((n) => elf.functions.has(n));
  return [...(has(TLS) ? pair(...TLS) : []), ...(has(GSS) ? pair(...GSS) : [])];
}

/** Why TLS backends of this binary cannot be followed, or null. */
export function encryptedUntraceable(elf: ElfInfo): string | null {
  const missing = TLS.filter((s) => !elf.functions.has(s));
  return missing.length ? `its executable does not export ${missing.join(' and ')}` : null;
}
