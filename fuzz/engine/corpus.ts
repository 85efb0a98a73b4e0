/** The fuzz targets and their committed corpora (fuzz/corpus/<target>/, one input per file). */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const TARGETS = ['stun-codec', 'stream-framer', 'config-loader', 'ice-query'] as const;
export type TargetName = (typeof TARGETS)[number];

export const FUZZ_DIR = path.resolve(import.meta.dirname, '..');
export const CORPUS_DIR = path.join(FUZZ_DIR, 'corpus');

/** Every input in a corpus directory, in file name order (deterministic). */
export function readCorpus(dir: string): Buffer[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
}

export function committedCorpus(target: TargetName): Buffer[] {
  return readCorpus(path.join(CORPUS_DIR, target));
}

/** Stores an input under its content hash (libFuzzer's naming); returns the file name. */
export function storeInput(dir: string, input: Buffer, prefix = ''): string {
  mkdirSync(dir, { recursive: true });
  const name = `${prefix}${createHash('sha1').update(input).digest('hex')}`;
  writeFileSync(path.join(dir, name), input);
  return name;
}
