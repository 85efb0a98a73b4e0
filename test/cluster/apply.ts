/** Applying dist/ to a test cluster as an Argo CD sync does: CRDs first, then server-side, in order. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.js';
import { CRD_DIR, type DistObject, ref, toYaml } from './dist.js';

export const FIELD_MANAGER = 'argocd-controller';

/** Installs the published CRDs that scripts/fetch-crds.sh fetched, and waits until they serve. */
export function installCrds(cp: ControlPlane): void {
  const files = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'));
  if (files.length === 0) throw new Error(`no CRDs in ${CRD_DIR}: run scripts/fetch-crds.sh`);
  for (const f of files) cp.kubectlOk(['apply', '--server-side', '-f', join(CRD_DIR, f)]);
  cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
}

/** Applies objects server-side as Argo CD's sync would, one wave at a time; returns failures. */
export function applyInOrder(cp: ControlPlane, objs: readonly DistObject[]): string[] {
  const failures: string[] = [];
  for (const o of objs) {
    const r = cp.kubectl(
      [
        'apply',
        '--server-side',
        `--field-manager=${FIELD_MANAGER}`,
        '--force-conflicts',
        '--validate=strict',
        '-f',
        '-',
      ],
      { input: toYaml([o.obj]) },
    );
    if (r.status !== 0) failures.push(`${o.file} ${ref(o.obj)}: ${r.stderr.trim()}`);
  }
  return failures;
}

/**
 * One committed chart synced into `cp` as a first Argo CD sync would: its Namespace, then the
 * Secrets the chart's docs say to create out of band, then every Sync-phase object in order.
 * Returns the chart's objects (its hooks among them, not applied); throws on any refusal.
 */
export function syncChart(
  cp: ControlPlane,
  objs: readonly DistObject[],
  namespace: string,
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>,
): void {
  const fail = (what: string, failures: string[]) => {
    if (failures.length > 0) throw new Error(`${what}: ${failures.join('\n')}`);
  };
  fail(
    'Namespace',
    applyInOrder(
      cp,
      objs.filter((o) => o.obj.kind === 'Namespace'),
    ),
  );
  for (const [name, data] of Object.entries(secrets))
    cp.kubectlOk([
      '-n',
      namespace,
      'create',
      'secret',
      'generic',
      name,
      ...Object.entries(data).map(([k, v]) => `--from-literal=${k}=${v}`),
    ]);
  fail(
    'sync',
    applyInOrder(
      cp,
      objs.filter((o) => o.phase === 'Sync' && o.obj.kind !== 'Namespace'),
    ),
  );
}

/** Whether a Deployment has at least one available replica (poll it: never a blocking `kubectl wait`). */
export function deploymentAvailable(cp: ControlPlane, namespace: string, name: string): boolean {
  const r = cp.kubectl([
    '-n',
    namespace,
    'get',
    'deployment',
    name,
    '-o',
    'jsonpath={.status.availableReplicas}',
  ]);
  return r.status === 0 && Number(r.stdout || 0) >= 1;
}
