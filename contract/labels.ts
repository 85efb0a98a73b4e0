/**
 * The labels and annotations the rendered objects carry, and the selectors that find them: the
 * constructs write them, `stunnerctl` and the manifest checks read them. Every `stunner.l7mp.io/`
 * and `app.kubernetes.io/` key is spelled here and only here.
 */

/** Kubernetes' recommended labels. */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The label every Namespace carries with its own name (namespace selectors match on it). */
export const LABEL_NAMESPACE_NAME = 'kubernetes.io/metadata.name';

/** STUNner's own labels, so that its tooling (and muscle memory) finds our objects. */
export const LABEL_GATEWAY_NAME = 'stunner.l7mp.io/related-gateway-name';
export const LABEL_GATEWAY_NAMESPACE = 'stunner.l7mp.io/related-gateway-namespace';

/** `app.kubernetes.io/managed-by` of everything we render. */
export const MANAGED_BY = 'cdk8s';
/** `app.kubernetes.io/name` of a gateway's objects. */
export const GATEWAY_APP = 'stunner-gateway';
/** `app.kubernetes.io/component` of a gateway's objects. */
export const GATEWAY_COMPONENT = 'gateway';

/** Pod template annotation: the runtime's digest, so that a new runtime rolls the pods. */
export const ANNOTATION_RUNTIME_SHA = 'stunner.l7mp.io/runtime-sha256';
/** Pod template annotation: a demo bundle's digest, so that a new server rolls the pods. */
export const ANNOTATION_DEMO_SHA = 'stunner.l7mp.io/demo-sha256';
/** ConfigMap annotation that tells a reviewer which fields the pod fills in from Secrets. */
export const ANNOTATION_INJECTED = 'stunner.l7mp.io/injected-at-start';
/**
 * Pod template annotation of a third-party pod that cannot be `restricted`: the id of its entry
 * in POD_SECURITY_EXCEPTIONS (constructs). Its namespace enforces `baseline`; the manifest audit
 * checks both.
 */
export const ANNOTATION_POD_SECURITY_EXCEPTION = 'stunner.l7mp.io/pod-security-exception';

/** One rendered app, by the values of Kubernetes' recommended labels. */
export interface AppLabelValues {
  /** `app.kubernetes.io/name`: the application (e.g. `stunner-gateway`, `janus`). */
  readonly name: string;
  /**
   * `app.kubernetes.io/instance`: this instance of it (usually its Deployment's name).
   * @default none: the label is left out
   */
  readonly instance?: string;
  /** `app.kubernetes.io/component`: its role in the whole (e.g. `gateway`, `demo`). */
  readonly component: string;
}

/** The labels that select an app instance's pods: name and instance. */
export function appSelectorLabels(app: {
  readonly name: string;
  readonly instance: string;
}): Record<string, string> {
  return { [LABEL_NAME]: app.name, [LABEL_INSTANCE]: app.instance };
}

/**
 * The recommended labels of an app's objects, managed-by ours. The key order (name, instance,
 * component, managed-by) is the order they render in.
 */
export function appLabels(app: AppLabelValues): Record<string, string> {
  return {
    [LABEL_NAME]: app.name,
    ...(app.instance !== undefined ? { [LABEL_INSTANCE]: app.instance } : {}),
    [LABEL_COMPONENT]: app.component,
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

/** The labels that select a gateway's pods (and its Service's endpoints). */
export function gatewaySelectorLabels(gatewayName: string): Record<string, string> {
  return appSelectorLabels({ name: GATEWAY_APP, instance: gatewayName });
}

/** The labels on every object of a gateway. */
export function gatewayLabels(gatewayName: string, namespace: string): Record<string, string> {
  return {
    ...appLabels({ name: GATEWAY_APP, instance: gatewayName, component: GATEWAY_COMPONENT }),
    [LABEL_GATEWAY_NAME]: gatewayName,
    [LABEL_GATEWAY_NAMESPACE]: namespace,
  };
}

/** A label selector in the API's string form: `key=value,key=value`. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Selects every gateway's objects (its dataplane ConfigMap among them), in any namespace. */
export const GATEWAY_LABEL_SELECTOR = labelSelector({
  [LABEL_NAME]: GATEWAY_APP,
  [LABEL_COMPONENT]: GATEWAY_COMPONENT,
});

/**
 * STUNner's own API, as its gateway operator's objects spell it: what `stunnerctl import` reads.
 * One object rather than `STUNNER_*` constants, so that code outside contract/ spells no `STUNNER_`.
 */
export const StunnerApi = {
  /** The API group of GatewayConfig, StaticService and STUNner's UDPRoute. */
  GROUP: 'stunner.l7mp.io',
  /** The GatewayClass controller name of STUNner's operator. */
  GATEWAY_CONTROLLER: 'stunner.l7mp.io/gateway-operator',
  /** The prefix of STUNner's annotations on Gateways and Services. */
  ANNOTATION_PREFIX: 'stunner.l7mp.io/',
} as const;
