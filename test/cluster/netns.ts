/**
 * A network of our own for one test cluster: a network namespace joined to this host by a veth
 * pair. The control plane and every pod live inside it, each pod on an address of its own in
 * 10.<octet>.0.0/24 (the apiserver refuses loopback addresses in EndpointSlices, so pods cannot
 * use 127/8 as the older tests do). The test process reaches them through the veth; no traffic
 * leaves the machine, and the namespace is deleted when the cluster stops.
 */
import { spawnSync } from 'node:child_process';

export interface ClusterNet {
  /** The network namespace's name (for `ip netns exec`). */
  readonly ns: string;
  /** This host's side of the veth. */
  readonly hostIP: string;
  /** The namespace's own address: the apiserver listens here. */
  readonly nodeIP: string;
  /** The pods' and the node's subnet, 10.<octet>.0.0/24. */
  readonly subnet: string;
  /** A fresh address in the namespace, for a pod. */
  allocate(): string;
  /** Gives an address back (the pod was deleted). */
  release(ip: string): void;
  /** Runs a command in the namespace, synchronously; throws with its stderr on failure. */
  exec(args: readonly string[]): string;
  destroy(): void;
}

function run(args: readonly string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0)
    throw new Error(`${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A namespace of this octet left by a test run that was killed (its pid is gone) would take the
 * host's route to 10.<octet>.0.0/24: its processes are killed and it is removed.
 */
function removeStale(octet: number): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const m of (r.stdout ?? '').matchAll(new RegExp(`^stg${octet}-(\\d+)`, 'gm'))) {
    if (alive(Number(m[1]))) continue;
    const pids = spawnSync('ip', ['netns', 'pids', m[0]], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter(Boolean)) spawnSync('kill', ['-9', pid]);
    spawnSync('ip', ['netns', 'del', m[0]]);
    spawnSync('ip', ['link', 'del', `stg${octet}h${Number(m[1]) % 10000}`]);
  }
}

/** Whether this machine lets the tests make network namespaces (root and iproute2). */
export function canMakeNetns(): string | undefined {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error) return `iproute2's ip is missing (${r.error.message})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  return undefined;
}

/**
 * Makes the namespace `stg<octet>-<pid>` with 10.<octet>.0.1 on the host side and 10.<octet>.0.2
 * inside; pods get 10.<octet>.0.10 and up.
 */
export function createClusterNet(octet: number): ClusterNet {
  const why = canMakeNetns();
  if (why) throw new Error(`cannot make the cluster's network: ${why}`);
  removeStale(octet);
  const ns = `stg${octet}-${process.pid}`;
  const host = `stg${octet}h${process.pid % 10000}`;
  const peer = `stg${octet}p${process.pid % 10000}`;
  const hostIP = `10.${octet}.0.1`;
  const nodeIP = `10.${octet}.0.2`;
  run(['ip', 'netns', 'add', ns]);
  try {
    run(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    run(['ip', 'link', 'set', peer, 'netns', ns]);
    run(['ip', 'addr', 'add', `${hostIP}/24`, 'dev', host]);
    run(['ip', 'link', 'set', host, 'up']);
    const inNs = (a: string[]) => run(['ip', 'netns', 'exec', ns, ...a]);
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['ip', 'addr', 'add', `${nodeIP}/24`, 'dev', peer]);
    inNs(['ip', 'link', 'set', peer, 'up']);
    inNs(['ip', 'route', 'add', 'default', 'via', hostIP]);
  } catch (e) {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', host]);
    throw e;
  }
  const free: number[] = [];
  for (let i = 250; i >= 10; i--) free.push(i);
  const used = new Set<string>();
  return {
    ns,
    hostIP,
    nodeIP,
    subnet: `10.${octet}.0.0/24`,
    allocate() {
      const last = free.pop();
      if (last === undefined) throw new Error(`cluster network ${ns}: no pod address left`);
      const ip = `10.${octet}.0.${last}`;
      run(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/32`, 'dev', peer]);
      // the host answers ARP for the pod through the namespace's side of the veth
      used.add(ip);
      return ip;
    },
    release(ip) {
      if (!used.delete(ip)) return;
      spawnSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'del', `${ip}/32`, 'dev', peer]);
      free.push(Number(ip.split('.')[3]));
    },
    exec(args) {
      return run(['ip', 'netns', 'exec', ns, ...args]);
    },
    destroy() {
      spawnSync('ip', ['netns', 'del', ns]);
      spawnSync('ip', ['link', 'del', host]);
    },
  };
}

/** A direct link between two clusters' namespaces (./netns.ts), as a private interconnect. */
export interface ClusterLink {
  /** `a`'s end of the link: the source address of `a`'s traffic to `b`. */
  readonly aIP: string;
  /** `b`'s end of the link. */
  readonly bIP: string;
  /** Removes the routes to each other's subnet (the link stays): no traffic passes. */
  removeRoutes(): void;
  /** Adds them (again). */
  addRoutes(): void;
  destroy(): void;
}

/**
 * Joins two cluster namespaces with a veth pair of their own, `aIP`/30 in `a` and `bIP`/30 in `b`,
 * and routes each one's subnet to the other through it; `a`'s traffic to `b` leaves from `aIP`.
 * Nothing on this host changes: its forwarding stays off, so without these routes the two
 * namespaces cannot reach each other (their default routes end at this host).
 */
export function linkClusterNets(
  a: ClusterNet,
  b: ClusterNet,
  o: { readonly aIP: string; readonly bIP: string },
): ClusterLink {
  const tag = `${a.subnet.split('.')[1]}${b.subnet.split('.')[1]}`;
  const aDev = `stl${tag}a${process.pid % 1000}`;
  const bDev = `stl${tag}b${process.pid % 1000}`;
  run(['ip', 'link', 'add', aDev, 'type', 'veth', 'peer', 'name', bDev]);
  const link: ClusterLink = {
    aIP: o.aIP,
    bIP: o.bIP,
    addRoutes() {
      a.exec(['ip', 'route', 'replace', b.subnet, 'via', o.bIP, 'src', o.aIP]);
      b.exec(['ip', 'route', 'replace', a.subnet, 'via', o.aIP]);
    },
    removeRoutes() {
      spawnSync('ip', ['netns', 'exec', a.ns, 'ip', 'route', 'del', b.subnet]);
      spawnSync('ip', ['netns', 'exec', b.ns, 'ip', 'route', 'del', a.subnet]);
    },
    destroy() {
      // deleting one end of a veth deletes both; the namespaces may be gone already
      spawnSync('ip', ['netns', 'exec', a.ns, 'ip', 'link', 'del', aDev]);
      spawnSync('ip', ['link', 'del', aDev]);
    },
  };
  try {
    run(['ip', 'link', 'set', aDev, 'netns', a.ns]);
    run(['ip', 'link', 'set', bDev, 'netns', b.ns]);
    a.exec(['ip', 'addr', 'add', `${o.aIP}/30`, 'dev', aDev]);
    a.exec(['ip', 'link', 'set', aDev, 'up']);
    b.exec(['ip', 'addr', 'add', `${o.bIP}/30`, 'dev', bDev]);
    b.exec(['ip', 'link', 'set', bDev, 'up']);
    link.addRoutes();
  } catch (e) {
    link.destroy();
    throw e;
  }
  return link;
}
