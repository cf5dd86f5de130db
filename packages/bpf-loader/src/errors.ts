/**
 * Every failure of this package is a BpfError. `code` is stable and meant for
 * programs; `message` says what happened and what to do about it.
 *
 * Codes: NATIVE_NOT_BUILT, NATIVE_LOAD_FAILED, OBJECT_NOT_FOUND, INVALID_OBJECT,
 * NO_BTF, EPERM_CAPABILITY, EPERM, VERIFIER, LOAD_FAILED, NOT_LOADED,
 * ALREADY_LOADED, CLOSED, PROGRAM_NOT_FOUND, MAP_NOT_FOUND, CONSTANT_NOT_FOUND,
 * BINARY_NOT_FOUND, SYMBOL_NOT_FOUND, USDT_NOT_FOUND, NO_UPROBES, NO_TRACEFS,
 * TRACEPOINT_NOT_FOUND, PROCESS_NOT_FOUND, ATTACH_FAILED, MAP_FULL, KEY_EXISTS,
 * KEY_NOT_FOUND, MAP_OP_FAILED, TEST_RUN_FAILED, BAD_ARGUMENT, SOURCE_NOT_FOUND,
 * CLANG_NOT_FOUND, COMPILE_FAILED, BPFTOOL_NOT_FOUND, VMLINUX_FAILED.
 */
export class BpfError extends Error {
  code: string;
  /** The kernel verifier's full output when `code` is VERIFIER. */
  verifierLog?: string;
  /** errno of the failing system call, when there was one. */
  errno?: number;
  /** libbpf's warnings during the failing operation. */
  libbpfLog?: string;
  /** The program the kernel refused, when `code` is VERIFIER, LOAD_FAILED or EPERM (at load) and libbpf named it. */
  program?: string;

  constructor(code: string, message: string, extra?: { verifierLog?: string; errno?: number; libbpfLog?: string; program?: string; cause?: unknown }) {
    super(message, extra?.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'BpfError';
    this.code = code;
    if (extra?.verifierLog !== undefined) this.verifierLog = extra.verifierLog;
    if (extra?.errno !== undefined) this.errno = extra.errno;
    if (extra?.libbpfLog) this.libbpfLog = extra.libbpfLog;
    if (extra?.program) this.program = extra.program;
  }
}
