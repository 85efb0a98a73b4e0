/**
 * The one place that lays out a runtime pod: which volumes hold the runtime, the dataplane
 * configs and the Secret material, where they are mounted, how the bootstrap is started, and the
 * annotation that rolls the pods on a new runtime. The gateway pod and the ICE auth service pod
 * both get their layout here; the paths themselves are the contract's (contract/pod-layout.ts).
 */
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import { ANNOTATION_RUNTIME_SHA } from '../../contract/labels.js';
import {
  BOOTSTRAP_FILE,
  CONFIG_DIR,
  CONFIG_KEY,
  POD_WORKDIR,
  RUN_DIR,
  RUNTIME_DIR,
  RUNTIME_NODE_FLAGS,
  SECRETS_DIR,
} from '../../contract/pod-layout.js';
import { TLS_KEYS } from '../../contract/secret-keys.js';
import type { GatewayRuntime } from './gateway-runtime.js';
import { packagedRuntime } from './packaged-runtime.js';
import { RUNTIME_CONFIGMAP_NAME } from './runtime-config-map.js';

/** One dataplane config the runtime loads, with the Secret material the bootstrap merges into it. */
export interface RuntimeConfigMount {
  /** ConfigMap holding the config under CONFIG_KEY. */
  readonly configMapName: string;
  /** Secret with the credentials, and the keys to mount from it (under `auth/`). */
  readonly credentialsSecretName: string;
  readonly credentialKeys: readonly string[];
  /** TLS Secrets by listener (under `tls/<listener>/`). */
  readonly tlsSecrets?: readonly { readonly listener: string; readonly secretName: string }[];
}

export interface RuntimePodOptions {
  readonly runtime: GatewayRuntime;
  /**
   * The configs, in order. One config without `dirs` is the gateway layout
   * (`config/stunnerd.conf`, `secrets/`); with `dirs`, config i lives in `config/<dirs[i]>/` and
   * `secrets/<dirs[i]>/` (the ICE auth service, which loads every gateway's config).
   */
  readonly configs: readonly RuntimeConfigMount[];
  readonly dirs?: readonly string[];
  /** Start node with the relay's heap flags (RUNTIME_NODE_FLAGS). */
  readonly relayNodeFlags: boolean;
  /** Size of the memory-backed `run/` directory (decompressed runtime, assembled configs). */
  readonly runSizeLimit: string;
}

export interface RuntimePod {
  readonly image: string;
  readonly workingDir: string;
  readonly command: string[];
  /** The bootstrap's arguments, ending with `--`: the runtime's own arguments follow. */
  readonly bootstrapArgs: string[];
  /** The assembled config files, in the order of `configs`, for the runtime's `-c`. */
  readonly configPaths: string[];
  readonly volumeMounts: IVolumeMount[];
  readonly volumes: IVolume[];
  /** Pod template annotations: the runtime's digest in bundle mode, so a new runtime rolls the pods. */
  readonly annotations: Record<string, string>;
}

export function runtimePod(o: RuntimePodOptions): RuntimePod {
  const bundled = o.runtime.kind === 'bundle';
  const at = (base: string, i: number) => (o.dirs === undefined ? base : `${base}/${o.dirs[i]}`);

  const bootstrapArgs = ['--run', RUN_DIR];
  const configPaths: string[] = [];
  o.configs.forEach((_, i) => {
    const config = `${at(CONFIG_DIR, i)}/${CONFIG_KEY}`;
    bootstrapArgs.push('--inject', `${config}=${at(SECRETS_DIR, i)}`);
    configPaths.push(config);
  });
  bootstrapArgs.push('--');

  const secretSources: IVolumeProjection[] = [];
  o.configs.forEach((c, i) => {
    const prefix = o.dirs === undefined ? '' : `${o.dirs[i]}/`;
    secretSources.push({
      secret: {
        name: c.credentialsSecretName,
        items: c.credentialKeys.map((k) => ({ key: k, path: `${prefix}auth/${k}` })),
      },
    });
    for (const t of c.tlsSecrets ?? [])
      secretSources.push({
        secret: {
          name: t.secretName,
          items: TLS_KEYS.map((k) => ({ key: k, path: `${prefix}tls/${t.listener}/${k}` })),
        },
      });
  });
  const configVolume: IVolume =
    o.dirs === undefined && o.configs.length === 1
      ? { name: 'config', configMap: { name: o.configs[0]!.configMapName, defaultMode: 0o444 } }
      : {
          name: 'config',
          projected: {
            sources: o.configs.map((c, i) => ({
              configMap: {
                name: c.configMapName,
                items: [{ key: CONFIG_KEY, path: `${o.dirs?.[i]}/${CONFIG_KEY}` }],
              },
            })),
            defaultMode: 0o444,
          },
        };

  const mount = (name: string, dir: string, readOnly: boolean) => ({
    name,
    mountPath: `${POD_WORKDIR}/${dir}`,
    readOnly,
  });
  const volumeMounts: IVolumeMount[] = [
    ...(bundled ? [mount('runtime', RUNTIME_DIR, true)] : []),
    mount('config', CONFIG_DIR, true),
    mount('secrets', SECRETS_DIR, true),
    mount('run', RUN_DIR, false),
    { name: 'tmp', mountPath: '/tmp', readOnly: false },
  ];
  const volumes: IVolume[] = [
    ...(bundled
      ? [{ name: 'runtime', configMap: { name: RUNTIME_CONFIGMAP_NAME, defaultMode: 0o444 } }]
      : []),
    configVolume,
    { name: 'secrets', projected: { sources: secretSources, defaultMode: 0o440 } },
    { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: o.runSizeLimit } },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];

  return {
    image: o.runtime.image,
    workingDir: POD_WORKDIR,
    command: ['node', ...(o.relayNodeFlags ? RUNTIME_NODE_FLAGS : []), `${RUNTIME_DIR}/${BOOTSTRAP_FILE}`],
    bootstrapArgs,
    configPaths,
    volumeMounts,
    volumes,
    annotations: bundled ? runtimeAnnotations() : {},
  };
}

function runtimeAnnotations(): Record<string, string> {
  try {
    return { [ANNOTATION_RUNTIME_SHA]: packagedRuntime().sha256 };
  } catch {
    return {}; // the runtime ConfigMap reports why the runtime cannot be read
  }
}
