/**
 * The hardening every runtime pod shares (gateway and ICE auth service): non-root with a fixed
 * UID, RuntimeDefault seccomp, read-only root filesystem, no privilege escalation, every
 * capability dropped; and the /live and /ready probes the runtime serves.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { RUNTIME_UID } from '../../contract/pod-layout.js';

export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUNTIME_UID,
    runAsGroup: RUNTIME_UID,
    fsGroup: RUNTIME_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): ISecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/** Liveness on /live and readiness on /ready, on the named container port. */
export function healthProbes(port: string): Pick<IContainer, 'livenessProbe' | 'readinessProbe'> {
  return {
    livenessProbe: {
      httpGet: { path: '/live', port, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/ready', port, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
  };
}

export {
  ANNOTATION_POD_SECURITY_EXCEPTION,
  POD_SECURITY_EXCEPTIONS,
  type PodSecurityException,
} from './pod-security-exceptions.js';

/** What `baseline` leaves a third-party pod that runs as root: the rest of `restricted`. */
export function thirdPartyPodSecurityContext(): IPodSecurityContext {
  return { seccompProfile: { type: 'RuntimeDefault' } };
}

/** A third-party container: no privilege escalation, every capability dropped. */
export function thirdPartyContainerSecurityContext(): ISecurityContext {
  return { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } };
}
