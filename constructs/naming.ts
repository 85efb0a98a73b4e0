/** The namespace a construct renders into. */
import { Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';

// The names and checks themselves are the contract's. These re-exports serve the files that still
// import them from here (constructs/stunner-gateway.ts, constructs/gateway/); import from
// contract/labels.ts and contract/checks.ts instead.
export { dns1035Problem, dns1123Problem } from '../contract/checks.js';
export {
  ANNOTATION_INJECTED,
  ANNOTATION_RUNTIME_SHA,
  GATEWAY_APP,
  LABEL_COMPONENT,
  LABEL_GATEWAY_NAME,
  LABEL_GATEWAY_NAMESPACE,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
} from '../contract/labels.js';

/** The namespace of a construct without one of its own: the chart's, else "default". */
export function chartNamespace(scope: IConstruct): string {
  return Chart.of(scope).namespace ?? 'default';
}
