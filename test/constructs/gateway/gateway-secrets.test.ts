/**
 * The gateway's credentials and TLS certificates from Secrets that stay out of git (a SealedSecret
 * or an ExternalSecret of the chart), and the warning for inline credentials under Argo CD.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type App, Chart, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgoApplication, GitOpsCluster, MultiClusterApp } from '../../../constructs/gitops/index.js';
import {
  ExternalSecret,
  SealedSecret,
  SecretKeys,
  SecretStoreRef,
  StunnerGateway,
  TurnAuth,
  Warnings,
} from '../../../constructs/index.js';
import { fakeCiphertext, REPO } from '../gitops/fixtures.js';
import { find, type Manifest, synth, synthErrors } from '../helpers.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const LISTENER = { name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 } as const;

function chartIn(app: App = Testing.app(), id = 'media'): Chart {
  return new Chart(app, id, { namespace: 'stunner' });
}

function sealed(chart: Chart, keys: readonly string[], name = 'stunner-auth', extra = {}): SealedSecret {
  return new SealedSecret(chart, `sealed-${name}`, {
    name,
    encryptedData: Object.fromEntries(keys.map((k) => [k, fakeCiphertext(`${name}-${k}`)])),
    ...extra,
  });
}

/** The secret sources of the gateway pod: Secret name -> mounted key -> path. */
function mountedSecrets(objects: Manifest[], deployment: string): Record<string, Record<string, string>> {
  const pod = find(objects, 'Deployment', deployment).spec.template.spec;
  const secrets = pod.volumes.find((v: Manifest) => v.name === 'secrets');
  const out: Record<string, Record<string, string>> = {};
  for (const s of secrets.projected.sources) {
    out[s.secret.name] = Object.fromEntries(s.secret.items.map((i: Manifest) => [i.key, i.path]));
  }
  return out;
}

describe('TurnAuth from a SealedSecret or an ExternalSecret', () => {
  it('static credentials from a SealedSecret: the pod mounts its username and password, nothing is rendered in the clear', () => {
    const chart = chartIn();
    const source = sealed(chart, SecretKeys.TURN_STATIC);
    const gw = new StunnerGateway(chart, 'udp-gateway', {
      auth: TurnAuth.fromSecret(source),
      listeners: [LISTENER],
    });
    const objects = synth(chart);
    expect(gw.credentialsSecretName).toBe('stunner-auth');
    expect(gw.auth?.secretSource).toBe(source);
    expect(mountedSecrets(objects, 'udp-gateway')).toEqual({
      'stunner-auth': { username: 'auth/username', password: 'auth/password' },
    });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(find(objects, 'SealedSecret', 'stunner-auth').metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-wave': '-1',
    });
    expect(find(objects, 'ConfigMap', 'udp-gateway-config').metadata.annotations).toMatchObject({
      'stunner.l7mp.io/injected-at-start': 'auth.credentials from Secret stunner-auth',
    });
  });

  it('ephemeral credentials from an ExternalSecret: the pod mounts only the shared secret', () => {
    const chart = chartIn();
    const source = new ExternalSecret(chart, 'auth', {
      name: 'turn-shared-secret',
      store: SecretStoreRef.cluster('vault'),
      remoteKey: 'media/stunner/turn',
      data: { secret: 'shared-secret' },
    });
    new StunnerGateway(chart, 'udp-gateway', { auth: TurnAuth.ephemeral(source), listeners: [LISTENER] });
    const objects = synth(chart);
    expect(mountedSecrets(objects, 'udp-gateway')).toEqual({
      'turn-shared-secret': { secret: 'auth/secret' },
    });
    expect(find(objects, 'ExternalSecret', 'turn-shared-secret').spec.target.name).toBe('turn-shared-secret');
    expect(JSON.parse(find(objects, 'ConfigMap', 'udp-gateway-config').data['stunnerd.conf']).auth).toEqual({
      type: 'ephemeral',
      realm: 'stunner.l7mp.io',
      credentials: {},
    });
  });

  it('a name still means an existing Secret, whose keys synth cannot know', () => {
    const chart = chartIn();
    const gw = new StunnerGateway(chart, 'udp-gateway', {
      auth: TurnAuth.fromSecret('made-by-hand'),
      listeners: [LISTENER],
    });
    expect(synthErrors(chart)).toEqual([]);
    expect(gw.auth?.secretSource).toBeUndefined();
  });

  it('fails synth, saying where and which keys, when the source lacks the keys the pod mounts', () => {
    const chart = chartIn();
    const onlyUser = sealed(chart, ['username'], 'half-auth');
    new StunnerGateway(chart, 'static-gw', { auth: TurnAuth.fromSecret(onlyUser), listeners: [LISTENER] });
    const external = new ExternalSecret(chart, 'ext', {
      name: 'wrong-keys',
      store: SecretStoreRef.namespaced('store'),
      remoteKey: 'k',
      data: { username: 'u', password: 'p' },
    });
    new StunnerGateway(chart, 'ephemeral-gw', { auth: TurnAuth.ephemeral(external), listeners: [LISTENER] });
    expect(synthErrors(chart)).toEqual([
      '[media/static-gw] auth (TurnAuth.fromSecret(...)): Secret stunner/half-auth will not have key(s) password (it has: username), which the pod mounts; give it password and username (static credentials need username and password, ephemeral ones the shared secret under "secret")',
      '[media/ephemeral-gw] auth (TurnAuth.ephemeral(...)): Secret stunner/wrong-keys will not have key(s) secret (it has: password, username), which the pod mounts; give it secret (static credentials need username and password, ephemeral ones the shared secret under "secret")',
    ]);
  });

  it("fails synth when the source is in another namespace, or rendered by another cluster's app", () => {
    const chart = chartIn();
    const elsewhere = sealed(chart, SecretKeys.TURN_STATIC, 'other-ns', { namespace: 'media' });
    new StunnerGateway(chart, 'ns-gw', { auth: TurnAuth.fromSecret(elsewhere), listeners: [LISTENER] });
    const otherApp = chartIn(Testing.app(), 'other');
    const foreign = sealed(otherApp, SecretKeys.TURN_STATIC, 'foreign');
    new StunnerGateway(chart, 'app-gw', { auth: TurnAuth.fromSecret(foreign), listeners: [LISTENER] });
    expect(synthErrors(chart)).toEqual([
      '[media/ns-gw] auth (TurnAuth.fromSecret(...)): Secret media/other-ns is in another namespace than the gateway ("stunner"); a pod can mount only its own namespace\'s Secrets',
      "[media/app-gw] auth (TurnAuth.fromSecret(...)): other/sealed-foreign is rendered by another app (another cluster's directory): render the Secret where the gateway runs",
    ]);
  });
});

describe('listener tlsSecret from a SealedSecret or an ExternalSecret', () => {
  it('mounts tls.crt and tls.key of the source for the listener', () => {
    const chart = chartIn();
    const tls = sealed(chart, SecretKeys.TLS, 'turn-tls', { type: 'kubernetes.io/tls' });
    new StunnerGateway(chart, 'tls-gateway', {
      auth: TurnAuth.fromSecret('stunner-auth'),
      listeners: [{ name: 'tls-listener', protocol: 'TURN-TLS', port: 443, tlsSecret: tls }],
    });
    const objects = synth(chart);
    expect(mountedSecrets(objects, 'tls-gateway')).toEqual({
      'stunner-auth': { username: 'auth/username', password: 'auth/password' },
      'turn-tls': { 'tls.crt': 'tls/tls-listener/tls.crt', 'tls.key': 'tls/tls-listener/tls.key' },
    });
    expect(find(objects, 'ConfigMap', 'tls-gateway-config').metadata.annotations).toMatchObject({
      'stunner.l7mp.io/injected-at-start':
        'auth.credentials from Secret stunner-auth; cert/key of listener tls-listener from Secret turn-tls',
    });
  });

  it('fails synth when the source has no tls.key, and when it is combined with a certificate', () => {
    const chart = chartIn();
    const noKey = new ExternalSecret(chart, 'cert', {
      name: 'half-cert',
      store: SecretStoreRef.cluster('vault'),
      remoteKey: 'media/tls',
      data: { 'tls.crt': 'crt' },
    });
    new StunnerGateway(chart, 'tls-gateway', {
      auth: TurnAuth.fromSecret('stunner-auth'),
      mixedProtocolLoadBalancer: true,
      listeners: [
        { name: 'tls', protocol: 'TURN-TLS', port: 443, tlsSecret: noKey },
        {
          name: 'dtls',
          protocol: 'TURN-DTLS',
          port: 443,
          tlsSecret: noKey,
          certificate: { issuer: 'letsencrypt', dnsNames: ['turn.example.com'] },
        },
      ],
    });
    expect(synthErrors(chart)).toEqual([
      '[media/tls-gateway] listener "tls" (listeners[0]) tlsSecret: Secret stunner/half-cert will not have key(s) tls.key (it has: tls.crt), which the pod mounts; a TLS Secret needs tls.crt and tls.key (type kubernetes.io/tls)',
      '[media/tls-gateway] listener "dtls" (listeners[1]) tlsSecret: with a certificate, cert-manager writes the Secret; give tlsSecret as a name, or leave it out',
    ]);
  });
});

describe('inline credentials under Argo CD', () => {
  const inlineGateway = (chart: Chart, id = 'udp-gateway') =>
    new StunnerGateway(chart, id, {
      auth: TurnAuth.inline('demo-user', 'a-long-demo-password-1234'),
      listeners: [LISTENER],
    });
  const WARNING = (by: string) =>
    `TurnAuth.inline(...) puts the TURN credentials into git (Secret stunner/udp-gateway-auth), and Argo CD syncs this chart (${by}); for anything but a demo use TurnAuth.fromSecret() with a SealedSecret or an ExternalSecret`;

  it('no warning without an Argo CD Application, nor for credentials from a Secret', () => {
    const app = Testing.app();
    inlineGateway(chartIn(app));
    expect(Warnings.collect(app)).toEqual([]);

    const synced = Testing.app();
    const chart = chartIn(synced);
    new StunnerGateway(chart, 'udp-gateway', {
      auth: TurnAuth.fromSecret(sealed(chart, SecretKeys.TURN_STATIC)),
      listeners: [LISTENER],
    });
    new ArgoApplication(chartIn(synced, 'argocd'), 'media', { repoURL: REPO, path: 'dist' });
    expect(Warnings.collect(synced)).toEqual([]);
  });

  it('warns when an ArgoApplication of the same app syncs the chart, created before or after the gateway', () => {
    const after = Testing.app();
    const chart = inlineGateway(chartIn(after)).node.scope as Chart;
    new ArgoApplication(chartIn(after, 'argocd'), 'media', { repoURL: REPO, path: 'dist' });
    expect(Warnings.collect(after)).toEqual([`[media/udp-gateway] ${WARNING('ArgoApplication "media"')}`]);
    // a warning, not an error: synth succeeds
    expect(synthErrors(chart)).toEqual([]);

    const before = Testing.app();
    new ArgoApplication(chartIn(before, 'argocd'), 'media', { repoURL: REPO, path: 'dist' });
    inlineGateway(chartIn(before));
    expect(Warnings.collect(before)).toHaveLength(1);
  });

  it("only for charts the Application's include/exclude globs select", () => {
    const app = Testing.app();
    inlineGateway(chartIn(app, 'demo'));
    inlineGateway(chartIn(app, 'media'));
    const argo = chartIn(app, 'argocd');
    new ArgoApplication(argo, 'media-only', {
      repoURL: REPO,
      path: 'dist',
      include: '{media,other}.k8s.yaml',
    });
    new ArgoApplication(argo, 'not-demo', { repoURL: REPO, path: 'dist', exclude: 'demo.*' });
    expect(Warnings.collect(app)).toEqual([`[media/udp-gateway] ${WARNING('ArgoApplication "media-only"')}`]);
  });

  it('warns for every cluster chart of a MultiClusterApp, and synth reports it without failing', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'gitops-inline-'));
    temps.push(out);
    const seen: string[] = [];
    const layout = new MultiClusterApp({
      clusters: [new GitOpsCluster({ name: 'eu-west' }), new GitOpsCluster({ name: 'us-east' })],
      outdir: out,
      onWarning: (w) => seen.push(w),
    });
    layout.addCharts((scope, cluster) => {
      const chart = chartIn(scope as App);
      if (cluster.name === 'eu-west') inlineGateway(chart);
      else
        new StunnerGateway(chart, 'udp-gateway', {
          auth: TurnAuth.fromSecret('auth'),
          listeners: [LISTENER],
        });
    });
    new Chart(layout.argocd, 'argocd');
    const expected = [
      `eu-west: [media/udp-gateway] ${WARNING('MultiClusterApp cluster "eu-west": dist/eu-west/')}`,
    ];
    expect(layout.synth()).toEqual(expected);
    expect(seen).toEqual(expected);
  });
});
