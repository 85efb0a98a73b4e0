/** Free loopback ports for tests that must write a port into a config before binding. */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, host, resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no TCP port');
  return addr.port;
}

/** A port free for both UDP and TCP, as a TURN listener pair on one port needs. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freeUdpPort(host);
    try {
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(p, host, resolve);
      });
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      return p;
    } catch {
      // taken for TCP; try another
    }
  }
  throw new Error('no port free for both UDP and TCP');
}

/** GET http://127.0.0.1:<port><path>, given up after 2 s. */
export function httpGet(port: number, path: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
}
