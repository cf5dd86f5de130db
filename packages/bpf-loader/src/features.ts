// Asks the running kernel whether it has a program type, map type or helper
// (libbpf loads a tiny probe of each): the answer a version number cannot
// give on distribution kernels that backport BPF features.
import { native } from './native';

// Numbers from the kernel's UAPI (include/uapi/linux/bpf.h): stable ABI.
export const PROGRAM_TYPES = { kprobe: 2, tracepoint: 5, raw_tracepoint: 17, tracing: 26 } as const;
export const MAP_TYPES = { hash: 1, array: 2, percpu_array: 6, ringbuf: 27 } as const;
export const HELPERS = {
  probe_read_user: 112,
  probe_read_user_str: 114,
  ringbuf_output: 130,
  loop: 181,
} as const;

/** true supported, false not, or the errno when the kernel could not be asked (e.g. EPERM). */
export type Support = boolean | { errno: number };

function answer(r: number): Support {
  return r === 1 ? true : r === 0 ? false : { errno: -r };
}

export function hasProgramType(type: number): Support {
  return answer(native().probeProgramType(type));
}

export function hasMapType(type: number): Support {
  return answer(native().probeMapType(type));
}

export function hasHelper(programType: number, helper: number): Support {
  return answer(native().probeHelper(programType, helper));
}

/** Whether the kernel makes uprobe_multi links (Linux >= 6.6): see BpfObject.setUprobeMulti. */
export function hasUprobeMulti(): Support {
  return answer(native().probeUprobeMulti());
}
