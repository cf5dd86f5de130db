// The oldest kernel the collector runs on, checked at start by asking the
// kernel for what the BPF side uses (not by its version number: distribution
// kernels backport BPF features, RHEL 9's "5.14" among them).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { HELPERS, MAP_TYPES, PROGRAM_TYPES, hasHelper, hasMapType, hasProgramType, type Support } from '@pgferret/bpf-loader';

export const MIN_KERNEL = '5.17';
export const BTF_PATH = '/sys/kernel/btf/vmlinux';

interface Need {
  what: string;
  /** the mainline release that brought it */
  since: string;
  check: () => Support;
}

// In the order a kernel gains them: the first one missing is the one to name.
const NEEDS: Need[] = [
  { what: 'raw tracepoint programs', since: '4.17', check: () => hasProgramType(PROGRAM_TYPES.raw_tracepoint) },
  { what: 'the bpf_probe_read_user helper', since: '5.5', check: () => hasHelper(PROGRAM_TYPES.raw_tracepoint, HELPERS.probe_read_user) },
  { what: 'BPF ring buffers', since: '5.8', check: () => hasMapType(MAP_TYPES.ringbuf) },
  { what: 'the bpf_loop helper', since: '5.17', check: () => hasHelper(PROGRAM_TYPES.raw_tracepoint, HELPERS.loop) },
];

export class KernelUnsupportedError extends Error {
  readonly code = 'KERNEL_UNSUPPORTED';
}

/** One line naming what is missing, the running kernel and the minimum; null when everything is there. */
export function missingKernelFeature(btfPath = BTF_PATH): string | null {
  const running = `Linux ${os.release()}`;
  const minimum = `pgferret-collector needs Linux ${MIN_KERNEL} or later with BTF (CONFIG_DEBUG_INFO_BTF=y)`;
  if (!fs.existsSync(btfPath)) return `this kernel (${running}) has no BTF type information (${btfPath} is missing); ${minimum}`;
  for (const n of NEEDS) {
    const r = n.check();
    if (r === true) continue;
    if (r === false) return `this kernel (${running}) lacks ${n.what} (Linux ${n.since}+); ${minimum}`;
    return `could not ask this kernel (${running}) whether it has ${n.what}: ${os.constants.errno.EPERM === r.errno ? 'permission denied' : `errno ${r.errno}`}`;
  }
  return null;
}

export function checkKernel(btfPath = BTF_PATH): void {
  const missing = missingKernelFeature(btfPath);
  if (missing) throw new KernelUnsupportedError(missing);
}
