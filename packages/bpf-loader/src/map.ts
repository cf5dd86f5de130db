import { BpfError } from './errors';
import { nativeCall } from './explain';
import { native, type NativeMapInfo, type ObjectHandle } from './native';

const FLAGS = { any: 0, noexist: 1, exist: 2 } as const;

export class BpfMap {
  readonly name: string;
  /** enum bpf_map_type (1 hash, 2 array, 6 percpu array, 27 ringbuf, …) */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** one value slot per possible CPU (the addon tells, from libbpf's map types) */
  readonly perCpu: boolean;
  readonly ringBuffer: boolean;
  private readonly fd: number;

  constructor(private readonly handle: ObjectHandle, name: string, info: NativeMapInfo) {
    this.name = name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.perCpu = info.perCpu;
    this.ringBuffer = info.ringBuffer;
    this.fd = info.fd;
  }

  lookup(key: Buffer): Buffer | undefined {
    if (this.perCpu) throw new BpfError('BAD_ARGUMENT', `map '${this.name}' is per-CPU: use lookupPerCpu()`);
    this.checkKey(key);
    return nativeCall({ op: 'map', what: `lookup in map '${this.name}'` }, () => native().mapLookup(this.handle, this.fd, key, this.valueSize));
  }

  /** One value per possible CPU (index = CPU number); views into one buffer. */
  lookupPerCpu(key: Buffer): Buffer[] {
    if (!this.perCpu) throw new BpfError('BAD_ARGUMENT', `map '${this.name}' is not per-CPU: use lookup()`);
    this.checkKey(key);
    const stride = (this.valueSize + 7) & ~7;
    const cpus = native().possibleCpus();
    const all = nativeCall({ op: 'map', what: `lookup in map '${this.name}'` }, () => native().mapLookup(this.handle, this.fd, key, stride * cpus));
    if (!all) return [];
    const out: Buffer[] = [];
    for (let i = 0; i < cpus; i++) out.push(all.subarray(i * stride, i * stride + this.valueSize));
    return out;
  }

  /** For per-CPU maps `value` holds every CPU's value, each padded to 8 bytes. */
  update(key: Buffer, value: Buffer, flags: 'any' | 'noexist' | 'exist' = 'any'): void {
    this.checkKey(key);
    const expected = this.perCpu ? ((this.valueSize + 7) & ~7) * native().possibleCpus() : this.valueSize;
    if (value.length !== expected)
      throw new BpfError('BAD_ARGUMENT', `value for map '${this.name}' must be ${expected} bytes, got ${value.length}`);
    if (!(flags in FLAGS)) throw new BpfError('BAD_ARGUMENT', `flags must be 'any', 'noexist' or 'exist', got '${flags}'`);
    nativeCall({ op: 'map', what: `update of map '${this.name}'` }, () => native().mapUpdate(this.handle, this.fd, key, value, FLAGS[flags]));
  }

  /** Whether the key existed. */
  delete(key: Buffer): boolean {
    this.checkKey(key);
    return nativeCall({ op: 'map', what: `delete in map '${this.name}'` }, () => native().mapDelete(this.handle, this.fd, key));
  }

  *keys(): IterableIterator<Buffer> {
    let prev: Buffer | null = null;
    for (;;) {
      const p: Buffer | null = prev;
      const next: Buffer | undefined = nativeCall({ op: 'map', what: `iteration of map '${this.name}'` }, () => native().mapNextKey(this.handle, this.fd, p, this.keySize));
      if (!next) return;
      yield next;
      prev = next;
    }
  }

  private checkKey(key: Buffer): void {
    if (!Buffer.isBuffer(key) || key.length !== this.keySize)
      throw new BpfError('BAD_ARGUMENT', `key for map '${this.name}' must be a ${this.keySize}-byte Buffer, got ${Buffer.isBuffer(key) ? key.length + ' bytes' : typeof key}`);
  }
}
