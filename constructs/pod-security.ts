/**
 * The hardening every runtime pod shares (gateway and ICE auth service): non-root with a fixed
 * UID, RuntimeDefault seccomp, read-only root filesystem, no privilege escalation, every
 * capability dropped; and the /live and /ready probes the runtime serves.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { RUNTIME_UID } from '../contract/pod-layout.js';

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

/**
 * Pod template annotation of a third-party pod that cannot be `restricted`: the id of its entry
 * in POD_SECURITY_EXCEPTIONS. Its namespace enforces `baseline`; the manifest audit checks both.
 */
export const ANNOTATION_POD_SECURITY_EXCEPTION = 'stunner.l7mp.io/pod-security-exception';

/**
 * Every third-party image we render that needs more than `restricted`, and why. Each runs with
 * RuntimeDefault seccomp, no privilege escalation and every capability dropped; what they keep is
 * their image's root user (and, for some, a writable root filesystem).
 */
export const POD_SECURITY_EXCEPTIONS = {
  janus:
    'the Janus image runs Janus as root; it is not verified under another UID or on a read-only root filesystem, so runAsNonRoot and readOnlyRootFilesystem stay off (baseline)',
  mediasoup:
    "STUNner's mediasoup demo image runs its server as root and binds 443; it is not verified under another UID or on a read-only root filesystem, so runAsNonRoot and readOnlyRootFilesystem stay off (baseline)",
  cloudretro:
    'the CloudRetro image runs coordinator and worker as root; they are not verified under another UID or on a read-only root filesystem (the worker keeps emulator state under its home), so runAsNonRoot and readOnlyRootFilesystem stay off (baseline)',
} as const;

export type PodSecurityException = keyof typeof POD_SECURITY_EXCEPTIONS;

/** What `baseline` leaves a third-party pod that runs as root: the rest of `restricted`. */
export function thirdPartyPodSecurityContext(): IPodSecurityContext {
  return { seccompProfile: { type: 'RuntimeDefault' } };
}

/** A third-party container: no privilege escalation, every capability dropped. */
export function thirdPartyContainerSecurityContext(): ISecurityContext {
  return { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } };
}
