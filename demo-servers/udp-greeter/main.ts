/**
 * The UDP greeter of the SimpleTunnel demo: answers every datagram with the greeting followed by
 * the datagram. It binds the pod IP, so that its replies leave from the address the gateway's
 * route admits (a socket bound to every address may answer from another one).
 */
import { createSocket } from 'node:dgram';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';

const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.greeterPort);
const address = process.env[DemoEnv.POD_IP] || '0.0.0.0';
const greeting = process.env[DemoEnv.GREETING] ?? DEMO_DEFAULTS.greeting;

const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
socket.on('message', (msg, from) => {
  log(`greeting ${from.address}:${from.port} (${msg.length} bytes)`);
  socket.send(Buffer.concat([Buffer.from(`${greeting} `), msg]), from.port, from.address);
});
socket.on('error', (e) => {
  log(`error: ${e.message}`);
  process.exit(1);
});
socket.bind(port, address, () => log(`udp-greeter ready on ${address}:${port}`));
onTerminate(() => socket.close());
