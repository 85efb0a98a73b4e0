/** Writes docs/stunnerd-config.schema.json from the zod schema, for editor completion. */
import { writeFileSync } from 'node:fs';
import * as z from 'zod';
import { StunnerConfigSchema } from './schema.js';

export function configJsonSchema(): object {
  return z.toJSONSchema(StunnerConfigSchema, { io: 'input', target: 'draft-2020-12' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? 'docs/stunnerd-config.schema.json';
  writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  console.log(`wrote ${out}`);
}
