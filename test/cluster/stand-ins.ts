/**
 * Stand-ins for the controllers a real cluster runs next to ours, which report status that Argo
 * CD's health checks read: the cloud's load-balancer controller (a LoadBalancer Service's and an
 * Ingress's address), External Secrets (an ExternalSecret Ready, its target Secret made) and
 * cert-manager (a Certificate Ready, its Secret made). They only write status and the Secrets
 * those operators would own; they never touch our objects' specs.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { sleep } from '../helpers/wait.js';
import { CLUSTER_BIN, type ControlPlane } from './control-plane.js';
import type { Obj } from './dist.js';

/** The cloud's load-balancer controller, once: a LoadBalancer Service's address (reported, never sent to). */
export function setLoadBalancer(cp: ControlPlane, namespace: string, service: string, ip: string): void {
  cp.kubectlOk([
    '-n',
    namespace,
    'patch',
    'service',
    service,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { loadBalancer: { ingress: [{ ip }] } } }),
  ]);
}

export interface StandIns {
  stop(): Promise<void>;
}

/** kubectl without blocking the event loop (the kubelet stand-in shares it). */
const kubectl = (cp: ControlPlane, args: readonly string[], input?: string) =>
  new Promise<{ ok: boolean; stdout: string }>((resolve) => {
    const child = execFile(
      join(CLUSTER_BIN, 'kubectl'),
      [`--kubeconfig=${cp.adminKubeconfig}`, ...args],
      { timeout: 15_000, maxBuffer: 64 << 20 },
      (err, stdout) => resolve({ ok: !err, stdout }),
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });

const list = async (cp: ControlPlane, kind: string): Promise<Obj[]> => {
  const r = await kubectl(cp, ['get', kind, '-A', '-o', 'json']);
  return r.ok ? JSON.parse(r.stdout).items : [];
};

const patchStatus = (cp: ControlPlane, kind: string, o: Obj, status: Obj) =>
  kubectl(cp, [
    '-n',
    o.metadata.namespace,
    'patch',
    kind,
    o.metadata.name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);

const ready = (reason: string) => ({
  conditions: [
    { type: 'Ready', status: 'True', reason, message: reason, lastTransitionTime: new Date().toISOString() },
  ],
});

async function ensureSecret(
  cp: ControlPlane,
  namespace: string,
  name: string,
  data: Record<string, string>,
  type = 'Opaque',
) {
  if ((await kubectl(cp, ['-n', namespace, 'get', 'secret', name])).ok) return;
  await kubectl(
    cp,
    ['apply', '--server-side', '--field-manager=stand-in-operator', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type,
      metadata: { name, namespace },
      stringData: data,
    }),
  );
}

/** One pass over the cluster; returns what it set, for a test's log. */
export async function settleStatus(cp: ControlPlane, loadBalancerIP: string): Promise<string[]> {
  const did: string[] = [];
  for (const svc of await list(cp, 'services')) {
    if (svc.spec.type !== 'LoadBalancer' || svc.status?.loadBalancer?.ingress?.length) continue;
    await patchStatus(cp, 'service', svc, { loadBalancer: { ingress: [{ ip: loadBalancerIP }] } });
    did.push(`Service ${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  for (const ing of await list(cp, 'ingresses.networking.k8s.io')) {
    if (ing.status?.loadBalancer?.ingress?.length) continue;
    await patchStatus(cp, 'ingress', ing, { loadBalancer: { ingress: [{ ip: loadBalancerIP }] } });
    did.push(`Ingress ${ing.metadata.namespace}/${ing.metadata.name}`);
  }
  for (const es of await list(cp, 'externalsecrets.external-secrets.io')) {
    if (es.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')) continue;
    const data = Object.fromEntries(
      (es.spec.data ?? []).map((d: Obj) => [d.secretKey, `stand-in-${d.remoteRef?.property ?? d.secretKey}`]),
    );
    await ensureSecret(cp, es.metadata.namespace, es.spec.target?.name ?? es.metadata.name, data);
    await patchStatus(cp, 'externalsecrets.external-secrets.io', es, ready('SecretSynced'));
    did.push(`ExternalSecret ${es.metadata.namespace}/${es.metadata.name}`);
  }
  for (const cert of await list(cp, 'certificates.cert-manager.io')) {
    if (cert.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True')) continue;
    await ensureSecret(
      cp,
      cert.metadata.namespace,
      cert.spec.secretName,
      { 'tls.crt': '', 'tls.key': '' },
      'kubernetes.io/tls',
    );
    await patchStatus(cp, 'certificates.cert-manager.io', cert, ready('Ready'));
    did.push(`Certificate ${cert.metadata.namespace}/${cert.metadata.name}`);
  }
  return did;
}

/** Runs `settleStatus` every `periodMs` until stopped. */
export function startStandIns(cp: ControlPlane, loadBalancerIP: string, periodMs = 2000): StandIns {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await settleStatus(cp, loadBalancerIP);
      await sleep(periodMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
