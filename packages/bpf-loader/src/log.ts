// libbpf's own messages. The addon captures them per operation; we forward
// them to a handler (default: nothing, or stderr with PGFERRET_BPF_DEBUG=1)
// and keep the warnings of a failed operation on the thrown BpfError.
import type { NativeLogEntry } from './native';

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';
export type LibbpfLogHandler = (level: LibbpfLogLevel, message: string) => void;

const LEVELS: LibbpfLogLevel[] = ['warn', 'info', 'debug'];

let handler: LibbpfLogHandler | null = process.env.PGFERRET_BPF_DEBUG
  ? (level, message) => process.stderr.write(`libbpf ${level}: ${message.endsWith('\n') ? message : message + '\n'}`)
  : null;

/** Route libbpf's messages (all levels) to `h`; `null` silences them (the default). */
export function setLibbpfLogHandler(h: LibbpfLogHandler | null): void {
  handler = h;
}

export function forwardLog(entries: NativeLogEntry[]): void {
  if (!handler) return;
  for (const e of entries) handler(LEVELS[e.level] ?? 'debug', e.message);
}

/** Warnings and info lines joined, for an error's `libbpfLog`. */
export function importantLines(entries: NativeLogEntry[]): string {
  return entries.filter((e) => e.level <= 1).map((e) => e.message).join('');
}
