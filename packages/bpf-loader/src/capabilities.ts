// Effective capabilities of this process, read from /proc/self/status, to
// turn a bare EPERM into "you are missing CAP_BPF / CAP_PERFMON".
import * as fs from 'node:fs';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export function effectiveCapabilities(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

/** Capabilities that loading and attaching BPF programs needs and this process lacks. */
export function missingBpfCapabilities(caps = effectiveCapabilities()): string[] {
  const has = (bit: bigint) => (caps & (1n << bit)) !== 0n;
  // CAP_SYS_ADMIN still implies both on every kernel that has them.
  if (has(CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(CAP_BPF)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON)) missing.push('CAP_PERFMON');
  return missing;
}
