/**
 * Who may ask the ICE auth services of the committed charts (charts-ts) for TURN credentials:
 * only the callers each chart names, never any source. Each admitted pod selector must select
 * a pod that the chart renders, so that a renamed page server cannot leave its caller locked out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { createLayout } from '../../charts-ts/app.js';
import { CLOUDRETRO_EU_WEST_EGRESS_CIDR } from '../../charts-ts/cloudretro-chart.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string }; spec?: any };

const out = mkdtempSync(join(tmpdir(), 'ice-callers-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every chart of every cluster with its objects, as `<cluster>/<chart>`. */
function charts(): Map<string, Obj[]> {
  const layout = createLayout({ outdir: out });
  const all = new Map<string, Obj[]>();
  layout.clusters.forEach((cluster, i) => {
    for (const c of layout.clusterApps[i]!.charts) all.set(`${cluster.name}/${c.node.id}`, Testing.synth(c));
  });
  return all;
}

describe('ICE auth services of the committed charts', () => {
  const all = charts();
  const policies = [...all].flatMap(([chart, objs]) =>
    objs
      .filter(
        (o) =>
          o.kind === 'NetworkPolicy' &&
          o.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'stunner-auth',
      )
      .map((p) => ({ chart, policy: p, objs })),
  );

  it('exist in the five charts that run one', () => {
    expect(policies.map((p) => p.chart).sort()).toEqual([
      'eu-west/cloudretro',
      'eu-west/direct-call',
      'eu-west/janus',
      'eu-west/mediasoup',
      'us-east/cloudretro',
    ]);
  });

  it('admit only named callers: every ingress rule has peers, none of them any source', () => {
    for (const { chart, policy } of policies) {
      const ingress = policy.spec.ingress as { from?: object[] }[];
      expect(ingress.length, chart).toBeGreaterThan(0);
      for (const rule of ingress) {
        expect(rule.from?.length ?? 0, `${chart}: a rule without peers admits any source`).toBeGreaterThan(0);
        for (const peer of rule.from as { ipBlock?: { cidr: string }; podSelector?: any }[]) {
          expect(['0.0.0.0/0', '::/0'], chart).not.toContain(peer.ipBlock?.cidr);
          if (peer.podSelector !== undefined)
            expect(
              Object.keys(peer.podSelector.matchLabels ?? {}).length,
              `${chart}: every pod`,
            ).toBeGreaterThan(0);
        }
      }
    }
  });

  it('name pods the chart renders: the page servers, the coordinator; us-east admits eu-west', () => {
    const admitted: Record<string, string[]> = {};
    for (const { chart, policy, objs } of policies) {
      const names: string[] = [];
      for (const peer of policy.spec.ingress.flatMap((r: { from: any[] }) => r.from)) {
        if (peer.ipBlock !== undefined) {
          names.push(`ipBlock ${peer.ipBlock.cidr}`);
          continue;
        }
        const pods = objs.filter(
          (o) =>
            o.kind === 'Deployment' && selects(peer.podSelector.matchLabels, o.spec.template.metadata.labels),
        );
        expect(pods.length, `${chart}: ${JSON.stringify(peer)} selects no pod`).toBeGreaterThan(0);
        names.push(...pods.map((d) => d.metadata.name));
      }
      admitted[chart] = names;
    }
    expect(admitted).toEqual({
      'eu-west/direct-call': ['direct-call'],
      'eu-west/janus': ['janus-echo'],
      'eu-west/mediasoup': ['mediasoup-landing'],
      'eu-west/cloudretro': ['coordinator-deployment'],
      'us-east/cloudretro': [`ipBlock ${CLOUDRETRO_EU_WEST_EGRESS_CIDR}`],
    });
  });
});
