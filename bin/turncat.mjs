#!/usr/bin/env node
// turncat: tunnels local traffic through a TURN gateway to a peer.
import { loadTools } from './tools.mjs';

process.exit(await (await loadTools()).turncat(process.argv.slice(2)));
