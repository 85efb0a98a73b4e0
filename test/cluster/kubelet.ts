/**
 * A kubelet stand-in, so that the real controllers of ./control-plane.ts do their work:
 * - registers a Node, with an InternalIP and an ExternalIP (the NodePort fallback reads it);
 * - binds pending pods to that Node (there is no scheduler);
 * - for each bound pod, does what the test's policy says: `run` its container as the pod would
 *   (the committed bundle from its ConfigMap, through test/helpers/pod-sandbox.ts), with a pod
 *   IP of its own in the cluster's network namespace, its ServiceAccount's token requested
 *   through TokenRequest and bound to the pod, mounted where client libraries look for it, and
 *   Ready taken from the pod's own readiness probe; or mark it `ready` with an IP and no process
 *   (a backend whose address is all a test needs); or leave it `pending` (asked again on every
 *   pass, so a test can hold a pod until what it needs exists);
 * - when a pod is deleted, sends SIGTERM, waits for the grace period (at most 30 s here), then
 *   SIGKILL, and removes the pod as a kubelet does;
 * - a Job's pod that exits ends Succeeded or Failed, so the job controller can finish the Job;
 * - with `syncConfigMaps`, a changed ConfigMap reaches the running pods that mount it, each file
 *   replaced by a rename as a kubelet's `..data` swap does (a kubelet takes up to its sync period,
 *   about a minute; this one about a second).
 *
 * Cluster DNS: a pod's /etc/hosts (in a mount namespace of its own) maps every Service name to
 * the address of its first ready endpoint, since there is no kube-proxy to serve ClusterIPs.
 * KUBERNETES_SERVICE_HOST points at the apiserver itself for the same reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, type V1Pod } from '@kubernetes/client-node';
import { materializePodSpec } from '../helpers/pod-sandbox.js';
import { type ControlPlane, stopChild } from './control-plane.js';

export type PodMode = 'run' | 'ready' | 'pending';

export interface KubeletOptions {
  readonly nodeName?: string;
  /** What to do with a bound pod. @default 'pending' */
  readonly policy?: (pod: V1Pod) => PodMode;
  /** Extra args for a pod that is run, by pod (e.g. a flag a real cluster passes otherwise). */
  readonly extraArgs?: (pod: V1Pod) => readonly string[];
  /** The Node's ExternalIP, reported only (never sent to). @default '203.0.113.10' */
  readonly externalIP?: string;
  /** Which container of a pod that is run (a sidecar among initContainers too). @default the first */
  readonly container?: (pod: V1Pod) => string | undefined;
  /**
   * The argv to run instead of a container whose image cannot run here (a third-party demo
   * image); the pod's env, IP, volumes and /etc/hosts stay as they are.
   */
  readonly standIn?: (pod: V1Pod) => readonly string[] | undefined;
  /** Replaces or adds env values of a pod that is run. */
  readonly env?: (pod: V1Pod) => Readonly<Record<string, string>>;
  /** Whether a changed ConfigMap reaches running pods' volumes. @default false (mounted once) */
  readonly syncConfigMaps?: boolean;
  /** Names outside the cluster (name -> address) in the /etc/hosts of a pod that starts now. */
  readonly extraHosts?: () => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
}

export interface RunningPodProc {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly child: ChildProcess;
  output(): string;
}

export interface Kubelet {
  readonly nodeName: string;
  /** Pods whose process runs here, by `namespace/name`. */
  readonly running: ReadonlyMap<string, RunningPodProc>;
  /** Pod IPs handed out, by `namespace/name`. */
  readonly ips: ReadonlyMap<string, string>;
  /** Problems the stand-in met (a pod it could not run, a status it could not write). */
  readonly errors: string[];
  stop(): Promise<void>;
}

interface Tracked {
  mode: PodMode;
  ip?: string;
  proc?: RunningPodProc & {
    dir: string;
    out: string[];
    ready: boolean;
    exited?: number | null;
    /** Re-reads the pod's ConfigMaps and replaces the files that changed. */
    syncConfigMaps: () => Promise<void>;
  };
  deleting?: boolean;
  finished?: boolean;
}

const key = (p: V1Pod) => `${p.metadata!.namespace}/${p.metadata!.name}`;

/** Every file under `from` that differs under `to` replaces it by a rename (dot-files are the stand-in's own). */
function replaceChanged(from: string, to: string): void {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) {
      if (existsSync(dst)) replaceChanged(src, dst);
      continue;
    }
    const next = readFileSync(src);
    if (existsSync(dst) && readFileSync(dst).equals(next)) continue;
    writeFileSync(`${dst}.tmp`, next);
    renameSync(`${dst}.tmp`, dst);
  }
}

export async function startKubelet(cp: ControlPlane, o: KubeletOptions = {}): Promise<Kubelet> {
  const nodeName = o.nodeName ?? 'node-1';
  const kc = cp.adminConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const policy = o.policy ?? (() => 'pending');
  const errors: string[] = [];
  const tracked = new Map<string, Tracked>();
  const running = new Map<string, RunningPodProc>();
  const ips = new Map<string, string>();

  await core.createNode({
    body: {
      metadata: {
        name: nodeName,
        labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux' },
      },
    },
  });
  // the ttl controller annotates new Nodes: retry on a conflict
  for (let attempt = 0; ; attempt++) {
    const node = await core.readNode({ name: nodeName });
    node.status = {
      addresses: [
        { type: 'InternalIP', address: cp.net.nodeIP },
        { type: 'ExternalIP', address: o.externalIP ?? '203.0.113.10' },
        { type: 'Hostname', address: nodeName },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'stand-in',
          lastHeartbeatTime: new Date(),
          lastTransitionTime: new Date(),
        },
      ],
      capacity: { cpu: '2', memory: '24Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
    };
    try {
      await core.replaceNodeStatus({ name: nodeName, body: node });
      break;
    } catch (e) {
      if (attempt >= 10) throw e;
    }
  }

  const setStatus = async (p: V1Pod, t: Tracked, phase: string, ready: boolean, exitCode?: number) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const cur = await core.readNamespacedPodStatus({
          name: p.metadata!.name!,
          namespace: p.metadata!.namespace!,
        });
        const now = new Date();
        const cond = (type: string, ok: boolean) => ({
          type,
          status: ok ? 'True' : 'False',
          lastTransitionTime: now,
        });
        cur.status = {
          phase,
          hostIP: cp.net.nodeIP,
          hostIPs: [{ ip: cp.net.nodeIP }],
          ...(t.ip ? { podIP: t.ip, podIPs: [{ ip: t.ip }] } : {}),
          startTime: cur.status?.startTime ?? now,
          conditions: [
            cond('PodScheduled', true),
            cond('Initialized', true),
            cond('ContainersReady', ready),
            cond('Ready', ready),
          ],
          containerStatuses: (cur.spec?.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready,
            started: phase === 'Running',
            restartCount: 0,
            state:
              exitCode !== undefined
                ? {
                    terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: now },
                  }
                : { running: { startedAt: now } },
          })),
        };
        await core.replaceNamespacedPodStatus({
          name: p.metadata!.name!,
          namespace: p.metadata!.namespace!,
          body: cur,
        });
        return;
      } catch (e) {
        if (attempt === 4) errors.push(`status of ${key(p)}: ${(e as Error).message}`);
      }
    }
  };

  const hostsFor = async (): Promise<string> => {
    const lines = ['127.0.0.1 localhost'];
    const slices = await discovery.listEndpointSliceForAllNamespaces();
    for (const s of slices.items) {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      const ns = s.metadata?.namespace;
      const ep = s.endpoints?.find((e) => e.conditions?.ready !== false);
      if (!svc || !ns || !ep) continue;
      lines.push(`${ep.addresses[0]} ${svc}.${ns}.svc.cluster.local ${svc}.${ns}.svc ${svc}.${ns}`);
    }
    for (const [name, ip] of Object.entries((await o.extraHosts?.()) ?? {})) lines.push(`${ip} ${name}`);
    return `${lines.join('\n')}\n`;
  };

  const run = async (p: V1Pod, t: Tracked) => {
    const ns = p.metadata!.namespace!;
    const name = p.metadata!.name!;
    const dir = mkdtempSync(join(tmpdir(), `pod-${name}-`));
    // the sandbox looks objects up synchronously: read every one the pod names first
    const cms = new Map<string, ReturnType<typeof JSON.parse>>();
    const secrets = new Map<string, ReturnType<typeof JSON.parse>>();
    const lookup = (kind: 'ConfigMap' | 'Secret', n: string) => (kind === 'ConfigMap' ? cms : secrets).get(n);
    for (const v of p.spec?.volumes ?? []) {
      if (v.secret?.secretName)
        secrets.set(
          v.secret.secretName,
          await core.readNamespacedSecret({ name: v.secret.secretName, namespace: ns }),
        );
      if (v.configMap)
        cms.set(
          v.configMap.name!,
          await core.readNamespacedConfigMap({ name: v.configMap.name!, namespace: ns }),
        );
      for (const s of v.projected?.sources ?? []) {
        if (s.configMap)
          cms.set(
            s.configMap.name!,
            await core.readNamespacedConfigMap({ name: s.configMap.name!, namespace: ns }),
          );
        if (s.secret)
          secrets.set(
            s.secret.name!,
            await core.readNamespacedSecret({ name: s.secret.name!, namespace: ns }),
          );
      }
    }
    for (const c of p.spec?.containers ?? [])
      for (const e of c.env ?? [])
        if (e.valueFrom?.secretKeyRef?.name)
          secrets.set(
            e.valueFrom.secretKeyRef.name,
            await core.readNamespacedSecret({ name: e.valueFrom.secretKeyRef.name, namespace: ns }),
          );
    // the service-account volume the admission plugin added is mounted by the kubelet, not the sandbox
    const saVolume = p.spec?.volumes?.find((v) => v.projected?.sources?.some((s) => s.serviceAccountToken));
    const want = o.container?.(p);
    const container = want
      ? [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].find((c) => c.name === want)
      : p.spec?.containers?.[0];
    if (!container) throw new Error(`no container ${want}`);
    const spec = JSON.parse(
      JSON.stringify({
        ...p.spec,
        containers: [container],
        volumes: p.spec?.volumes?.filter((v) => v !== saVolume),
      }),
    );
    for (const c of spec.containers)
      c.volumeMounts = (c.volumeMounts ?? []).filter((m: { name: string }) => m.name !== saVolume?.name);
    const sandbox = materializePodSpec(spec, { name, namespace: ns, nodeName }, lookup, {
      dir,
      podIP: t.ip!,
    });
    const saDir = join(dir, '.serviceaccount');
    mkdirSync(saDir);
    if (saVolume) {
      const token = cp.token(ns, p.spec!.serviceAccountName ?? 'default', { name, uid: p.metadata!.uid! });
      const rootCa = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: ns });
      writeFileSync(join(saDir, 'token'), token);
      writeFileSync(join(saDir, 'ca.crt'), rootCa.data?.['ca.crt'] ?? '');
      writeFileSync(join(saDir, 'namespace'), ns);
    }
    writeFileSync(join(dir, '.hosts'), await hostsFor());
    const setup = [
      'mount --bind "$0/.hosts" /etc/hosts',
      // the token where client libraries look for it; a tmpfs /run hides nothing a pod needs
      'mount -t tmpfs -o size=1m tmpfs /run',
      'mkdir -p /run/secrets/kubernetes.io/serviceaccount',
      'mount --bind "$0/.serviceaccount" /run/secrets/kubernetes.io/serviceaccount',
      'exec "$@"',
    ].join(' && ');
    const argv = [
      'ip',
      'netns',
      'exec',
      cp.net.ns,
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      setup,
      dir,
      ...(o.standIn?.(p) ?? [sandbox.command, ...sandbox.args, ...(o.extraArgs?.(p) ?? [])]),
    ];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        KUBERNETES_SERVICE_HOST: cp.net.nodeIP,
        KUBERNETES_SERVICE_PORT: '6443',
        ...sandbox.env,
        ...o.env?.(p),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const keep = (b: Buffer) => {
      out.push(b.toString());
      if (out.length > 2000) out.splice(0, 1000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => out.push(`spawn: ${e.message}`));
    const versions = new Map([...cms].map(([n, cm]) => [n, cm.metadata?.resourceVersion]));
    const syncConfigMaps = async () => {
      let changed = false;
      for (const n of cms.keys()) {
        const cm = await core.readNamespacedConfigMap({ name: n, namespace: ns }).catch(() => undefined);
        if (!cm || cm.metadata?.resourceVersion === versions.get(n)) continue;
        cms.set(n, cm);
        versions.set(n, cm.metadata?.resourceVersion);
        changed = true;
      }
      if (!changed) return;
      const fresh = mkdtempSync(join(tmpdir(), `pod-${name}-update-`));
      try {
        materializePodSpec(spec, { name, namespace: ns, nodeName }, lookup, { dir: fresh, podIP: t.ip! });
        replaceChanged(fresh, dir);
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    };
    const proc: NonNullable<Tracked['proc']> = {
      namespace: ns,
      name,
      ip: t.ip!,
      child,
      dir,
      out,
      ready: false,
      output: () => out.join(''),
      syncConfigMaps,
    };
    t.proc = proc;
    running.set(key(p), proc);
    child.on('exit', (code) => {
      proc.exited = code;
    });
  };

  const probe = async (p: V1Pod, t: Tracked): Promise<boolean> => {
    const c = p.spec?.containers?.[0];
    const rp = c?.readinessProbe?.httpGet;
    if (!rp) return t.proc?.exited === undefined;
    const port =
      typeof rp.port === 'number'
        ? rp.port
        : (c?.ports?.find((x) => x.name === rp.port)?.containerPort ?? Number(rp.port));
    try {
      const r = await fetch(`http://${t.ip}:${port}${rp.path ?? '/'}`, { signal: AbortSignal.timeout(1000) });
      return r.status >= 200 && r.status < 400;
    } catch {
      return false;
    }
  };

  const finishDelete = async (p: V1Pod, t: Tracked) => {
    t.deleting = true;
    const proc = t.proc;
    if (proc)
      await stopChild(
        proc.child,
        'SIGTERM',
        Math.min(p.metadata?.deletionGracePeriodSeconds ?? 30, 30) * 1000,
      );
    if (proc) rmSync(proc.dir, { recursive: true, force: true });
    running.delete(key(p));
    if (t.ip) cp.net.release(t.ip);
    ips.delete(key(p));
    try {
      await core.deleteNamespacedPod({
        name: p.metadata!.name!,
        namespace: p.metadata!.namespace!,
        gracePeriodSeconds: 0,
      });
    } catch {
      // already gone
    }
    tracked.delete(key(p));
  };

  let stopped = false;
  let busy = false;
  let lastConfigSync = 0;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const pods = (await core.listPodForAllNamespaces()).items;
      const seen = new Set<string>();
      for (const p of pods) {
        const k = key(p);
        seen.add(k);
        let t = tracked.get(k);
        if (p.metadata?.deletionTimestamp) {
          if (t && !t.deleting) void finishDelete(p, t);
          else if (!t) {
            tracked.set(k, { mode: 'pending', deleting: true });
            void finishDelete(p, tracked.get(k)!);
          }
          continue;
        }
        if (!p.spec?.nodeName) {
          await core
            .createNamespacedBinding({
              namespace: p.metadata!.namespace!,
              body: { metadata: { name: p.metadata!.name! }, target: { kind: 'Node', name: nodeName } },
            })
            .catch((e) => errors.push(`binding ${k}: ${(e as Error).message}`));
          continue;
        }
        if (!t || (t.mode === 'pending' && !t.deleting)) {
          if (t) t.mode = policy(p);
          else {
            t = { mode: policy(p) };
            tracked.set(k, t);
          }
          if (t.mode === 'pending') continue;
          t.ip = cp.net.allocate();
          ips.set(k, t.ip);
          if (t.mode === 'ready') {
            await setStatus(p, t, 'Running', true);
            continue;
          }
          try {
            await run(p, t);
            await setStatus(p, t, 'Running', false);
          } catch (e) {
            errors.push(`run ${k}: ${(e as Error).message}`);
            await setStatus(p, t, 'Failed', false, 1);
            t.finished = true;
          }
          continue;
        }
        const proc = t.proc;
        if (t.mode !== 'run' || !proc || t.finished) continue;
        if (proc.exited !== undefined) {
          // a Job's pod ends; a Deployment's pod that exits is reported failed and stays so
          t.finished = true;
          await setStatus(p, t, proc.exited === 0 ? 'Succeeded' : 'Failed', false, proc.exited ?? 137);
          continue;
        }
        if (o.syncConfigMaps && Date.now() - lastConfigSync > 1000) await proc.syncConfigMaps();
        const ready = await probe(p, t);
        if (ready !== proc.ready) {
          proc.ready = ready;
          await setStatus(p, t, 'Running', ready);
        }
      }
      if (Date.now() - lastConfigSync > 1000) lastConfigSync = Date.now();
      for (const [k, t] of tracked)
        if (!seen.has(k) && !t.deleting)
          void finishDelete({ metadata: { namespace: k.split('/')[0], name: k.split('/')[1] } }, t);
    } catch (e) {
      const msg = (e as Error).message;
      if (errors.at(-1) !== msg) errors.push(`tick: ${msg}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 250);

  return {
    nodeName,
    running,
    ips,
    errors,
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const [, t] of tracked) {
        const proc = t.proc;
        if (proc) await stopChild(proc.child, 'SIGKILL', 0);
        if (proc) rmSync(proc.dir, { recursive: true, force: true });
      }
    },
  };
}
