// What a backend's replies say about a statement, read from the bytes the
// kernel copied out of its send buffer (PostgreSQL protocol v3).

/** Rows from a CommandComplete tag: "SELECT 5", "INSERT 0 5", "UPDATE 3", "COPY 7"; null for tags without a count. */
export function rowsOfTag(body: Buffer): number | null {
  let end = body.indexOf(0);
  if (end < 0) end = body.length;
  let i = end;
  while (i > 0 && body[i - 1] >= 0x30 && body[i - 1] <= 0x39) i--;
  if (i === end || i === 0 || body[i - 1] !== 0x20) return null;
  return Number(body.toString('latin1', i, end));
}

export interface ErrorFields {
  /** non-localized severity (V), or the localized one (S) before PostgreSQL 9.6 */
  severity: string;
  sqlstate: string;
  message: string;
}

/** Fields of an ErrorResponse body: (code byte, NUL-terminated text)*, then a NUL. Possibly cut short by the kernel's copy limit. */
export function errorFields(body: Buffer): ErrorFields {
  const f: ErrorFields = { severity: '', sqlstate: '', message: '' };
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = body[i];
    let end = body.indexOf(0, i + 1);
    const cut = end < 0;
    if (cut) end = body.length;
    const text = body.toString('utf8', i + 1, end);
    if (code === 0x56 /* V */ || (code === 0x53 /* S */ && !f.severity)) f.severity = text;
    else if (code === 0x43 /* C */ && !cut) f.sqlstate = text;
    else if (code === 0x4d /* M */) f.message = cut ? `${text}…` : text;
    i = end + 1;
  }
  return f;
}
