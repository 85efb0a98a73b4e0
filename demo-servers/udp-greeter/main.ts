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

/** Log lines per second: a flood of datagrams must not become a flood of log lines. */
const LOG_PER_SECOND = 20;
let logged = 0;
let quiet = 0;
setInterval(() => {
  if (quiet > 0) log(`(${quiet} more datagrams not logged)`);
  logged = 0;
  quiet = 0;
}, 1000).unref();

const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
socket.on('message', (msg, from) => {
  if (logged++ < LOG_PER_SECOND) log(`greeting ${from.address}:${from.port} (${msg.length} bytes)`);
  else quiet++;
  // A failed send (e.g. a datagram too large once greeted) is that datagram's problem only: with a
  // callback it is reported here instead of as the socket's 'error', which stops the server.
  socket.send(Buffer.concat([Buffer.from(`${greeting} `), msg]), from.port, from.address, (e) => {
    if (e && logged++ < LOG_PER_SECOND) log(`cannot answer ${from.address}:${from.port}: ${e.message}`);
  });
});
let bound = false;
socket.on('error', (e) => {
  log(`error: ${e.message}`);
  if (!bound) process.exit(1);
});
socket.bind(port, address, () => {
  bound = true;
  log(`udp-greeter ready on ${address}:${port}`);
});
onTerminate(() => socket.close());
