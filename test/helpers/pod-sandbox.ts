/**
 * Reproduces a synthesized pod on this machine: materializes its volumes (ConfigMaps from the
 * manifests, Secrets from the manifests or the test, emptyDirs) below a temporary directory that
 * stands in for the container's working directory, and returns the container's own command, args
 * and env. Downward API values are supplied by the test (e.g. a loopback address as the pod IP).
 * The stock Node.js image's `node` is that image's release here too (bench/pod-node.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ensurePodNode, POD_NODE } from '../../bench/pod-node.js';
import { NODE_IMAGE } from '../../contract/pod-layout.js';
import type { Manifest } from '../constructs/helpers.js';

export interface SandboxOptions {
  /** Stands in for the container's working directory. */
  readonly dir: string;
  /** Downward API `status.podIP`. */
  readonly podIP: string;
  /** Contents of Secrets the manifests reference but do not contain (created out of band). */
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The workload's kind: a Deployment's pod, or a Job's (the PostSync smoke test). @default 'Deployment' */
  readonly kind?: 'Deployment' | 'Job';
}

export interface Sandbox {
  readonly cwd: string;
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  /** Where each volume landed, by volume name. */
  readonly mounts: Record<string, string>;
  /** Mounts outside the working directory, which this sandbox did not materialize. */
  readonly outside: readonly { readonly name: string; readonly mountPath: string }[];
}

export function materializePod(objects: Manifest[], deployment: string, o: SandboxOptions): Sandbox {
  const kind = o.kind ?? 'Deployment';
  const d = objects.find((x) => x.kind === kind && x.metadata.name === deployment);
  if (!d) throw new Error(`no ${kind} ${deployment}`);
  const ns: string = d.metadata.namespace;
  const byName = (kind: string, name: string) =>
    objects.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === ns);
  return materializePodSpec(d.spec.template.spec, { name: `${deployment}-0`, namespace: ns }, byName, o);
}

/** An object a pod's volume names (ConfigMap or Secret), from the manifests or an apiserver. */
export type VolumeSource = (kind: 'ConfigMap' | 'Secret', name: string) => Manifest | undefined;

/**
 * The same for a pod spec as it stands (a Deployment's template, or a Pod read from an
 * apiserver), its ConfigMaps and Secrets found through `lookup`. Volumes outside the working
 * directory are left to the caller (`Sandbox.outside`).
 */
export function materializePodSpec(
  pod: any,
  meta: { readonly name: string; readonly namespace: string; readonly nodeName?: string },
  lookup: VolumeSource,
  o: SandboxOptions,
): Sandbox {
  const c = pod.containers[0];
  const workdir: string = c.workingDir;
  const mounts: Record<string, string> = {};
  const outside: { name: string; mountPath: string }[] = [];
  for (const m of c.volumeMounts ?? []) {
    const rel = relative(workdir, m.mountPath);
    if (rel.startsWith('..')) {
      outside.push({ name: m.name, mountPath: m.mountPath });
      continue; // outside the working directory (e.g. /tmp): the host's serves, or the caller's
    }
    const target = join(o.dir, rel);
    mkdirSync(target, { recursive: true });
    mounts[m.name] = target;
    const v = pod.volumes.find((x: { name: string }) => x.name === m.name);
    if (v.configMap) {
      const cm = lookup('ConfigMap', v.configMap.name);
      if (!cm) throw new Error(`volume ${m.name}: no ConfigMap ${v.configMap.name} in the manifests`);
      for (const [k, val] of Object.entries<string>(cm.data ?? {})) writeFileSync(join(target, k), val);
      for (const [k, val] of Object.entries<string>(cm.binaryData ?? {}))
        writeFileSync(join(target, k), Buffer.from(val, 'base64'));
    } else if (v.projected) {
      for (const src of v.projected.sources) {
        if (src.configMap) {
          const cm = lookup('ConfigMap', src.configMap.name);
          if (!cm) throw new Error(`volume ${m.name}: no ConfigMap ${src.configMap.name} in the manifests`);
          const items: { key: string; path: string }[] =
            src.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
          for (const item of items) {
            const val = cm.data?.[item.key];
            if (val === undefined) throw new Error(`ConfigMap ${src.configMap.name} has no key ${item.key}`);
            mkdirSync(dirname(join(target, item.path)), { recursive: true });
            writeFileSync(join(target, item.path), val);
          }
          continue;
        }
        const s = src.secret;
        if (!s)
          throw new Error(
            `volume ${m.name}: only Secret and ConfigMap sources are supported in a projected volume`,
          );
        const inManifests = lookup('Secret', s.name);
        const data: Record<string, string> | undefined = inManifests
          ? { ...inManifests.stringData, ...decode(inManifests.data) }
          : o.secrets?.[s.name];
        if (!data)
          throw new Error(`volume ${m.name}: Secret ${s.name} is neither in the manifests nor given`);
        for (const item of s.items) {
          if (data[item.key] === undefined) throw new Error(`Secret ${s.name} has no key ${item.key}`);
          mkdirSync(dirname(join(target, item.path)), { recursive: true });
          writeFileSync(join(target, item.path), data[item.key]!);
        }
      }
    } else if (v.secret) {
      const sec = lookup('Secret', v.secret.secretName);
      const data: Record<string, string> | undefined = sec
        ? { ...sec.stringData, ...decode(sec.data) }
        : o.secrets?.[v.secret.secretName];
      if (!data)
        throw new Error(
          `volume ${m.name}: Secret ${v.secret.secretName} is neither in the manifests nor given`,
        );
      const items: { key: string; path: string }[] =
        v.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (data[item.key] === undefined)
          throw new Error(`Secret ${v.secret.secretName} has no key ${item.key}`);
        mkdirSync(dirname(join(target, item.path)), { recursive: true });
        writeFileSync(join(target, item.path), data[item.key]!);
      }
    } else if (!v.emptyDir) {
      throw new Error(`volume ${m.name}: unsupported volume type`);
    }
  }

  const fields: Record<string, string> = {
    'status.podIP': o.podIP,
    'metadata.name': meta.name,
    'metadata.namespace': meta.namespace,
    'spec.nodeName': meta.nodeName ?? 'node-1',
  };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) env[e.name] = fields[e.valueFrom.fieldRef.fieldPath]!;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const sec = lookup('Secret', ref.name);
      const data = sec ? { ...sec.stringData, ...decode(sec.data) } : o.secrets?.[ref.name];
      const v = data?.[ref.key];
      if (v === undefined && !ref.optional)
        throw new Error(`env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
      if (v !== undefined) env[e.name] = v;
    }
  }
  const [command, ...rest] = [...c.command, ...(c.args ?? [])];
  return { cwd: o.dir, command: imageCommand(c.image, command), args: rest, env, mounts, outside };
}

/**
 * A container's command as this machine runs it: the stock Node.js image's `node` is that
 * image's Node.js release (installed on first use); anything else runs as it is.
 */
export function imageCommand(image: string, command: string): string {
  if (image !== NODE_IMAGE || command !== 'node') return command;
  const why = ensurePodNode();
  if (why) throw new Error(`cannot run ${NODE_IMAGE}'s node here: ${why}`);
  return POD_NODE;
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}
