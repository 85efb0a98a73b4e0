/** Names, labels and annotations shared by the constructs. */
import { Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `name` is not a DNS-1035 label (Service and port names), or undefined when it is. */
export function dns1035Problem(name: string, maxLength = 63): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > maxLength) return `"${name}" is longer than ${maxLength} characters`;
  if (!DNS_1035_LABEL.test(name))
    return `"${name}" must be lowercase letters, digits and '-', start with a letter and end with a letter or digit`;
  return undefined;
}

/** Why `name` is not a DNS-1123 label (namespaces), or undefined when it is. */
export function dns1123Problem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 63) return `"${name}" is longer than 63 characters`;
  if (!DNS_1123_LABEL.test(name))
    return `"${name}" must be lowercase letters, digits and '-', and start and end with a letter or digit`;
  return undefined;
}

/** The namespace of a construct without one of its own: the chart's, else "default". */
export function chartNamespace(scope: IConstruct): string {
  return Chart.of(scope).namespace ?? 'default';
}

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** STUNner's own labels, so that its tooling (and muscle memory) finds our objects. */
export const LABEL_GATEWAY_NAME = 'stunner.l7mp.io/related-gateway-name';
export const LABEL_GATEWAY_NAMESPACE = 'stunner.l7mp.io/related-gateway-namespace';
export const GATEWAY_APP = 'stunner-gateway';

/** Pod template annotation: the runtime's digest, so that a new runtime rolls the pods. */
export const ANNOTATION_RUNTIME_SHA = 'stunner.l7mp.io/runtime-sha256';
/** ConfigMap annotation that tells a reviewer which fields the pod fills in from Secrets. */
export const ANNOTATION_INJECTED = 'stunner.l7mp.io/injected-at-start';

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Why a label map is invalid, or []. */
export function labelProblems(labels: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || k.length > 316)
      problems.push(`label key "${k}" is not a valid Kubernetes label key`);
    if (!LABEL_VALUE.test(v) || v.length > 63)
      problems.push(`label ${k}: value "${v}" is not a valid label value`);
  }
  return problems;
}
