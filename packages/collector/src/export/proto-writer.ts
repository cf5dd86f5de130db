// A protobuf writer over one reused, growing buffer. Length-delimited fields
// reserve one byte for their length and move their body when it needs more
// (once per span, or per batch for the outer messages), so a request is
// written in one pass without a size-estimation pass first.
import type { HrTime } from '@opentelemetry/api';

const HEX_VALUE = new Uint8Array(256);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[97 + i] = 10 + i;
  HEX_VALUE[65 + i] = 10 + i;
}

const TWO_32 = 0x100000000;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written: the buffer itself is reused by the next request. */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.grow(bytes);
  }

  private grow(bytes: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A tag or any other value below 128. */
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** An unsigned 32-bit varint. */
  uint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** An int64 varint from an integer-valued number (negative ones take ten bytes). */
  int64(v: number): void {
    if (v >= 0 && v < TWO_32) {
      this.uint32(v);
      return;
    }
    const abs = Math.abs(v);
    let lo = abs >>> 0;
    let hi = Math.floor(abs / TWO_32) >>> 0;
    if (v < 0) {
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    while (hi > 0 || lo > 0x7f) {
      buf[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[p++] = lo;
    this.pos = p;
  }

  fixed32(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v;
    buf[p + 1] = v >>> 8;
    buf[p + 2] = v >>> 16;
    buf[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** [seconds, nanoseconds] as fixed64 nanoseconds, exact (no BigInt, no double beyond 2^53). */
  hrTime(t: HrTime): void {
    const sec = t[0];
    const low = (sec % 0x10000) * 1e9 + t[1]; // < 2^47
    const high = Math.floor(sec / 0x10000) * 1e9; // < 2^46, weighs 2^16
    const sumLow = (low % TWO_32) + (high % 0x10000) * 0x10000;
    const lo = sumLow % TWO_32;
    const hi = Math.floor(low / TWO_32) + Math.floor(high / 0x10000) + Math.floor(sumLow / TWO_32);
    this.ensure(8);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = lo;
    buf[p + 1] = lo >>> 8;
    buf[p + 2] = lo >>> 16;
    buf[p + 3] = lo >>> 24;
    buf[p + 4] = hi;
    buf[p + 5] = hi >>> 8;
    buf[p + 6] = hi >>> 16;
    buf[p + 7] = hi >>> 24;
    this.pos = p + 8;
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    const n = s.length;
    if (n < 43) {
      // at most 3 bytes per UTF-16 unit: the length fits one byte
      this.ensure(1 + 3 * n);
      const buf = this.buf;
      const at = this.pos + 1;
      let p = at;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = at + buf.write(s, at, 'utf8');
          break;
        }
        buf[p++] = c;
      }
      buf[this.pos] = p - at;
      this.pos = p;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.uint32(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** A one-byte tag and a length-prefixed id of `bytes` bytes from its hex form. */
  hexId(tag: number, hex: string, bytes: number): void {
    if (hex.length !== bytes * 2) throw new Error(`OTLP encoder: id '${hex}' is not ${bytes * 2} hex digits`);
    this.ensure(2 + bytes);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = tag;
    buf[p++] = bytes;
    for (let i = 0; i < hex.length; i += 2) {
      buf[p++] = (HEX_VALUE[hex.charCodeAt(i) & 0xff] << 4) | HEX_VALUE[hex.charCodeAt(i + 1) & 0xff];
    }
    this.pos = p;
  }

  /** A length-prefixed byte string. */
  bytes(b: Uint8Array): void {
    this.uint32(b.length);
    this.raw(b);
  }

  /** Pre-encoded bytes, as they are. */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    if (n < 48) {
      // a call into native code costs more than copying a short key by hand
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = b[i];
      this.pos = p;
    } else {
      buf.set(b, this.pos);
      this.pos += n;
    }
  }

  /** Starts a length-delimited body; pass the result to end(). */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const size = len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
    this.ensure(size - 1);
    const buf = this.buf;
    buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = len;
    let p = at;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }

  /** An int64 attribute value: the range the official serializer writes as int_value. */
  static isInt64(v: number): boolean {
    return Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64;
  }
}
