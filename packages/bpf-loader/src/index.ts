export { BpfObject, type ProgramInfo, type UprobeOptions, type UprobeMultiOptions, type UsdtOptions, type TracepointOptions, type PerfEventOptions } from './object';
export type { BpfLink, PerfEventLink } from './link';
export { BpfMap } from './map';
export { forEachRecord, RECORD_HEADER_BYTES, type RingBufferReader, type RingBufferStats, type BatchHandler } from './ringbuf';
export { BpfError } from './errors';
export { buildBpfObject, vmlinuxHeaderDir, type BuildOptions } from './build';
export { setLibbpfLogHandler, type LibbpfLogHandler, type LibbpfLogLevel } from './log';
export { missingBpfCapabilities, effectiveCapabilities, dropCapabilities, uprobeNeedsSysAdmin, CAPABILITIES, type CapabilityName, type DroppedCapabilities } from './capabilities';

import { native } from './native';

/** Number of possible CPUs (the length of per-CPU map values). */
export function possibleCpus(): number {
  return native().possibleCpus();
}
export { hasProgramType, hasMapType, hasHelper, hasUprobeMulti, PROGRAM_TYPES, MAP_TYPES, HELPERS, type Support } from './features';
