// /proc files read again and again through a descriptor kept open: what the
// overhead budget reads several times a second.
import * as fs from 'node:fs';

/** one buffer for every read of a /proc file (a stat or schedstat line: a few hundred bytes; grown for a long list of children) */
let buf = Buffer.allocUnsafe(4096);

/** How many of a reader's files are open, within its limit (beyond it: opened and closed at each read). */
export class OpenFiles {
  private n = 0;
  constructor(private readonly max: number) {}
  /** whether one more may stay open: counted if so */
  claim(): boolean {
    if (this.n >= this.max) return false;
    this.n++;
    return true;
  }
  free(): void {
    this.n--;
  }
}

/**
 * A /proc file (of one process, or a sysctl), read again and again. Its
 * descriptor stays open and each read is a pread at offset 0 (a seq_file
 * makes its text anew), which spares the path walk, open and close: ~14 µs
 * a file against ~35 on a loaded 2-vCPU VM, and the budget reads one per
 * busy backend five times a second. The descriptor belongs to the process it was opened for:
 * once that process is gone it reads as gone even if its pid is reused,
 * and the file is opened once more (`reopened` then says so).
 */
export class ProcFile {
  private fd: number | null = null;
  /** the last read opened the file again after the open descriptor's process was gone: another process with the same pid */
  reopened = false;

  constructor(
    private readonly path: string,
    private readonly open: OpenFiles = new OpenFiles(1),
    /** a one-line file, made in one piece: one read */
    private readonly oneLine = true,
  ) {}

  /** Its text, or null when the process is gone. */
  read(): string | null {
    this.reopened = false;
    if (this.fd !== null) {
      const s = this.readFd(this.fd);
      if (s !== null) return s;
      this.close();
      this.reopened = true;
    }
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch {
      this.reopened = false;
      return null;
    }
    const s = this.readFd(fd);
    if (s !== null && this.open.claim()) this.fd = fd;
    else fs.closeSync(fd);
    if (s === null) this.reopened = false;
    return s;
  }

  private readFd(fd: number): string | null {
    try {
      let n = fs.readSync(fd, buf, 0, buf.length, 0);
      if (this.oneLine) return buf.toString('latin1', 0, n);
      // a seq_file of many records stops short of a full buffer: read on to the end
      let len = 0;
      while (n > 0) {
        len += n;
        if (len === buf.length) {
          const bigger = Buffer.allocUnsafe(2 * buf.length);
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
        }
        n = fs.readSync(fd, buf, len, buf.length - len, len);
      }
      return buf.toString('latin1', 0, len);
    } catch {
      return null;
    }
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
    this.open.free();
  }
}
