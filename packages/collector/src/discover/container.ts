// The container a process runs in, from its cgroup path as the host (or the
// collector's cgroup namespace) sees it: Docker, containerd / Kubernetes
// (systemd and cgroupfs drivers), CRI-O and Podman all name the cgroup after
// the 64-hex-digit container id. A process in no such cgroup has none.
import * as fs from 'node:fs';

const PATTERNS = [
  /(?:docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope$/, // systemd driver
  /\/(?:docker|libpod|crio|containerd)\/([0-9a-f]{64})$/, // cgroupfs driver, plain runtimes
  /\/kubepods[^\n]*\/([0-9a-f]{64})$/, // Kubernetes, cgroupfs driver
];

/** The container id in the text of /proc/<pid>/cgroup, or null. */
export function containerIdFromCgroup(cgroup: string): string | null {
  for (const line of cgroup.split('\n')) {
    const p = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim();
    for (const re of PATTERNS) {
      const m = re.exec(p);
      if (m) return m[1];
    }
  }
  return null;
}

export function containerIdOf(pid: number): string | null {
  try {
    return containerIdFromCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'latin1'));
  } catch {
    return null; // the process is gone: its cluster is dropped at the next scan
  }
}
