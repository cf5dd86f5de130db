// Test-side wrapper of embedded-seed-sender.js: realistic traces sent by the
// official OTel JS exporters from a separate Node process.
import { execFile } from 'node:child_process';
import path from 'node:path';

export type Protocol = 'proto' | 'json';

export interface Statement {
  sql: string;
  /** Offset from the start of the request, ms. */
  atMs: number;
  phases: { parse: number; plan: number; execute: number; commit?: number };
  error?: string;
  /** db.response.returned_rows of the PostgreSQL span. */
  rows?: number;
}

export interface RequestTrace {
  method: string;
  route: string;
  path: string;
  durationMs: number;
  /** Start, in ms before now. */
  agoMs: number;
  statements: Statement[];
  status?: number;
  service?: string;
  /** false: only the app's spans, as when no collector traced the statements. */
  pgSpans?: boolean;
}

const SENDER = path.join(__dirname, 'embedded-seed-sender.js');

/** Sends the traces and resolves with their trace ids, in order. */
export function sendTraces(
  otlpUrl: string,
  traces: RequestTrace[],
  protocol: Protocol = 'proto',
  compression?: 'gzip',
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = [SENDER, otlpUrl, protocol, ...(compression ? [compression] : [])];
    const child = execFile(process.execPath, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`embedded-seed-sender failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin!.end(JSON.stringify(traces));
  });
}

export async function sendRequestTrace(otlpUrl: string, t: RequestTrace, protocol: Protocol = 'proto'): Promise<string> {
  return (await sendTraces(otlpUrl, [t], protocol))[0];
}
