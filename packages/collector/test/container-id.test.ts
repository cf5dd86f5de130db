// container.id from /proc/<pid>/cgroup as the common runtimes write it.
import { containerIdFromCgroup } from '../src/discover/container';

const ID = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);

describe('containerIdFromCgroup', () => {
  it.each([
    ['Docker, systemd driver (cgroup v2)', `0::/system.slice/docker-${ID}.scope`],
    ['Docker, cgroupfs driver (cgroup v1)', `12:pids:/docker/${ID}\n11:memory:/docker/${ID}`],
    ['Kubernetes + containerd, systemd driver', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-${ID}.scope`],
    ['Kubernetes, cgroupfs driver', `0::/kubepods/burstable/pod0d4b1f7e-1a2b-4c3d-9e8f-001122334455/${ID}`],
    ['CRI-O', `0::/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope`],
    ['Podman', `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`],
    ['seen from another cgroup namespace', `0::/../../kubepods.slice/cri-containerd-${ID}.scope`],
  ])('%s', (_name, cgroup) => {
    expect(containerIdFromCgroup(cgroup)).toBe(ID);
  });

  it.each([
    ['a host process', '0::/system.slice/postgresql@15-main.service'],
    ['the root cgroup', '0::/'],
    ['a shorter hex id that is not a container', '4:memory:/process_api/3969f2536e526b9021f4cad9b297aada\n0::/'],
    ['a Kubernetes pod cgroup without a container', '0::/kubepods/burstable/pod0d4b1f7e-1a2b-4c3d-9e8f-001122334455'],
  ])('none for %s', (_name, cgroup) => {
    expect(containerIdFromCgroup(cgroup)).toBeNull();
  });
});
