/**
 * The container and Kubernetes files against the code: every environment variable they set is
 * one src/config.ts reads, the probe paths are routes the server mounts (without auth), the ports
 * agree, and the image's entrypoint runs `sextant serve`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { ApiDeps } from '../../../src/api/env.ts';
import { serviceRoutes } from '../../../src/api/routes/service.ts';
import { configSchema, envNameOf, loadConfig, type Config } from '../../../src/config.ts';

const root = join(import.meta.dirname, '../../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const configEnv = new Set((Object.keys(configSchema.shape) as (keyof Config)[]).map(envNameOf));

interface Container {
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  startupProbe?: { httpGet: { path: string; port: string | number } };
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
}

function statefulSetContainer(): Container {
  const set = parse(read('deploy/kubernetes/statefulset.yaml'));
  expect(set.kind).toBe('StatefulSet');
  expect(set.spec.replicas).toBe(1); // a single writer over the data directory
  expect(set.spec.volumeClaimTemplates).toHaveLength(1);
  return set.spec.template.spec.containers[0];
}

/** Dockerfile instructions (continuation lines joined), as [instruction, rest]. */
function dockerfile(): [string, string][] {
  const text = read('Dockerfile').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const at = l.indexOf(' ');
      return [l.slice(0, at).toUpperCase(), l.slice(at + 1).trim()] as [string, string];
    });
}

describe('deployment files', () => {
  it('set only environment variables that src/config.ts reads', () => {
    const container = statefulSetContainer();
    const k8sEnv = container.env!.map((e) => e.name);
    const dockerEnv = dockerfile()
      .filter(([i]) => i === 'ENV')
      .flatMap(([, rest]) => [...rest.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!));
    const envFile = read('deploy/container/sextant.env.example')
      .split('\n')
      .map((l) => /^#?\s*([A-Z_][A-Z0-9_]*)=/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    expect(k8sEnv.length).toBeGreaterThan(0);
    expect(dockerEnv.length).toBeGreaterThan(0);
    expect(envFile.length).toBeGreaterThan(0);
    for (const name of [...k8sEnv, ...dockerEnv.filter((n) => n !== 'NODE_ENV'), ...envFile]) expect(configEnv, name).toContain(name);
  });

  it('probe the routes the server mounts without auth, on the port it listens on', () => {
    const routes = serviceRoutes({} as ApiDeps, () => ({}));
    const unauthenticated = new Set(routes.filter((r) => r.method === 'get' && r.role === 'none').map((r) => r.path));
    const container = statefulSetContainer();
    expect(container.livenessProbe!.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe!.httpGet.path).toBe('/readyz');
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(unauthenticated).toContain(probe!.httpGet.path);
      expect(probe!.httpGet.port).toBe('http');
    }
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    const port = container.ports!.find((p) => p.name === 'http')!.containerPort;
    expect(Number(env.SEXTANT_PORT)).toBe(port);
    expect(loadConfig({}, { SEXTANT_PORT: env.SEXTANT_PORT }).port).toBe(port);
    expect(env.SEXTANT_HOST).toBe('0.0.0.0');

    const service = parse(read('deploy/kubernetes/service.yaml'));
    expect(service.spec.ports[0].targetPort).toBe('http');
    const annotations = parse(read('deploy/kubernetes/statefulset.yaml')).spec.template.metadata.annotations;
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
    expect(routes.some((r) => r.path === '/metrics')).toBe(true);

    const docker = dockerfile();
    const dockerPort = docker.find(([i]) => i === 'EXPOSE')![1];
    expect(Number(dockerPort)).toBe(port);
    expect(docker.find(([i]) => i === 'HEALTHCHECK')![1]).toContain('/healthz');
  });

  it('run `sextant serve` as the image entrypoint, as a non-root user, with the data directory a volume', () => {
    const docker = dockerfile();
    const entrypoint = JSON.parse(docker.find(([i]) => i === 'ENTRYPOINT')![1]) as string[];
    const cmd = JSON.parse(docker.find(([i]) => i === 'CMD')![1]) as string[];
    expect(cmd).toEqual(['serve']);
    expect(entrypoint).toEqual(['/usr/local/bin/sextant-entrypoint']);
    expect(docker.some(([i, rest]) => i === 'COPY' && rest === 'deploy/container/entrypoint.sh /usr/local/bin/sextant-entrypoint')).toBe(true);
    // The script ends by exec-ing the CLI with the image's arguments (CMD or the pod's args).
    const script = read('deploy/container/entrypoint.sh').trim().split('\n');
    expect(script.at(-1)).toBe('exec node /app/bin/sextant.js "$@"');
    expect(statefulSetContainer().args).toEqual(['serve']);
    expect(read('bin/sextant.js')).toContain("import('../src/cli/main.ts')");

    const user = docker.filter(([i]) => i === 'USER').at(-1)![1];
    expect(user.split(':')[0]).not.toMatch(/^(0|root)$/);
    expect(docker.some(([i, rest]) => i === 'VOLUME' && rest.includes('/data'))).toBe(true);
    const env = docker.filter(([i]) => i === 'ENV').map(([, r]) => r).join(' ');
    expect(env).toContain('SEXTANT_DATA_DIR=/data/');
    expect(env).toContain('SEXTANT_MODELS_DIR=/data/');
    // Multi-stage, npm ci in the build stage, models built at build time.
    expect(docker.filter(([i]) => i === 'FROM')).toHaveLength(2);
    expect(docker.some(([i, rest]) => i === 'RUN' && rest.includes('npm ci'))).toBe(true);
    expect(docker.some(([i, rest]) => i === 'RUN' && rest.includes('models prepare'))).toBe(true);
  });

  it('compose runs the image with a data volume and its keys from an env file', () => {
    const compose = parse(read('compose.yaml'));
    const sextant = compose.services.sextant;
    expect(sextant.env_file).toContain('sextant.env');
    expect(sextant.volumes.some((v: string) => v.endsWith(':/data'))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain(sextant.volumes[0].split(':')[0]);
    expect(read('deploy/container/sextant.env.example')).toMatch(/^SEXTANT_API_KEYS=/m);
  });

  it('every Kubernetes file is valid YAML with a kind', () => {
    for (const file of ['statefulset.yaml', 'service.yaml', 'secret.example.yaml', 'servicemonitor.yaml']) {
      const docs = parseAllDocuments(read(`deploy/kubernetes/${file}`));
      for (const d of docs) {
        expect(d.errors, file).toEqual([]);
        expect(typeof d.toJS().kind, file).toBe('string');
      }
    }
  });
});
