// Keys of the BPF maps as the kernel reads them: little-endian u32.
/** A u32 map key (pids, counter indexes). */
export function u32Key(n: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(n);
  return key;
}
