/**
 * SealedSecret and ExternalSecret, validated against the published models of
 * @kubernetes-models/sealed-secrets and @kubernetes-models/external-secrets (see secret-schemas.ts).
 */
import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ciphertextProblem } from '../../../constructs/core/secrets.js';
import {
  ExternalSecret,
  existingSecret,
  type ISecretSource,
  missingSecretKeys,
  SealedSecret,
  SecretKeys,
  SecretStoreRef,
} from '../../../constructs/index.js';
import { fakeCiphertext } from '../gitops/fixtures.js';
import { newChart, synthErrors } from '../gitops/helpers.js';
import { isSecretCrd, validateSecretCrd } from './secret-schemas.js';

function expectValid(o: any): void {
  expect(isSecretCrd(o)).toBe(true);
  expect(() => validateSecretCrd(o)).not.toThrow();
}

describe('SealedSecret', () => {
  it('renders ciphertext and the Secret template; valid against the published model', () => {
    const chart = newChart('stunner');
    const sealed = new SealedSecret(chart, 'auth', {
      name: 'stunner-auth',
      encryptedData: { username: fakeCiphertext('u'), password: fakeCiphertext('p') },
      labels: { 'app.kubernetes.io/part-of': 'stunner' },
      requiredKeys: SecretKeys.TURN_STATIC,
    });
    const source: ISecretSource = sealed;
    expect(source).toMatchObject({ secretName: 'stunner-auth', secretNamespace: 'stunner' });
    expect(source.keys).toEqual(['password', 'username']);
    const [o] = Testing.synth(chart);
    expectValid(o);
    expect(o.metadata).toEqual({
      name: 'stunner-auth',
      namespace: 'stunner',
      annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
    });
    expect(Object.keys(o.spec.encryptedData)).toEqual(['password', 'username']);
    expect(o.spec.template).toEqual({
      metadata: {
        name: 'stunner-auth',
        namespace: 'stunner',
        labels: { 'app.kubernetes.io/part-of': 'stunner' },
      },
      type: 'Opaque',
    });
  });

  it('a TLS secret: type kubernetes.io/tls; namespace-wide sealing is annotated', () => {
    const chart = newChart('stunner');
    new SealedSecret(chart, 'tls', {
      name: 'gateway-tls',
      type: 'kubernetes.io/tls',
      scope: 'namespace-wide',
      encryptedData: { 'tls.crt': fakeCiphertext('c'), 'tls.key': fakeCiphertext('k') },
    });
    const [o] = Testing.synth(chart);
    expectValid(o);
    expect(o.spec.template.type).toBe('kubernetes.io/tls');
    expect(o.metadata.annotations['sealedsecrets.bitnami.com/namespace-wide']).toBe('true');
  });

  it('fails synth with where and why: plaintext, missing keys, TLS without its key', () => {
    const chart = newChart('stunner');
    new SealedSecret(chart, 'auth', {
      name: 'stunner-auth',
      encryptedData: { username: 'alice', password: 'c2hvcnQ=' },
      requiredKeys: SecretKeys.TURN_STATIC,
    });
    new SealedSecret(chart, 'tls', {
      name: 'gateway-tls',
      type: 'kubernetes.io/tls',
      encryptedData: { 'tls.crt': fakeCiphertext('c') },
    });
    expect(synthErrors(chart)).toEqual([
      '[test/auth] SealedSecret "stunner/stunner-auth": encryptedData.password decodes to 5 bytes, too short for kubeseal output (at least 274): is it a plaintext?',
      '[test/auth] SealedSecret "stunner/stunner-auth": encryptedData.username is not base64: give kubeseal output, never the plaintext',
      '[test/tls] SealedSecret "stunner/gateway-tls": is missing key(s) tls.key (a kubernetes.io/tls Secret needs tls.crt and tls.key)',
    ]);
  });

  it('accepts real kubeseal-sized output', () => {
    expect(ciphertextProblem(fakeCiphertext('x'))).toBeUndefined();
  });
});

describe('ExternalSecret', () => {
  it('renders external-secrets.io/v1 pointing at a store and a remote key; valid against the published model', () => {
    const chart = newChart('stunner');
    const ext = new ExternalSecret(chart, 'auth', {
      name: 'stunner-auth',
      store: SecretStoreRef.cluster('vault'),
      remoteKey: 'media/stunner/turn',
      data: { secret: 'shared-secret' },
      requiredKeys: SecretKeys.TURN_EPHEMERAL,
    });
    expect(missingSecretKeys(ext, SecretKeys.TURN_EPHEMERAL)).toBeUndefined();
    const [o] = Testing.synth(chart);
    expectValid(o);
    expect(o.apiVersion).toBe('external-secrets.io/v1');
    expect(o.spec).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      target: { name: 'stunner-auth', creationPolicy: 'Owner', template: { type: 'Opaque' } },
      data: [{ secretKey: 'secret', remoteRef: { key: 'media/stunner/turn', property: 'shared-secret' } }],
    });
  });

  it('a TLS secret from two remote keys, v1beta1 for operators before 0.16', () => {
    const chart = newChart('stunner');
    new ExternalSecret(chart, 'tls', {
      name: 'gateway-tls',
      apiVersion: 'external-secrets.io/v1beta1',
      store: SecretStoreRef.namespaced('aws'),
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': { key: 'gateway/cert', version: '3' }, 'tls.key': { key: 'gateway/key' } },
      refreshInterval: '15m',
    });
    const [o] = Testing.synth(chart);
    expectValid(o);
    expect(o.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'aws' });
    expect(o.spec.data).toEqual([
      { secretKey: 'tls.crt', remoteRef: { key: 'gateway/cert', version: '3' } },
      { secretKey: 'tls.key', remoteRef: { key: 'gateway/key' } },
    ]);
  });

  it('fails synth with where and why', () => {
    const chart = newChart('stunner');
    new ExternalSecret(chart, 'auth', {
      name: 'stunner-auth',
      store: SecretStoreRef.namespaced('vault'),
      data: { username: 'user' },
      requiredKeys: SecretKeys.TURN_STATIC,
      refreshInterval: 'hourly',
    });
    expect(synthErrors(chart)).toEqual([
      '[test/auth] ExternalSecret "stunner/stunner-auth": is missing key(s) password',
      '[test/auth] ExternalSecret "stunner/stunner-auth": data.username names property "user" but no remoteKey is set: set remoteKey or give { key, property }',
      '[test/auth] ExternalSecret "stunner/stunner-auth": refreshInterval "hourly" is not a Go duration (e.g. 1h, 15m)',
    ]);
  });
});

describe('published-model validation', () => {
  it('refuses broken objects, naming the object and the field', () => {
    const meta = { name: 'stunner-auth', namespace: 'stunner' };
    expect(() =>
      validateSecretCrd({
        apiVersion: 'bitnami.com/v1alpha1',
        kind: 'SealedSecret',
        metadata: meta,
        spec: { encryptedData: { password: 42 } },
      }),
    ).toThrow(
      'bitnami.com/v1alpha1/SealedSecret stunner/stunner-auth: data/spec/encryptedData/password must be string',
    );
    for (const apiVersion of ['external-secrets.io/v1', 'external-secrets.io/v1beta1']) {
      expect(() =>
        validateSecretCrd({
          apiVersion,
          kind: 'ExternalSecret',
          metadata: meta,
          spec: {
            secretStoreRef: { name: 'vault', kind: 'VaultStore' },
            data: [{ secretKey: 'password', remoteRef: {} }],
          },
        }),
      ).toThrow(
        /remoteRef must have required property key.*secretStoreRef\/kind must be equal to one of the allowed values/,
      );
    }
    expect(() =>
      validateSecretCrd({ apiVersion: 'external-secrets.io/v1alpha1', kind: 'ExternalSecret' }),
    ).toThrow('not a SealedSecret or ExternalSecret kind this test knows');
  });
});

describe('ISecretSource', () => {
  it('an existing Secret, and what the auth factories will ask of a source', () => {
    const existing = existingSecret('turn', 'stunner', ['username', 'password']);
    expect(existing.keys).toEqual(['password', 'username']);
    expect(missingSecretKeys(existing, SecretKeys.TURN_STATIC)).toBeUndefined();
    expect(missingSecretKeys(existing, SecretKeys.TLS)).toBe(
      'Secret stunner/turn will not have key(s) tls.crt, tls.key (it has: password, username)',
    );
  });
});
