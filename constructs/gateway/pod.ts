/** The gateway pod: hardened, and laid out (runtime-pod.ts) so that the runtime's files are reproducible locally. */
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import { listenerServiceProtocol } from '../../contract/config/types.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import { plainResources } from '../core/k8s-types.js';
import { containerSecurityContext, healthProbes, podSecurityContext } from '../core/pod-security.js';
import { schedulingSpec } from '../core/scheduling.js';
import type { RuntimePod } from '../runtime-bundle/runtime-pod.js';
import type { GatewayModel } from './model.js';

/** STUNner's defaults for the dataplane container. */
export const DEFAULT_RESOURCES: IResourceRequirements = {
  requests: { cpu: '500m', memory: '128Mi' },
  limits: { cpu: '2', memory: '512Mi' },
};

/** The pod spec; `layout` is the runtime's files, command and volumes (runtimePod()). */
export function renderPodSpec(m: GatewayModel, layout: RuntimePod): IPodSpec {
  const ports: IContainerPort[] = m.listeners.map((l) => ({
    containerPort: l.targetPort,
    protocol: listenerServiceProtocol(l.protocol),
  }));
  ports.push({ name: 'health', containerPort: m.healthPort, protocol: 'TCP' });
  if (m.metricsPort !== undefined)
    ports.push({ name: 'metrics', containerPort: m.metricsPort, protocol: 'TCP' });
  const lowPorts = ports.some((p) => p.containerPort < 1024);

  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const spec: IPodSpec = {
    serviceAccountName: m.serviceAccountName,
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: m.terminationGracePeriodSeconds,
    securityContext: {
      ...podSecurityContext(),
      // A non-root process binds ports below 1024 only with this (namespaced, "safe") sysctl.
      ...(lowPorts ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } : {}),
    },
    containers: [
      {
        name: 'stunnerd',
        image: layout.image,
        imagePullPolicy: m.imagePullPolicy,
        workingDir: layout.workingDir,
        command: layout.command,
        args: [
          ...layout.bootstrapArgs,
          ...layout.configPaths.flatMap((c) => ['-c', c]),
          ...(m.logFormat === 'json' ? ['--log-format', 'json'] : []),
        ],
        env: [
          fieldEnv(RuntimeEnv.ADDR, 'status.podIP'),
          // The runtime's watcher reads its Service by this name (named like the gateway).
          { name: RuntimeEnv.NAME, value: m.name },
          fieldEnv(RuntimeEnv.NAMESPACE, 'metadata.namespace'),
          ...(m.nodeAddressDiscovery ? [fieldEnv(RuntimeEnv.NODENAME, 'spec.nodeName')] : []),
        ],
        ports,
        ...healthProbes('health'),
        resources: m.resources !== undefined ? plainResources(m.resources) : DEFAULT_RESOURCES,
        securityContext: containerSecurityContext(),
        ...(m.preStopDelaySeconds > 0
          ? {
              lifecycle: {
                preStop: {
                  exec: { command: ['node', '-e', `setTimeout(() => {}, ${m.preStopDelaySeconds * 1000})`] },
                },
              },
            }
          : {}),
        volumeMounts: layout.volumeMounts,
      },
    ],
    volumes: layout.volumes,
  };
  return { ...spec, ...schedulingSpec(m.scheduling) };
}
