/** The gateway pod: hardened, and laid out so that the runtime's files are reproducible locally. */
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import {
  CONFIG_DIR,
  POD_WORKDIR,
  RUN_DIR,
  RUNTIME_DIR,
  runtimeCommand,
  SECRETS_DIR,
} from '../../contract/pod-layout.js';
import { containerSecurityContext, healthProbes, podSecurityContext } from '../pod-security.js';
import { type GatewayModel, transportOf } from './model.js';

/** STUNner's defaults for the dataplane container. */
export const DEFAULT_RESOURCES: IResourceRequirements = {
  requests: { cpu: '500m', memory: '128Mi' },
  limits: { cpu: '2', memory: '512Mi' },
};

export interface PodOptions {
  readonly serviceAccountName: string;
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly configMapName: string;
  /** Undefined in image mode: the image carries the runtime. */
  readonly runtimeConfigMapName: string | undefined;
  readonly credentialsSecretName: string;
  /** Pass STUNNER_NODENAME: it turns on the watcher's node-address fallback, which needs RBAC. */
  readonly nodeName: boolean;
  readonly resources: IResourceRequirements | undefined;
  readonly terminationGracePeriodSeconds: number;
  readonly preStopDelaySeconds: number;
  readonly topologySpreadConstraints: readonly ITopologySpreadConstraint[] | undefined;
  readonly tolerations: readonly IToleration[] | undefined;
  readonly affinity: IAffinity | undefined;
  readonly nodeSelector: Readonly<Record<string, string>> | undefined;
}

export function renderPodSpec(m: GatewayModel, o: PodOptions): IPodSpec {
  const { command, args } = runtimeCommand();
  const ports: IContainerPort[] = m.listeners.map((l) => ({
    containerPort: l.targetPort,
    protocol: transportOf(l.protocol),
  }));
  ports.push({ name: 'health', containerPort: m.healthPort, protocol: 'TCP' });
  if (m.metricsPort !== undefined)
    ports.push({ name: 'metrics', containerPort: m.metricsPort, protocol: 'TCP' });
  const lowPorts = ports.some((p) => p.containerPort < 1024);

  const credentialKeys = m.authType === 'static' ? ['username', 'password'] : ['secret'];
  const secretSources: IVolumeProjection[] = [
    {
      secret: {
        name: o.credentialsSecretName,
        items: credentialKeys.map((k) => ({ key: k, path: `auth/${k}` })),
      },
    },
  ];
  for (const l of m.listeners) {
    if (l.tlsSecret === undefined) continue;
    secretSources.push({
      secret: {
        name: l.tlsSecret,
        items: ['tls.crt', 'tls.key'].map((k) => ({ key: k, path: `tls/${l.name}/${k}` })),
      },
    });
  }

  const mount = (name: string, dir: string, readOnly: boolean) => ({
    name,
    mountPath: `${POD_WORKDIR}/${dir}`,
    readOnly,
  });
  const volumeMounts = [
    ...(o.runtimeConfigMapName !== undefined ? [mount('runtime', RUNTIME_DIR, true)] : []),
    mount('config', CONFIG_DIR, true),
    mount('secrets', SECRETS_DIR, true),
    mount('run', RUN_DIR, false),
    { name: 'tmp', mountPath: '/tmp', readOnly: false },
  ];
  const volumes: IPodSpec['volumes'] = [
    ...(o.runtimeConfigMapName !== undefined
      ? [{ name: 'runtime', configMap: { name: o.runtimeConfigMapName, defaultMode: 0o444 } }]
      : []),
    { name: 'config', configMap: { name: o.configMapName, defaultMode: 0o444 } },
    { name: 'secrets', projected: { sources: secretSources, defaultMode: 0o440 } },
    { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];

  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const spec: IPodSpec = {
    serviceAccountName: o.serviceAccountName,
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
    securityContext: {
      ...podSecurityContext(),
      // A non-root process binds ports below 1024 only with this (namespaced, "safe") sysctl.
      ...(lowPorts ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } : {}),
    },
    containers: [
      {
        name: 'stunnerd',
        image: o.image,
        imagePullPolicy: o.imagePullPolicy,
        workingDir: POD_WORKDIR,
        command,
        args,
        env: [
          fieldEnv('STUNNER_ADDR', 'status.podIP'),
          // The runtime's watcher reads its Service by this name (named like the gateway).
          { name: 'STUNNER_NAME', value: m.name },
          fieldEnv('STUNNER_NAMESPACE', 'metadata.namespace'),
          ...(o.nodeName ? [fieldEnv('STUNNER_NODENAME', 'spec.nodeName')] : []),
        ],
        ports,
        ...healthProbes('health'),
        resources: o.resources ?? DEFAULT_RESOURCES,
        securityContext: containerSecurityContext(),
        ...(o.preStopDelaySeconds > 0
          ? {
              lifecycle: {
                preStop: {
                  exec: { command: ['node', '-e', `setTimeout(() => {}, ${o.preStopDelaySeconds * 1000})`] },
                },
              },
            }
          : {}),
        volumeMounts,
      },
    ],
    volumes,
  };
  if (o.topologySpreadConstraints?.length) spec.topologySpreadConstraints = [...o.topologySpreadConstraints];
  if (o.tolerations?.length) spec.tolerations = [...o.tolerations];
  if (o.affinity) spec.affinity = o.affinity;
  if (o.nodeSelector) spec.nodeSelector = { ...o.nodeSelector };
  return spec;
}
