/** The gateway pod: hardened, and laid out (runtime-pod.ts) so that the runtime's files are reproducible locally. */
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type {
  K8sAffinity,
  K8sResourceRequirements,
  K8sToleration,
  K8sTopologySpreadConstraint,
} from '../k8s-types.js';
import { plainResources } from '../k8s-types.js';
import { containerSecurityContext, healthProbes, podSecurityContext } from '../pod-security.js';
import type { RuntimePod } from '../runtime-pod.js';
import { type GatewayModel, transportOf } from './model.js';

/** STUNner's defaults for the dataplane container. */
export const DEFAULT_RESOURCES: IResourceRequirements = {
  requests: { cpu: '500m', memory: '128Mi' },
  limits: { cpu: '2', memory: '512Mi' },
};

export interface PodOptions {
  readonly serviceAccountName: string;
  /** The runtime's files, command and volumes (runtimePod()). */
  readonly layout: RuntimePod;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Pass STUNNER_NODENAME: it turns on the watcher's node-address fallback, which needs RBAC. */
  readonly nodeName: boolean;
  readonly resources: K8sResourceRequirements | undefined;
  readonly terminationGracePeriodSeconds: number;
  readonly preStopDelaySeconds: number;
  readonly topologySpreadConstraints: readonly K8sTopologySpreadConstraint[] | undefined;
  readonly tolerations: readonly K8sToleration[] | undefined;
  readonly affinity: K8sAffinity | undefined;
  readonly nodeSelector: Readonly<Record<string, string>> | undefined;
}

export function renderPodSpec(m: GatewayModel, o: PodOptions): IPodSpec {
  const layout = o.layout;
  const ports: IContainerPort[] = m.listeners.map((l) => ({
    containerPort: l.targetPort,
    protocol: transportOf(l.protocol),
  }));
  ports.push({ name: 'health', containerPort: m.healthPort, protocol: 'TCP' });
  if (m.metricsPort !== undefined)
    ports.push({ name: 'metrics', containerPort: m.metricsPort, protocol: 'TCP' });
  const lowPorts = ports.some((p) => p.containerPort < 1024);

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
        image: layout.image,
        imagePullPolicy: o.imagePullPolicy,
        workingDir: layout.workingDir,
        command: layout.command,
        args: [
          ...layout.bootstrapArgs,
          ...layout.configPaths.flatMap((c) => ['-c', c]),
          ...(m.logFormat === 'json' ? ['--log-format', 'json'] : []),
        ],
        env: [
          fieldEnv('STUNNER_ADDR', 'status.podIP'),
          // The runtime's watcher reads its Service by this name (named like the gateway).
          { name: 'STUNNER_NAME', value: m.name },
          fieldEnv('STUNNER_NAMESPACE', 'metadata.namespace'),
          ...(o.nodeName ? [fieldEnv('STUNNER_NODENAME', 'spec.nodeName')] : []),
        ],
        ports,
        ...healthProbes('health'),
        resources: o.resources !== undefined ? plainResources(o.resources) : DEFAULT_RESOURCES,
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
        volumeMounts: layout.volumeMounts,
      },
    ],
    volumes: layout.volumes,
  };
  // Passed through as given: the structural types are the models' shapes, loosely typed.
  if (o.topologySpreadConstraints?.length)
    spec.topologySpreadConstraints = [...o.topologySpreadConstraints] as ITopologySpreadConstraint[];
  if (o.tolerations?.length) spec.tolerations = [...o.tolerations] as IToleration[];
  if (o.affinity) spec.affinity = o.affinity as IAffinity;
  if (o.nodeSelector) spec.nodeSelector = { ...o.nodeSelector };
  return spec;
}
