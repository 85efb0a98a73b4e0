/**
 * Secrets that stay out of git: a bitnami SealedSecret (ciphertext in git, decrypted in the
 * cluster by the sealed-secrets controller) or an ExternalSecret (a pointer to a secret store,
 * read by the external-secrets operator). Both produce a Secret of a given name with given keys.
 */
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { dns1123Problem, isDns1123Subdomain } from '../../contract/checks.js';
import {
  EPHEMERAL_AUTH_KEYS,
  STATIC_AUTH_KEYS,
  TLS_KEYS,
  TLS_SECRET_TYPE,
} from '../../contract/secret-keys.js';
import { renderObject } from './api-object.js';
import { chartNamespace, labelProblems } from './naming.js';
import { SyncWave } from './sync-wave.js';

/** A Secret that the cluster will hold, and the keys it will have. */
export interface ISecretSource {
  /** Name of the Secret. */
  readonly secretName: string;
  /** Namespace of the Secret. */
  readonly secretNamespace: string;
  /** Keys the Secret will have, sorted. */
  readonly keys: readonly string[];
}

/** The keys the gateway's Secrets need (contract/secret-keys.ts), sorted as ISecretSource's keys are. */
export const SecretKeys = {
  /** Static TURN credentials. */
  TURN_STATIC: sorted(STATIC_AUTH_KEYS),
  /** Ephemeral TURN credentials (TURN REST API shared secret). */
  TURN_EPHEMERAL: sorted(EPHEMERAL_AUTH_KEYS),
  /** A TLS certificate and key (type kubernetes.io/tls). */
  TLS: sorted(TLS_KEYS),
} as const satisfies Record<string, readonly string[]>;

function sorted<K extends string>(keys: readonly K[]): readonly K[] {
  return [...keys].sort();
}

/** A Secret created some other way (by hand, by cert-manager, by another tool). */
export function existingSecret(
  secretName: string,
  secretNamespace: string,
  keys: readonly string[],
): ISecretSource {
  return { secretName, secretNamespace, keys: [...keys].sort() };
}

/**
 * Why `source` cannot serve as a Secret with `required` keys (e.g. SecretKeys.TURN_STATIC), or
 * undefined. For the auth and TLS factories.
 */
export function missingSecretKeys(source: ISecretSource, required: readonly string[]): string | undefined {
  const missing = required.filter((k) => !source.keys.includes(k));
  if (missing.length === 0) return undefined;
  return `Secret ${source.secretNamespace}/${source.secretName} will not have key(s) ${missing.join(', ')} (it has: ${source.keys.join(', ') || 'none'})`;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Adds a secret source's validation: the checks every source gets (name, namespace, keys, labels,
 * required keys), then its `own`, each message prefixed with `kind` and the Secret.
 */
function validateSecretSource(
  source: Construct & ISecretSource,
  kind: string,
  props: SecretSourceProps,
  own: () => string[],
): void {
  source.node.addValidation({
    validate: () =>
      [...commonProblems(source, props), ...own()].map(
        (p) => `${kind} "${source.secretNamespace}/${source.secretName}": ${p}`,
      ),
  });
}

function commonProblems(source: ISecretSource, props: SecretSourceProps): string[] {
  const { secretName: name, secretNamespace: namespace, keys } = source;
  const { labels, requiredKeys } = props;
  const type = props.type ?? 'Opaque';
  const problems: string[] = [];
  const n = dns1123Problem(name);
  if (n && !isDns1123Subdomain(name)) problems.push(`name ${n}`);
  const ns = dns1123Problem(namespace);
  if (ns) problems.push(`namespace ${ns}`);
  if (keys.length === 0) problems.push('has no keys: the Secret would be empty');
  for (const k of keys) {
    if (!SECRET_KEY.test(k) || k.length > 253) {
      problems.push(`key "${k}" is not a valid Secret key (letters, digits, '-', '_', '.')`);
    }
  }
  if (labels) problems.push(...labelProblems(labels));
  const required = [...(requiredKeys ?? []), ...(type === TLS_SECRET_TYPE ? SecretKeys.TLS : [])];
  const missing = [...new Set(required)].filter((k) => !keys.includes(k));
  if (missing.length > 0) {
    problems.push(
      `is missing key(s) ${missing.join(', ')}` +
        (type === TLS_SECRET_TYPE ? ` (a ${TLS_SECRET_TYPE} Secret needs tls.crt and tls.key)` : ''),
    );
  }
  return problems;
}

/** How a sealed value is bound: kubeseal's `--scope`. */
export type SealingScope = 'strict' | 'namespace-wide' | 'cluster-wide';

/** What every secret source in git says about the Secret it makes. */
export interface SecretSourceProps {
  /** Name of the Secret (and of the object in git). */
  readonly name: string;
  /**
   * Namespace of the Secret.
   * @default the chart's namespace
   */
  readonly namespace?: string;
  /**
   * The Secret's type.
   * @default 'Opaque' ('kubernetes.io/tls' needs tls.crt and tls.key)
   */
  readonly type?: string;
  /**
   * Labels on the Secret.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Keys that must be present (e.g. SecretKeys.TURN_STATIC); checked at synth.
   * @default none
   */
  readonly requiredKeys?: readonly string[];
  /**
   * Sync wave.
   * @default SyncWave.CONFIG_AND_SECRETS
   */
  readonly syncWave?: SyncWave;
}

export interface SealedSecretProps extends SecretSourceProps {
  /**
   * The Secret's keys and their kubeseal ciphertexts (`kubeseal --raw --name <name>
   * --namespace <ns> --from-file=/dev/stdin`, or `encryptedData` of `kubeseal -o yaml`).
   */
  readonly encryptedData: Readonly<Record<string, string>>;
  /**
   * The scope the values were sealed with. `strict` binds each value to this name and namespace.
   * @default 'strict'
   */
  readonly scope?: SealingScope;
}

/**
 * A bitnami SealedSecret (bitnami.com/v1alpha1). Only ciphertext is in git; the sealed-secrets
 * controller in the cluster decrypts it into the Secret `name`.
 */
export class SealedSecret extends Construct implements ISecretSource {
  readonly secretName: string;
  readonly secretNamespace: string;
  readonly keys: readonly string[];
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: SealedSecretProps) {
    super(scope, id);
    this.secretName = props.name;
    this.secretNamespace = props.namespace ?? chartNamespace(this);
    this.keys = Object.keys(props.encryptedData).sort();
    const type = props.type ?? 'Opaque';
    const sealing = props.scope ?? 'strict';
    const encryptedData: Record<string, string> = {};
    for (const k of this.keys) encryptedData[k] = props.encryptedData[k]!;
    const wave = props.syncWave ?? SyncWave.CONFIG_AND_SECRETS;
    this.apiObject = renderObject(
      this,
      'Resource',
      {
        apiVersion: 'bitnami.com/v1alpha1',
        kind: 'SealedSecret',
        metadata: {
          name: this.secretName,
          namespace: this.secretNamespace,
          annotations: {
            ...(sealing !== 'strict' && { [`sealedsecrets.bitnami.com/${sealing}`]: 'true' }),
          },
        },
        spec: {
          encryptedData,
          template: {
            metadata: {
              name: this.secretName,
              namespace: this.secretNamespace,
              ...(props.labels && { labels: { ...props.labels } }),
            },
            type,
          },
        },
      },
      wave,
    );

    validateSecretSource(this, 'SealedSecret', props, () => {
      const problems: string[] = [];
      for (const k of this.keys) {
        const p = ciphertextProblem(props.encryptedData[k]!);
        if (p) problems.push(`encryptedData.${k} ${p}`);
      }
      return problems;
    });
  }
}

/**
 * Why a value is not kubeseal output, or undefined. kubeseal writes base64 of a 2-byte length, an
 * RSA-OAEP-wrapped session key (256 bytes or more) and the AES-GCM ciphertext; a short value is
 * almost certainly a plaintext that would end up in git.
 */
export function ciphertextProblem(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    return 'is not base64: give kubeseal output, never the plaintext';
  }
  const bytes = (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
  if (bytes < 2 + 256 + 16) {
    return `decodes to ${bytes} bytes, too short for kubeseal output (at least 274): is it a plaintext?`;
  }
  return undefined;
}

/** The store an ExternalSecret reads from. */
export class SecretStoreRef {
  /** A SecretStore in the ExternalSecret's namespace. */
  static namespaced(name: string): SecretStoreRef {
    return new SecretStoreRef('SecretStore', name);
  }

  /** A ClusterSecretStore. */
  static cluster(name: string): SecretStoreRef {
    return new SecretStoreRef('ClusterSecretStore', name);
  }

  private constructor(
    readonly kind: 'SecretStore' | 'ClusterSecretStore',
    readonly name: string,
  ) {}
}

/** external-secrets.io API versions: v1 (operator 0.16 and later; 0.17 stops serving v1beta1). */
export type ExternalSecretApiVersion = 'external-secrets.io/v1' | 'external-secrets.io/v1beta1';

/** A remote reference for one key of the Secret. */
export interface RemoteRef {
  /** The key (path, name) in the store. */
  readonly key: string;
  /**
   * The property of that key (a JSON field).
   * @default the whole value
   */
  readonly property?: string;
  /**
   * The version in the store.
   * @default the latest
   */
  readonly version?: string;
}

export interface ExternalSecretProps extends SecretSourceProps {
  /** The store to read from. */
  readonly store: SecretStoreRef;
  /**
   * The key in the store that holds every property below.
   * @default none: each entry of `data` names its key
   */
  readonly remoteKey?: string;
  /**
   * The Secret's keys, each a property of `remoteKey` (a string) or a full remote reference.
   * E.g. `{ username: 'username', password: 'password' }` with `remoteKey: 'stunner/turn'`.
   */
  readonly data: Readonly<Record<string, string | RemoteRef>>;
  /**
   * How often the operator re-reads the store: rotation in the store reaches the pods within it.
   * @default '1h'
   */
  readonly refreshInterval?: string;
  /**
   * @default 'external-secrets.io/v1'
   */
  readonly apiVersion?: ExternalSecretApiVersion;
}

/**
 * An ExternalSecret (external-secrets.io): git holds only where the values are; the
 * external-secrets operator writes the Secret `name` (owned by the ExternalSecret).
 */
export class ExternalSecret extends Construct implements ISecretSource {
  readonly secretName: string;
  readonly secretNamespace: string;
  readonly keys: readonly string[];
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ExternalSecretProps) {
    super(scope, id);
    this.secretName = props.name;
    this.secretNamespace = props.namespace ?? chartNamespace(this);
    this.keys = Object.keys(props.data).sort();
    const type = props.type ?? 'Opaque';
    const refs = this.keys.map((secretKey) => {
      const d = props.data[secretKey]!;
      const ref: RemoteRef = typeof d === 'string' ? { key: props.remoteKey ?? '', property: d } : d;
      return {
        secretKey,
        remoteRef: {
          key: ref.key,
          ...(ref.property !== undefined && { property: ref.property }),
          ...(ref.version !== undefined && { version: ref.version }),
        },
      };
    });
    const wave = props.syncWave ?? SyncWave.CONFIG_AND_SECRETS;
    this.apiObject = renderObject(
      this,
      'Resource',
      {
        apiVersion: props.apiVersion ?? 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: this.secretName, namespace: this.secretNamespace },
        spec: {
          refreshInterval: props.refreshInterval ?? '1h',
          secretStoreRef: { kind: props.store.kind, name: props.store.name },
          target: {
            name: this.secretName,
            creationPolicy: 'Owner',
            template: {
              type,
              ...(props.labels && { metadata: { labels: { ...props.labels } } }),
            },
          },
          data: refs,
        },
      },
      wave,
    );

    validateSecretSource(this, 'ExternalSecret', props, () => {
      const problems: string[] = [];
      const store = dns1123Problem(props.store.name);
      if (store && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(props.store.name)) {
        problems.push(`store ${props.store.kind} ${store}`);
      }
      for (const r of refs) {
        if (r.remoteRef.key === '') {
          problems.push(
            `data.${r.secretKey} names property "${r.remoteRef.property}" but no remoteKey is set: ` +
              `set remoteKey or give { key, property }`,
          );
        }
      }
      if (!/^(0|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/.test(props.refreshInterval ?? '1h')) {
        problems.push(`refreshInterval "${props.refreshInterval}" is not a Go duration (e.g. 1h, 15m)`);
      }
      return problems;
    });
  }
}
