/** coturn's turnutils_uclient as the ICE tests run it (an independent TURN client). */
import { runUclient, type UclientResult } from '../../helpers/uclient.js';

export { startPeer } from '../../helpers/uclient.js';

/** Send/Data mode (-s), 10 messages of 100 bytes, one client; `tcp` adds -t, `tls` -S (TLS over TCP). */
export function uclient(opts: {
  host: string;
  port: number;
  tcp: boolean;
  tls?: boolean;
  username: string;
  password: string;
  peerPort: number;
}): Promise<UclientResult> {
  const args = [
    '-s',
    ...(opts.tcp ? ['-t'] : []),
    ...(opts.tls ? ['-S'] : []),
    '-u',
    opts.username,
    '-w',
    opts.password,
  ];
  args.push('-p', String(opts.port), '-e', '127.0.0.1', '-r', String(opts.peerPort));
  args.push('-n', '10', '-m', '1', '-l', '100', '-z', '5', opts.host);
  return runUclient(args, 20_000);
}
