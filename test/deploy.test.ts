// The deployment files, checked offline: the Kubernetes manifest (DaemonSet
// fields, capabilities, ConfigMap wiring, the collector's real command line
// accepting its args and serving /metrics with them), the OpenTelemetry
// Collector config (every pipeline component defined, the port the ConfigMap
// points at), and the Dockerfile (sources exist, the runtime image has the
// shared libraries the built addon links, the entrypoint is what the build makes).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { buildProgram } from '../packages/collector/src/cli';
import { startCollector, startReceiver } from './helpers/collector';
import { freePort } from './helpers/postgres';

const ROOT = path.resolve(__dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');
const manifests = parseAllDocuments(read('deploy/kubernetes/pgferret-collector.yaml')).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS();
});
const find = (kind: string) => manifests.find((m) => m.kind === kind);
const ds = find('DaemonSet');
const container = ds.spec.template.spec.containers[0];

describe('Kubernetes DaemonSet', () => {
  it('runs in the host PID namespace with the eBPF capabilities, not privileged', () => {
    const pod = ds.spec.template.spec;
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork).toBeUndefined();
    const sc = container.securityContext;
    expect(sc.privileged).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect([...sc.capabilities.add].sort()).toEqual(['BPF', 'DAC_READ_SEARCH', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE']);
    expect(sc.capabilities.add).not.toContain('SYS_ADMIN');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('mounts the kernel BTF read-only from the host', () => {
    const vol = ds.spec.template.spec.volumes.find((v: any) => v.hostPath?.path === '/sys/kernel/btf');
    expect(vol).toBeDefined();
    expect(container.volumeMounts).toContainEqual({ name: vol.name, mountPath: '/sys/kernel/btf', readOnly: true });
  });

  it("mounts the node's tracefs read-only, where the syscall tracepoints are found (a kernel without fexit programs)", () => {
    const vol = ds.spec.template.spec.volumes.find((v: any) => v.hostPath?.path === '/sys/kernel/tracing');
    expect(vol).toBeDefined();
    expect(container.volumeMounts).toContainEqual({ name: vol.name, mountPath: '/sys/kernel/tracing', readOnly: true });
  });

  it('takes the OTLP endpoint from its ConfigMap, which points at the OpenTelemetry Collector\'s OTLP/HTTP port', () => {
    const ref = container.envFrom.find((e: any) => e.configMapRef).configMapRef.name;
    const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === ref);
    expect(cm.metadata.namespace).toBe(ds.metadata.namespace);
    const endpoint = new URL(cm.data.OTEL_EXPORTER_OTLP_ENDPOINT);
    const otel = parse(read('deploy/otel-collector/config.yaml'));
    expect(otel.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${endpoint.port}`);
    expect(['http/protobuf', 'http/json']).toContain(cm.data.OTEL_EXPORTER_OTLP_PROTOCOL);
    expect(manifests.find((m) => m.kind === 'ServiceAccount').metadata.name).toBe(ds.spec.template.spec.serviceAccountName);
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
  });

  it('uses one metrics port for the flag, the container port, the probes and the scrape annotation', () => {
    const flag = container.args.find((a: string) => a.startsWith('--metrics-port=')).split('=')[1];
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: Number(flag) });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/metrics', port: Number(flag) });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/metrics', port: Number(flag) });
    expect(ds.spec.template.metadata.annotations['prometheus.io/port']).toBe(flag);
  });

  it('passes only options the collector\'s run command has', () => {
    const run = buildProgram().commands.find((c) => c.name() === 'run')!;
    const known = new Set(run.options.map((o) => o.long));
    const [cmd, ...flags] = container.args as string[];
    expect(cmd).toBe('run');
    expect(flags.map((f) => f.split('=')[0]).filter((f) => !known.has(f))).toEqual([]);
  });

  it('the collector starts with the manifest\'s args and env and serves /metrics', async () => {
    const receiver = await startReceiver();
    const port = await freePort();
    const args = (container.args as string[]).slice(1).map((a) => (a.startsWith('--metrics-port=') ? `--metrics-port=${port}` : a));
    // a port no cluster listens on: this test must not attach to other tests' clusters
    const collector = await startCollector([...args, '--port', String(await freePort())], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_RESOURCE_ATTRIBUTES: 'k8s.node.name=test-node',
    });
    try {
      await collector.waitFor(new RegExp(`Prometheus metrics http://0\\.0\\.0\\.0:${port}/metrics`));
      expect(collector.output()).toMatch(/listens on 0\.0\.0\.0, not only on loopback/);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^pgferret_clusters_attached 0$/m);
    } finally {
      await collector.stop();
      await receiver.close();
    }
  });
});

describe('OpenTelemetry Collector config', () => {
  it('defines every component its pipelines use and forwards traces over OTLP', () => {
    const otel = parse(read('deploy/otel-collector/config.yaml'));
    for (const [name, p] of Object.entries<any>(otel.service.pipelines)) {
      for (const r of p.receivers) expect([name, r, otel.receivers[r]]).toEqual([name, r, expect.anything()]);
      for (const r of p.processors ?? []) expect([name, r, otel.processors[r]]).toEqual([name, r, expect.anything()]);
      for (const e of p.exporters) expect([name, e, otel.exporters[e]]).toEqual([name, e, expect.anything()]);
    }
    expect(otel.service.pipelines.traces.exporters.some((e: string) => e.startsWith('otlp'))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const lines = read('deploy/Dockerfile').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.reduce<string[][]>((acc, l) => (l.startsWith('FROM ') ? [...acc, [l]] : (acc[acc.length - 1].push(l), acc)), []);
  const runtime = stages[stages.length - 1];

  it('copies only files that exist in the repository', () => {
    const sources = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) expect([s, fs.existsSync(path.join(ROOT, s))]).toEqual([s, true]);
  });

  it('builds with the BPF toolchain setup.sh installs', () => {
    const setup = read('scripts/setup.sh');
    const build = stages[0].join(' ');
    for (const p of ['clang', 'llvm', 'libbpf-dev', 'bpftool']) {
      expect(build).toContain(p);
      expect(setup).toContain(p);
    }
  });

  it('the runtime image installs the Debian packages of every shared library the built addon links', () => {
    const addon = path.join(ROOT, 'packages', 'bpf-loader', 'build', 'Release', 'bpf_loader.node');
    const libs = [...execFileSync('ldd', [addon], { encoding: 'utf8' }).matchAll(/=> (\S+)/g)].map((m) => m[1]);
    // dpkg knows a library by one of its paths (merged /usr: /lib and /usr/lib are the same directory)
    const owner = (lib: string) => {
      for (const p of [lib, lib.replace(/^\/usr/, ''), `/usr${lib}`]) {
        try {
          return execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
        } catch {
          // not under this path: try the next
        }
      }
      throw new Error(`no Debian package owns ${lib}`);
    };
    const packages = new Set(libs.map(owner));
    packages.delete('libc6'); // in every image
    const installed = runtime.join(' ');
    expect([...packages].filter((p) => !new RegExp(`\\b${p}\\b`).test(installed))).toEqual([]);
  });

  it('copies what the build stage makes into the paths the entrypoint and the loader use', () => {
    const entry = JSON.parse(runtime.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length));
    expect(entry[0]).toBe('node');
    const inImage = (p: string) => p.replace('/opt/pgferret/', '');
    expect(fs.existsSync(path.join(ROOT, inImage(entry[1])))).toBe(true);
    const copied = runtime.filter((l) => l.startsWith('COPY --from=build')).map((l) => l.split(/\s+/)[2].replace('/src/', ''));
    for (const needed of ['packages/collector/dist', 'packages/collector/build/pgferret.bpf.o', 'packages/bpf-loader/build/Release/bpf_loader.node', 'packages/bpf-loader/dist']) {
      expect(copied).toContain(needed);
      expect(fs.existsSync(path.join(ROOT, needed))).toBe(true);
    }
  });
});
