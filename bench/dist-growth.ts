/**
 * What a runtime upgrade costs the git repository that holds dist/. Given the dist/ before and
 * after an upgrade (two `npm run synth` outputs), it commits both into a scratch repository and
 * reports the size of dist/, the files the upgrade rewrites, and how much the repository grows:
 * as loose objects (what a commit adds on the author's machine) and packed (what `git gc`, a
 * push or a clone carries, with git's deltas between similar files).
 *   tsx bench/dist-growth.ts <dist before> <dist after>
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const [before, after] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error('usage: tsx bench/dist-growth.ts <dist before> <dist after>');
  process.exit(2);
}

function files(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), statSync(p).size);
    }
  };
  walk(dir);
  return out;
}

const repo = mkdtempSync(join(tmpdir(), 'dist-growth-'));
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=m', '-c', 'user.email=m@example.org', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
/** Bytes of the repository's objects: loose (`size`, KiB) plus packs (`size-pack`, KiB). */
const objectBytes = (): { loose: number; packed: number } => {
  const kv = Object.fromEntries(
    git('count-objects', '-v')
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
  return { loose: Number(kv.size) * 1024, packed: Number(kv['size-pack']) * 1024 };
};
const commitDist = (dir: string, message: string) => {
  rmSync(join(repo, 'dist'), { recursive: true, force: true });
  cpSync(dir, join(repo, 'dist'), { recursive: true });
  git('add', '-A', 'dist');
  git('commit', '-q', '-m', message);
};

try {
  git('init', '-q');
  commitDist(before, 'before');
  git('repack', '-adfq', '--window=250', '--depth=50');
  const base = objectBytes();
  commitDist(after, 'after');
  const loose = objectBytes().loose - base.loose;
  git('repack', '-adfq', '--window=250', '--depth=50');
  const packed = objectBytes().packed - base.packed;

  const a = files(before);
  const b = files(after);
  const changed = git('diff', '--name-only', 'HEAD~1', 'HEAD').trim().split('\n').filter(Boolean);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`dist/ before: ${a.size} files, ${kb(sum(a))}; after: ${b.size} files, ${kb(sum(b))}`);
  console.log(`the upgrade rewrites ${changed.length} files:`);
  for (const f of changed) console.log(`  ${f} (${kb(b.get(f.replace(/^dist\//, '')) ?? 0)})`);
  console.log(`repository growth: loose ${kb(loose)}, packed ${kb(packed)}`);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
