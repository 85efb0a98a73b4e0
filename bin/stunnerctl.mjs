#!/usr/bin/env node
// stunnerctl: reads, checks and draws gateways from dist/, a cluster or a running runtime.
import { loadTools } from './tools.mjs';

process.exit(await (await loadTools()).stunnerctl(process.argv.slice(2)));
