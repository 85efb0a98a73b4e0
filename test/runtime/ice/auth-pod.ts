/**
 * Reproduces the synthesized IceAuthService pod on this machine: writes what the kubelet would
 * mount (runtime ConfigMap, projected gateway configs and credentials Secrets, emptyDirs) below a
 * temporary directory standing in for the container's working directory, and returns the
 * container's own command (the image's Node.js release for `node`) and args.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { imageCommand } from '../../helpers/pod-sandbox.js';

// Manifests are plain JSON.
type Obj = any;

export interface AuthPod {
  readonly cwd: string;
  readonly command: string;
  readonly args: string[];
}

/**
 * @param secrets contents of Secrets the manifests reference but do not hold (created out of band)
 */
export async function materializeAuthPod(
  objects: Obj[],
  deployment: string,
  dir: string,
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Promise<AuthPod> {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment);
  if (!d) throw new Error(`no Deployment ${deployment}`);
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  const get = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`${kind} ${name} is not in the manifests`);
    return o;
  };
  for (const m of c.volumeMounts) {
    const rel = relative(c.workingDir, m.mountPath);
    if (rel.startsWith('..')) continue; // e.g. /tmp: the host's serves
    const target = join(dir, rel);
    const put = async (path: string, data: Buffer) => {
      await mkdir(dirname(join(target, path)), { recursive: true });
      await writeFile(join(target, path), data);
    };
    await mkdir(target, { recursive: true });
    const v = pod.volumes.find((x: Obj) => x.name === m.name);
    if (v.configMap) {
      const cm = get('ConfigMap', v.configMap.name);
      for (const [k, val] of Object.entries<string>(cm.data ?? {})) await put(k, Buffer.from(val));
      for (const [k, val] of Object.entries<string>(cm.binaryData ?? {}))
        await put(k, Buffer.from(val, 'base64'));
    }
    // A plain Secret volume (e.g. the API key): from the manifests or given out of band.
    if (v.secret) {
      const inManifests = objects.find((x) => x.kind === 'Secret' && x.metadata.name === v.secret.secretName);
      const data: Record<string, string> | undefined =
        inManifests?.stringData ?? secrets[v.secret.secretName];
      if (data === undefined)
        throw new Error(`Secret ${v.secret.secretName} is neither in the manifests nor given`);
      for (const item of v.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
        if (data[item.key] === undefined)
          throw new Error(`Secret ${v.secret.secretName} has no key ${item.key}`);
        await put(item.path, Buffer.from(data[item.key]!));
      }
    }
    for (const src of v.projected?.sources ?? []) {
      if (src.configMap) {
        const cm = get('ConfigMap', src.configMap.name);
        for (const item of src.configMap.items) await put(item.path, Buffer.from(cm.data[item.key]));
      }
      if (src.secret) {
        const inManifests = objects.find((x) => x.kind === 'Secret' && x.metadata.name === src.secret.name);
        const data: Record<string, string> | undefined = inManifests?.stringData ?? secrets[src.secret.name];
        if (data === undefined)
          throw new Error(`Secret ${src.secret.name} is neither in the manifests nor given`);
        for (const item of src.secret.items) {
          if (data[item.key] === undefined)
            throw new Error(`Secret ${src.secret.name} has no key ${item.key}`);
          await put(item.path, Buffer.from(data[item.key]!));
        }
      }
    }
  }
  const [command, ...args] = [...c.command, ...c.args];
  return { cwd: dir, command: imageCommand(c.image, command!), args };
}
