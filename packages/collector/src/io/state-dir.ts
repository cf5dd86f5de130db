// The collector's state directory holds the admin socket, the web UI's token
// and (embedded mode) the trace store: SQL text. Only the collector's user may
// enter it, so nothing in it needs to be guarded twice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDir } from './make-dir';

export const DEFAULT_STATE_DIR = path.join(os.homedir(), '.pgferret');
export const ADMIN_SOCKET = 'admin.sock';
export const UI_TOKEN_FILE = 'ui-token';

/**
 * Creates `dir` 0700, or takes an existing one if this user owns it and it is
 * no symlink; a directory others may enter is tightened to 0700 (with a note).
 */
export function prepareStateDir(dir: string, log: (m: string) => void): string {
  const abs = path.resolve(dir);
  try {
    makeDir(abs, 0o700);
  } catch (e) {
    throw new Error(`cannot create the state directory ${abs}: ${(e as Error).message}. Choose a writable directory with --state-dir.`);
  }
  const st = fs.lstatSync(abs);
  if (!st.isDirectory()) {
    throw new Error(`the state directory ${abs} is not a directory (a symlink or a file): remove it or choose another --state-dir`);
  }
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) {
    throw new Error(
      `the state directory ${abs} belongs to uid ${st.uid}, not to this user (uid ${uid}): another user could read the traces ` +
        'or replace the admin socket. Choose a directory of your own with --state-dir.',
    );
  }
  if ((st.mode & 0o077) !== 0) {
    fs.chmodSync(abs, 0o700);
    log(`note: ${abs} was mode ${(st.mode & 0o777).toString(8)}; set it to 700 (it holds SQL text and the UI token)`);
  }
  return abs;
}

/** Writes `text` to a new 0600 file (replacing an old one, never following a symlink). */
export function writePrivateFile(file: string, text: string): void {
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}
