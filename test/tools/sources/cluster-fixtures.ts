/** Objects as the constructs render them, for the Kubernetes API test double. */
import type { K8sApiDouble, K8sObject } from '../../helpers/k8s-api-double.js';

const labels = (namespace: string, gateway: string) => ({
  'app.kubernetes.io/name': 'stunner-gateway',
  'app.kubernetes.io/component': 'gateway',
  'app.kubernetes.io/instance': gateway,
  'stunner.l7mp.io/related-gateway-name': gateway,
  'stunner.l7mp.io/related-gateway-namespace': namespace,
});

export function gatewayConfigMap(
  namespace: string,
  gateway: string,
  opts: { secret: string; nodePortOnly: boolean; tlsSecret?: string },
): K8sObject {
  const config = {
    version: 'v1',
    admin: { name: `${namespace}/${gateway}`, healthcheck_endpoint: 'http://:8086' },
    auth: { type: 'static', realm: 'stunner.l7mp.io', credentials: {} },
    listeners: [
      {
        name: `${namespace}/${gateway}/udp`,
        protocol: 'TURN-UDP',
        address: '$STUNNER_ADDR',
        port: 3478,
        routes: [`${namespace}/media`],
      },
      // The cert/key the pod injects from the Secret: never in the ConfigMap.
      ...(opts.tlsSecret !== undefined
        ? [
            {
              name: `${namespace}/${gateway}/tls`,
              protocol: 'TURN-TLS',
              address: '$STUNNER_ADDR',
              port: 443,
              routes: [`${namespace}/media`],
            },
          ]
        : []),
    ],
    clusters: [{ name: `${namespace}/media`, type: 'STATIC', protocol: 'UDP', endpoints: ['10.1.0.0/16'] }],
  };
  return {
    metadata: {
      name: `${gateway}-config`,
      namespace,
      labels: labels(namespace, gateway),
      annotations: {
        'stunner.l7mp.io/injected-at-start': `auth.credentials from Secret ${opts.secret}${
          opts.tlsSecret !== undefined ? `; cert/key of listener tls from Secret ${opts.tlsSecret}` : ''
        }`,
      },
    } as K8sObject['metadata'],
    data: { 'stunnerd.conf': JSON.stringify(config, null, 2) },
  };
}

export function gatewayPod(
  namespace: string,
  gateway: string,
  name: string,
  ip: string,
  nodeName: string,
): K8sObject {
  return {
    metadata: { name, namespace, labels: labels(namespace, gateway) },
    spec: { nodeName, containers: [{ name: 'stunnerd', image: 'x' }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function kubeconfigFor(api: K8sApiDouble): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: double
    cluster: {server: "${api.url}", insecure-skip-tls-verify: true}
users:
  - name: tester
    user: {token: ${api.token}}
contexts:
  - name: double
    context: {cluster: double, user: tester}
current-context: double
`;
}
