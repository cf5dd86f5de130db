// Names the user return addresses of a backend's CPU samples: the process's
// executable mappings (/proc/<pid>/maps, read once per backend and again
// when an address falls outside them), then the function table of the file
// mapped there (the postgres binary, libc, extensions; read once per file),
// or of its debug symbols when they are installed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEBUG_DIR, functionAt, readFunctionTable, vaddrOf, type FunctionTable } from '../discover/function-table';

interface Mapping {
  start: number;
  end: number;
  offset: number;
  file: string;
}

interface ProcessView {
  mappings: Mapping[];
  /** names already looked up: a statement's samples repeat the same few hundred addresses */
  names: Map<number, string>;
}

const NAMES_KEPT = 65536;

/** Backends whose maps are remembered; the oldest are forgotten first. */
const MAPS_KEPT = 512;

export class Symbolizer {
  private readonly maps = new Map<number, ProcessView>();
  private readonly tables = new Map<string, FunctionTable | null>();

  /** Frame names, innermost first. A frame after the first is a return address: its call is the byte before. */
  symbolize(pid: number, ips: readonly number[]): string[] {
    return ips.map((ip, i) => this.name(pid, i === 0 ? ip : ip - 1));
  }

  /** Forgets the maps of backends that exited. */
  sweep(alive: (pid: number) => boolean): void {
    for (const pid of this.maps.keys()) if (!alive(pid)) this.maps.delete(pid);
  }

  private name(pid: number, ip: number): string {
    const known = this.maps.get(pid)?.names.get(ip);
    if (known !== undefined) return known;
    const name = this.lookUp(pid, ip);
    const names = this.maps.get(pid)?.names;
    if (names && names.size < NAMES_KEPT) names.set(ip, name);
    return name;
  }

  private lookUp(pid: number, ip: number): string {
    let m = this.mappingOf(pid, ip, false);
    if (!m) m = this.mappingOf(pid, ip, true);
    if (!m) return '[unknown]';
    const base = path.basename(m.file);
    if (m.file.startsWith('[')) return m.file;
    const t = this.tableOf(pid, m.file);
    const vaddr = t ? vaddrOf(t, ip - m.start + m.offset) : null;
    return (t && vaddr !== null ? functionAt(t, vaddr) : null) ?? `[${base}]`;
  }

  private mappingOf(pid: number, ip: number, reread: boolean): Mapping | null {
    let view = this.maps.get(pid);
    if (!view || reread) {
      // a new mapping (an extension loaded since): names looked up so far stay right
      view = { mappings: readMaps(pid), names: view?.names ?? new Map() };
      if (this.maps.size >= MAPS_KEPT) this.maps.delete(this.maps.keys().next().value!);
      this.maps.set(pid, view);
    }
    return view.mappings.find((m) => ip >= m.start && ip < m.end) ?? null;
  }

  private tableOf(pid: number, file: string): FunctionTable | null {
    if (this.tables.has(file)) return this.tables.get(file)!;
    let t: FunctionTable | null = null;
    // through the backend's root: the file as it sees it (a container's), and its debug symbols there or here
    const debugDirs = [`/proc/${pid}/root${DEBUG_DIR}`, DEBUG_DIR];
    for (const p of [`/proc/${pid}/root${file}`, file]) {
      try {
        t = readFunctionTable(p, debugDirs);
        break;
      } catch {
        /* not readable here: the next */
      }
    }
    this.tables.set(file, t);
    return t;
  }
}

function readMaps(pid: number): Mapping[] {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // 55d0c0a00000-55d0c0e00000 r-xp 00200000 fd:01 1234  /usr/lib/postgresql/15/bin/postgres
    const m = /^([0-9a-f]+)-([0-9a-f]+) (....) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[3][2] !== 'x' || m[5] === '') continue;
    out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), offset: parseInt(m[4], 16), file: m[5].replace(/ \(deleted\)$/, '') });
  }
  return out;
}
