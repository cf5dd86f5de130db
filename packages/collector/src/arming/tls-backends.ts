// Backends that negotiated TLS: their sockets carry ciphertext, so their
// statements cannot be read there. Counted for status and said once.
export class TlsBackends {
  private pids = new Set<number>();

  constructor(private readonly log: (m: string) => void) {}

  add(pid: number): void {
    if (this.pids.size === 0) {
      this.log(`PostgreSQL backend pid ${pid} uses TLS: statements on TLS connections are not traced (their socket carries ciphertext); see the README's probe budget section`);
    }
    this.pids.add(pid);
  }

  get count(): number {
    return this.pids.size;
  }

  sweep(alive: (pid: number) => boolean): void {
    for (const pid of this.pids) if (!alive(pid)) this.pids.delete(pid);
  }
}
