/**
 * The manifest audit (manifest-audit.ts) over every file of the committed dist/, over a fresh
 * in-process synth of this checkout's charts (what dist/ becomes at the next `npm run synth`), and
 * over planted violations: one per rule, each of which must turn that rule red.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLayout } from '../../charts-ts/app.js';
import {
  type AuditObject,
  auditManifests,
  type Finding,
  loadDirectory,
  RULES,
  RUNTIME_API_CALLS,
  type Rule,
} from './manifest-audit.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');

/** The charts of this checkout, synthesized in memory: `<cluster>/<chart>.k8s.yaml` per chart. */
function freshSynth(): AuditObject[] {
  const layout = createLayout({ outdir: join(ROOT, '.unused-outdir'), onWarning: () => {} });
  const apps = [
    ...layout.clusters.map((c) => [c.name, layout.appOf(c)] as const),
    [layout.argocdDirectory, layout.argocd] as const,
  ];
  const out: AuditObject[] = [];
  for (const [cluster, app] of apps)
    for (const chart of app.charts)
      for (const manifest of chart.toJson())
        out.push({ file: `${cluster}/${chart.node.id}.k8s.yaml`, cluster, manifest });
  return out;
}

const of = (findings: Finding[], rule: Rule) =>
  findings.filter((f) => f.rule === rule).map((f) => `${f.where}: ${f.message}`);

describe('manifest audit of the committed dist/', () => {
  const objects = loadDirectory(DIST);
  const findings = auditManifests(objects);

  it('reads every file of dist/', () => {
    const files = new Set(objects.map((o) => o.file));
    const walk = (rel: string): string[] =>
      readdirSync(join(DIST, rel)).flatMap((e) => {
        const r = rel ? `${rel}/${e}` : e;
        return statSync(join(DIST, r)).isDirectory() ? walk(r) : [r];
      });
    expect([...files].sort()).toEqual(walk('').sort());
  });

  it.each(RULES)('%s', (rule) => {
    expect(of(findings, rule)).toEqual([]);
  });
});

describe('manifest audit of a fresh synth of the charts', () => {
  const objects = freshSynth();
  const findings = auditManifests(objects);

  it('counts what it audits', () => {
    const kinds = (k: string) => objects.filter((o) => o.manifest.kind === k).length;
    const workloads = objects.filter((o) => ['Deployment', 'Job'].includes(o.manifest.kind)).length;
    // The figures of docs/SECURITY.md (notes/22-manifests.md).
    expect({ workloads, policies: kinds('NetworkPolicy'), namespaces: kinds('Namespace') }).toEqual({
      workloads: 26,
      policies: 36,
      namespaces: 9,
    });
  });

  it.each(RULES)('%s', (rule) => {
    expect(of(findings, rule)).toEqual([]);
  });
});

describe('the audit goes red on a planted violation of each rule', () => {
  const base = freshSynth();
  const before = auditManifests(base);

  /** A deep copy of the fresh synth with `plant` applied; the findings of `rule` it adds. */
  function planted(rule: Rule, plant: (objects: AuditObject[]) => void): string[] {
    const copy: AuditObject[] = structuredClone(base);
    plant(copy);
    const was = new Set(of(before, rule));
    return of(auditManifests(copy), rule).filter((f) => !was.has(f));
  }
  const find = (objects: AuditObject[], file: string, kind: string, name: string) => {
    const o = objects.find(
      (x) => x.file === file && x.manifest.kind === kind && x.manifest.metadata?.name === name,
    );
    if (o === undefined) throw new Error(`no ${kind} ${name} in ${file}`);
    return o.manifest;
  };
  const DIRECT = 'eu-west/direct-call.k8s.yaml';
  const JANUS = 'eu-west/janus.k8s.yaml';

  it('restricted: a pod of ours with a writable root filesystem, one that may run as root, a privileged namespace', () => {
    expect(
      planted('restricted', (o) => {
        find(
          o,
          DIRECT,
          'Deployment',
          'direct-call',
        ).spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      }),
    ).toEqual([
      expect.stringMatching(
        /Deployment direct-call\/direct-call: not restricted: .*root filesystem is writable/,
      ),
    ]);
    expect(
      planted('restricted', (o) => {
        const pod = find(o, DIRECT, 'Deployment', 'udp-gateway').spec.template.spec;
        pod.securityContext.runAsNonRoot = false;
        delete pod.containers[0].securityContext.runAsNonRoot;
      }),
    ).toEqual([
      expect.stringMatching(/udp-gateway: not restricted: container stunnerd: runAsNonRoot is not true/),
    ]);
    expect(
      planted('restricted', (o) => {
        find(o, DIRECT, 'Namespace', 'direct-call').metadata.labels['pod-security.kubernetes.io/enforce'] =
          'privileged';
      }),
    ).toEqual([expect.stringMatching(/Namespace direct-call: enforces privileged, not restricted/)]);
  });

  it('third-party: an exception that is not listed, a privileged third-party pod, its namespace not baseline', () => {
    const janus = (o: AuditObject[]) => find(o, JANUS, 'Deployment', 'janus').spec.template;
    expect(
      planted('third-party', (o) => {
        janus(o).metadata.annotations['stunner.l7mp.io/pod-security-exception'] = 'unlisted';
      }),
    ).toEqual([expect.stringMatching(/exception "unlisted" is not listed with its reason/)]);
    expect(
      planted('third-party', (o) => {
        janus(o).spec.containers[0].securityContext.privileged = true;
      }),
    ).toEqual([expect.stringMatching(/janus\/janus: not baseline: container janus: privileged/)]);
    expect(
      planted('third-party', (o) => {
        find(o, JANUS, 'Namespace', 'janus').metadata.labels['pod-security.kubernetes.io/enforce'] =
          'privileged';
      }),
    ).toEqual([expect.stringMatching(/in namespace janus, which enforces privileged, not baseline/)]);
  });

  it('default-deny: a namespace without its default-deny NetworkPolicy, or one that admits more than DNS', () => {
    expect(
      planted('default-deny', (o) => {
        o.splice(
          o.indexOf(o.find((x) => x.file === JANUS && x.manifest.metadata?.name === 'default-deny')!),
          1,
        );
      }),
    ).toEqual([expect.stringMatching(/Namespace janus: no default-deny NetworkPolicy/)]);
    expect(
      planted('default-deny', (o) => {
        find(o, DIRECT, 'NetworkPolicy', 'default-deny').spec.egress.push({
          ports: [{ protocol: 'TCP', port: 443 }],
        });
      }),
    ).toEqual([expect.stringMatching(/Namespace direct-call: no default-deny/)]);
  });

  it('network-policy: a workload whose NetworkPolicy is gone', () => {
    expect(
      planted('network-policy', (o) => {
        o.splice(
          o.indexOf(
            o.find(
              (x) =>
                x.file === JANUS &&
                x.manifest.kind === 'NetworkPolicy' &&
                x.manifest.metadata.name === 'janus-echo',
            )!,
          ),
          1,
        );
      }),
    ).toEqual([expect.stringMatching(/Deployment janus\/janus-echo: no NetworkPolicy of its own/)]);
  });

  it('digest: a catalogued default is excused only as its catalogue entry, never another tag of it', () => {
    expect(
      planted('digest', (o) => {
        const janus = find(o, 'eu-west/janus.k8s.yaml', 'Deployment', 'janus').spec.template.spec
          .containers[0];
        janus.image = `${janus.image}-other`;
      }),
    ).toHaveLength(1);
  });

  it('digest: an image by tag only', () => {
    expect(
      planted('digest', (o) => {
        find(o, DIRECT, 'Deployment', 'direct-call').spec.template.spec.containers[0].image =
          'docker.io/library/node:22';
      }),
    ).toEqual([
      expect.stringMatching(
        /direct-call: container direct-call: image docker.io\/library\/node:22 is not pinned/,
      ),
    ]);
  });

  it('rbac: a wildcard, a rule the runtime never calls, a role nobody binds', () => {
    const role = (o: AuditObject[]) => find(o, DIRECT, 'Role', 'direct-call-udp-gateway-watcher');
    expect(
      planted('rbac', (o) => {
        role(o).rules[0].verbs.push('*');
      }),
    ).toEqual([
      expect.stringMatching(/rules\[0\]\.verbs has a wildcard/),
      expect.stringMatching(/rules\[0\]: \* services is not called by the runtime/),
    ]);
    expect(
      planted('rbac', (o) => {
        role(o).rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
      }),
    ).toEqual([expect.stringMatching(/get secrets is not called by the runtime/)]);
    expect(
      planted('rbac', (o) => {
        role(o).metadata.name = 'renamed';
      }),
    ).toEqual([
      expect.stringMatching(/Role direct-call\/renamed: no binding uses this role/),
      expect.stringMatching(/binds Role direct-call-udp-gateway-watcher, which is not rendered here/),
    ]);
  });

  it('app-project: a cluster-scoped kind no cluster renders, a Namespace name none renders, the root in `default`', () => {
    const project = (o: AuditObject[]) => find(o, 'argocd/projects.k8s.yaml', 'AppProject', 'stunner');
    expect(
      planted('app-project', (o) => {
        project(o).spec.clusterResourceWhitelist.push({
          group: 'rbac.authorization.k8s.io',
          kind: 'ClusterRoleBinding',
        });
      }),
    ).toEqual([
      expect.stringMatching(
        /rbac.authorization.k8s.io\/ClusterRoleBinding: allows a cluster-scoped kind no cluster renders/,
      ),
    ]);
    expect(
      planted('app-project', (o) => {
        project(o).spec.clusterResourceWhitelist.push({ group: '', kind: 'Namespace', name: 'kube-*' });
      }),
    ).toEqual([
      expect.stringMatching(/core\/Namespace kube-\*: allows a cluster-scoped object no cluster renders/),
    ]);
    expect(
      planted('app-project', (o) => {
        find(o, 'argocd/argocd.k8s.yaml', 'Application', 'root').spec.project = 'default';
      }),
    ).toEqual([expect.stringMatching(/Application argocd\/root: uses the unrestricted `default` project/)]);
  });
});

describe('RUNTIME_API_CALLS', () => {
  it("is exactly what the pods' Kubernetes clients call in runtime/ (list, then watch, by ListWatch)", () => {
    const calls = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          // Every API path in the code (comments aside): a ListWatch's collection, which it lists.
          const code = readFileSync(p, 'utf8')
            .split('\n')
            .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
            .join('\n');
          for (const m of code.matchAll(
            /[`'"]\/apis?\/(?:[\w.-]+\/)?v1\/(?:namespaces\/\$\{[^}]+\}\/)?([a-z]+)/g,
          ))
            calls.add(`list ${m[1]}`);
        }
      }
    };
    // tools/ (stunnerctl, turncat) runs on an operator's machine with their kubeconfig, never in a pod.
    for (const d of ['cluster-watch', 'ice', 'process']) walk(join(ROOT, 'runtime', d));
    const derived = [...calls].map((c) => {
      const [verb, resource] = c.split(' ') as [string, string];
      return `${resource} ${verb}`;
    });
    const listed = RUNTIME_API_CALLS.flatMap((c) =>
      c.verbs.filter((v) => v !== 'watch').map((v) => `${c.resource} ${v}`),
    );
    expect(derived.sort()).toEqual(listed.sort());
    // Every list is a ListWatch's, which then watches: the only other verb listed.
    expect(RUNTIME_API_CALLS.every((c) => c.verbs.join() === 'list,watch')).toBe(true);
  });
});
