#!/usr/bin/env node
// Dev launcher: runs the TypeScript runtime through tsx (the bundle needs no tsx).
import { register } from 'tsx/esm/api';

register();
await import('../runtime/main.ts');
