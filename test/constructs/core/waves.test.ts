import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiObject, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { apiGroupOf } from '../../../constructs/core/sync-wave.js';
import {
  SYNC_OPTIONS_ANNOTATION,
  SyncOption,
  syncOptionsAnnotation,
} from '../../../constructs/gitops/index.js';
import {
  IceAuthService,
  StunnerGateway,
  SYNC_WAVE_ANNOTATION as SYNC_WAVE,
  SyncWave,
  TurnAuth,
} from '../../../constructs/index.js';
import { twoClusterApp } from '../gitops/fixtures.js';
import { listFiles, loadYaml, newChart } from '../gitops/helpers.js';
import { synthWithRuntime } from '../helpers.js';

const out = mkdtempSync(path.join(tmpdir(), 'gitops-waves-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// A demo's own Ingress fronts its workloads and syncs with them.
const DEMO_KINDS = new Set(['Deployment', 'Service', 'Ingress']);
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
    // the numbers keep the meaning the gateway's annotations always had; unannotated objects
    // fall into "gateways and backends"
    expect(SyncWave.NAMESPACES_AND_RBAC.value).toBe('-2');
    expect(SyncWave.CONFIG_AND_SECRETS.value).toBe('-1');
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

  it('every object in the committed dist/ carries the documented wave of its kind (demo workloads: the demos wave), explicitly', () => {
    const dist = path.resolve('dist');
    const files = listFiles(dist).filter((f) => f.endsWith('.k8s.yaml') && !f.startsWith('argocd/'));
    expect(files.length).toBeGreaterThan(0);
    const seen = new Map<string, string>();
    for (const f of files) {
      for (const o of loadYaml(path.join(dist, f))) {
        const value = o.metadata.annotations?.[SYNC_WAVE];
        const where = `${f}: ${o.kind} ${o.metadata.name}`;
        expect(value, where).toBeDefined();
        // The demos' own workloads and Services sync last, once the gateways they use are up.
        const component = o.metadata.labels?.['app.kubernetes.io/component'];
        // So does the smoke test's PostSync hook Job (its ServiceAccount and NetworkPolicy keep
        // their kinds' waves).
        if (
          (component === 'demo' && DEMO_KINDS.has(o.kind)) ||
          (component === 'smoke-test' && o.kind === 'Job')
        ) {
          expect(Number(value), where).toBe(SyncWave.DEMOS_AND_SMOKE_TESTS.wave);
          continue;
        }
        expect(Number(value), where).toBe(SyncWave.forKind(o.kind, apiGroupOf(o.apiVersion)).wave);
        seen.set(o.kind, value);
      }
    }
    // the mapping, as the README documents it, for the kinds the charts render
    expect(Object.fromEntries([...seen].sort())).toEqual({
      Certificate: '-1',
      ConfigMap: '-1',
      Deployment: '0',
      ExternalSecret: '-1',
      Namespace: '-2',
      NetworkPolicy: '-1',
      PodDisruptionBudget: '0',
      Role: '-2',
      RoleBinding: '-2',
      Service: '0',
      ServiceAccount: '-2',
    });
  });

  it('gateway options add objects in their documented waves too (Secret, Certificate, HPA, PodMonitor, dashboard)', () => {
    const chart = newChart('stunner');
    const gw = new StunnerGateway(chart, 'gw', {
      auth: TurnAuth.inline('demo-user', 'a-long-demo-password-1234'),
      listeners: [
        {
          name: 'tls',
          protocol: 'TURN-TLS',
          port: 443,
          certificate: { issuer: 'letsencrypt', dnsNames: ['turn.example.com'] },
        },
      ],
      autoscaling: { maxReplicas: 3 },
      podMonitor: true,
      grafanaDashboard: true,
    });
    new IceAuthService(chart, 'ice', { gateways: [gw] });
    const objects = synthWithRuntime(chart);
    const waves = Object.fromEntries(
      objects.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.annotations?.[SYNC_WAVE]]),
    );
    expect(waves).toMatchObject({
      'Secret/gw-auth': '-1',
      'Certificate/gw-tls-tls': '-1',
      'ConfigMap/stunnerd-runtime': '-1',
      'ConfigMap/gw-grafana-dashboard': '-1',
      'HorizontalPodAutoscaler/gw': '0',
      'PodMonitor/gw': '0',
      'ServiceAccount/stunner-auth': '-2',
      'Role/stunner-auth': '-2',
      'RoleBinding/stunner-auth': '-2',
      'Deployment/stunner-auth': '0',
      'Service/stunner-auth': '0',
      'NetworkPolicy/stunner-auth': '-1',
    });
    for (const [key, wave] of Object.entries(waves)) expect(wave, key).toBeDefined();
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
