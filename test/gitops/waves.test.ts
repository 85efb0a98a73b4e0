import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiObject, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SYNC_OPTIONS_ANNOTATION,
  SyncOption,
  SyncWave,
  syncOptionsAnnotation,
} from '../../constructs/gitops/index.js';
import { SYNC_WAVE, WAVE_CONFIG, WAVE_NAMESPACE } from '../../constructs/naming.js';
import { twoClusterApp } from './fixtures.js';
import { loadYaml, newChart } from './helpers.js';

const out = mkdtempSync(path.join(tmpdir(), 'gitops-waves-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const waveOf = (o: any): number => SyncWave.parse(o.metadata.annotations?.[SYNC_WAVE]);

describe('sync waves', () => {
  it('are ordered as documented: namespaces and RBAC, config and secrets, gateways and backends, demos and smoke tests', () => {
    expect(SyncWave.ALL.map((w) => w.description)).toEqual([
      'namespaces and RBAC',
      'config and secrets',
      'gateways and backends',
      'demos and smoke tests',
    ]);
    const numbers = SyncWave.ALL.map((w) => w.wave);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(4);
    // the existing constants keep their meaning; unannotated objects fall into "gateways and backends"
    expect(SyncWave.NAMESPACES_AND_RBAC.value).toBe(WAVE_NAMESPACE);
    expect(SyncWave.CONFIG_AND_SECRETS.value).toBe(WAVE_CONFIG);
    expect(SyncWave.parse(undefined)).toBe(SyncWave.GATEWAYS_AND_BACKENDS.wave);
  });

  it('maps kinds to their documented wave', () => {
    const cases: [string, string, SyncWave][] = [
      ['Namespace', '', SyncWave.NAMESPACES_AND_RBAC],
      ['ServiceAccount', '', SyncWave.NAMESPACES_AND_RBAC],
      ['RoleBinding', 'rbac.authorization.k8s.io', SyncWave.NAMESPACES_AND_RBAC],
      ['ClusterRole', 'rbac.authorization.k8s.io', SyncWave.NAMESPACES_AND_RBAC],
      ['ConfigMap', '', SyncWave.CONFIG_AND_SECRETS],
      ['Secret', 'core', SyncWave.CONFIG_AND_SECRETS],
      ['SealedSecret', 'bitnami.com', SyncWave.CONFIG_AND_SECRETS],
      ['ExternalSecret', 'external-secrets.io', SyncWave.CONFIG_AND_SECRETS],
      ['Certificate', 'cert-manager.io', SyncWave.CONFIG_AND_SECRETS],
      ['Deployment', 'apps', SyncWave.GATEWAYS_AND_BACKENDS],
      ['Service', '', SyncWave.GATEWAYS_AND_BACKENDS],
      ['PodMonitor', 'monitoring.coreos.com', SyncWave.GATEWAYS_AND_BACKENDS],
    ];
    for (const [kind, group, wave] of cases)
      expect([kind, SyncWave.forKind(kind, group)]).toEqual([kind, wave]);
  });

  it('a synthesized cluster directory applies in the documented order', () => {
    twoClusterApp(out).synth();
    const objects = loadYaml(path.join(out, 'eu-west', 'media.k8s.yaml'));
    const byWave = [...objects].sort((a, b) => waveOf(a) - waveOf(b)).map((o) => [waveOf(o), o.kind]);
    expect(byWave).toEqual([
      [-2, 'Namespace'],
      [-2, 'ServiceAccount'],
      [-2, 'Role'],
      [-1, 'ConfigMap'],
      [-1, 'SealedSecret'],
      [0, 'Deployment'],
      [1, 'Job'],
    ]);
  });

  it('the committed dist/ already puts namespaces before config and secrets before workloads', () => {
    const dist = path.resolve('dist');
    const files = readdirSync(dist).filter((f) => f.endsWith('.k8s.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const objects = loadYaml(path.join(dist, f));
      const waves = (kinds: string[]) => objects.filter((o) => kinds.includes(o.kind)).map(waveOf);
      const namespaces = waves(['Namespace']);
      const config = waves(['ConfigMap', 'Secret']);
      const workloads = waves(['Deployment']);
      for (const n of namespaces) for (const c of config) expect(n, f).toBeLessThan(c);
      for (const c of config) for (const w of workloads) expect(c, f).toBeLessThan(w);
    }
  });

  it('SyncWave.applyTo annotates every object under a construct', () => {
    const chart = newChart('demo');
    new ApiObject(chart, 'a', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } });
    new ApiObject(chart, 'b', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'b' } });
    SyncWave.DEMOS_AND_SMOKE_TESTS.applyTo(chart);
    const objects = Testing.synth(chart);
    expect(objects.map((o) => o.metadata.annotations[SYNC_WAVE])).toEqual(['1', '1']);
  });
});

describe('sync options', () => {
  it('render a resource annotation, sorted, one per key', () => {
    expect(
      syncOptionsAnnotation(SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE, SyncOption.SERVER_SIDE_APPLY),
    ).toEqual({ [SYNC_OPTIONS_ANNOTATION]: 'ServerSideApply=true,SkipDryRunOnMissingResource=true' });
  });

  it('refuse an application-only option on a resource, saying which', () => {
    expect(() => syncOptionsAnnotation(SyncOption.CREATE_NAMESPACE)).toThrow(
      'syncOptionsAnnotation: sync option CreateNamespace=true is only valid on an Application',
    );
  });
});
