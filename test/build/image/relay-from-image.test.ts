/**
 * The runtime image's filesystem runs the relay as the gateway pod would: buildImage() on the
 * stand-in base (test/helpers/node-base.ts), its layers unpacked in order, run with crun under the
 * image's own user, working directory, entrypoint, command and environment, on a read-only root
 * with the pod's volumes (the dataplane config, the Secret material the bootstrap injects, a
 * writable run dir). A TURN client then relays a datagram through it to an echo peer and back.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltImage, buildImage } from '../../../build/image/build-image.js';
import {
  CONFIG_DIR,
  CONFIG_KEY,
  POD_WORKDIR,
  RUN_DIR,
  RUNTIME_UID,
  SECRETS_DIR,
} from '../../../contract/pod-layout.js';
import { type Container, runContainer } from '../../helpers/crun.js';
import { freePort, freeTcpPort, httpGet } from '../../helpers/net.js';
import { nodeBase } from '../../helpers/node-base.js';
import { type OciImage, readImage, unpackImage } from '../../helpers/oci-image.js';
import { TurnClient, UdpPeer } from '../../helpers/turn-client.js';

const USER = 'user';
const PASS = 'image-secret';

describe('the runtime image, run as the pod would', () => {
  let work: string;
  let built: BuiltImage;
  let image: OciImage;
  let container: Container;
  let port: number;
  let healthPort: number;
  let peer: UdpPeer;
  const clients: TurnClient[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'image-relay-'));
    built = await buildImage({ baseDir: (await nodeBase()).dir, outDir: join(work, 'image'), tag: 'relay' });
    image = readImage(join(work, 'image'), built.platforms[0]!.digest);
    const rootfs = join(work, 'rootfs');
    await unpackImage(image, rootfs);

    port = await freePort();
    healthPort = await freeTcpPort();
    const config = join(work, 'config');
    const secrets = join(work, 'secrets');
    mkdirSync(config);
    mkdirSync(join(secrets, 'auth'), { recursive: true });
    // the password comes from the Secret: only the bootstrap's --inject makes the relay accept it
    writeFileSync(
      join(config, CONFIG_KEY),
      JSON.stringify({
        version: 'v1',
        admin: { name: 'image', healthcheck_endpoint: `http://127.0.0.1:${healthPort}` },
        auth: { type: 'static', realm: 'image', credentials: { username: USER, password: 'not-the-secret' } },
        listeners: [{ name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['peers'] }],
        clusters: [{ name: 'peers', type: 'STATIC', endpoints: ['127.0.0.1'] }],
      }),
    );
    writeFileSync(join(secrets, 'auth/password'), PASS);

    container = await runContainer({
      rootfs,
      image: image.config.config,
      mounts: [
        { destination: `${POD_WORKDIR}/${CONFIG_DIR}`, type: 'bind', source: config },
        { destination: `${POD_WORKDIR}/${SECRETS_DIR}`, type: 'bind', source: secrets },
        { destination: `${POD_WORKDIR}/${RUN_DIR}`, type: 'tmpfs' },
        { destination: '/tmp', type: 'tmpfs' },
      ],
      ready: (out) => out.includes('stunnerd ready'),
    });
    peer = await UdpPeer.open(true);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    peer?.close();
    await container?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs the image command as the pod user, on a read-only root', () => {
    const pid = container.pid();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    expect(cmdline).toEqual([...image.config.config.Entrypoint!, ...image.config.config.Cmd!]);
    const ids = (key: string): string[] =>
      readFileSync(`/proc/${pid}/status`, 'utf8')
        .match(new RegExp(`^${key}:\\s+(.*)$`, 'm'))![1]!
        .split(/\s+/);
    expect(ids('Uid')).toEqual(Array(4).fill(String(RUNTIME_UID)));
    expect(ids('Gid')).toEqual(Array(4).fill(String(RUNTIME_UID)));
    // mountinfo: ID parent major:minor root mountpoint options ...
    const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4] === '/');
    expect(root.at(-1)?.[5]?.split(',')).toContain('ro');
  });

  it('answers its readiness probe', async () => {
    expect((await httpGet(healthPort, '/ready')).status).toBe(200);
  });

  it('relays a datagram to a peer and its echo back, with the password from the Secret', async () => {
    const c = await TurnClient.open({ host: '127.0.0.1', port, username: USER, password: PASS });
    clients.push(c);
    const relayed = await c.allocate();
    await c.createPermission(peer.address);
    c.send(peer.address, Buffer.from('through the image'));
    await c.waitReceived(1, 5000);
    expect(c.payloads('data').map(String)).toEqual(['through the image']);
    expect(peer.got.map((g) => [String(g.data), g.from.port])).toEqual([['through the image', relayed.port]]);
  });
});
