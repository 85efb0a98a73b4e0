/**
 * The third-party pods that cannot be `restricted`, and why: public API (the audit and users read
 * it), kept apart from the pod-spec helpers so that its declarations need no Kubernetes models.
 */

/** The annotation that names a pod's entry in POD_SECURITY_EXCEPTIONS. */
export { ANNOTATION_POD_SECURITY_EXCEPTION } from '../../contract/labels.js';

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
