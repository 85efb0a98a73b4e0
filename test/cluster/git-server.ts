/**
 * A git repository served over HTTPS on loopback, for Argo CD's repo server: git's own
 * `git http-backend` (smart HTTP) behind a small Node HTTPS front, so that the URL the committed
 * dist/argocd/ names (https://git.example.com/media/stunner-gitops.git) is served as written. The
 * name resolves to this server only inside the mount namespaces the Argo CD processes run in.
 *
 * The test commits to a working clone (`commit`), which pushes to the bare repository served.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';

export interface GitServer {
  /** https://<host>/<path>: the repository's URL. */
  readonly url: string;
  /** The working clone: edit files here, then `commit`. */
  readonly workdir: string;
  /** Commits everything in the working clone and pushes it to `main`; returns the new revision. */
  commit(message: string): string;
  /** Requests served, for a test that wants to see Argo CD fetch. */
  readonly requests: string[];
  close(): Promise<void>;
}

function git(cwd: string, args: readonly string[]): string {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

/**
 * Serves `repoPath` (e.g. 'media/stunner-gitops.git') at https://<host>/<repoPath> on
 * `listenIP`:443, its first commit holding `dist/` copied from `distDir`.
 */
export async function startGitServer(o: {
  readonly dir: string;
  readonly host: string;
  readonly listenIP: string;
  readonly repoPath: string;
  readonly distDir: string;
  readonly cert: { cert: string; key: string };
}): Promise<GitServer> {
  const root = join(o.dir, 'git-root');
  const bare = join(root, o.repoPath);
  const workdir = join(o.dir, 'git-work');
  mkdirSync(bare, { recursive: true });
  git(bare, ['init', '--bare', '--initial-branch=main', '.']);
  mkdirSync(workdir, { recursive: true });
  git(workdir, ['init', '--initial-branch=main', '.']);
  cpSync(o.distDir, join(workdir, 'dist'), { recursive: true });
  git(workdir, ['remote', 'add', 'origin', bare]);
  const requests: string[] = [];

  const server: Server = createServer(
    { cert: readFileSync(o.cert.cert), key: readFileSync(o.cert.key) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      requests.push(`${req.method} ${url.pathname}`);
      // CGI, as git http-backend expects it
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
          HTTP_GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
          REMOTE_ADDR: req.socket.remoteAddress ?? '',
        },
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const fail = (why: string) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(why);
      };
      cgi.on('error', (e) => fail(e.message));
      cgi.stdin.on('error', () => {});
      req.on('error', () => cgi.kill());
      res.on('error', () => cgi.kill());
      req.pipe(cgi.stdin);
      // headers until the blank line, then the body as it comes
      let head = Buffer.alloc(0);
      let inBody = false;
      cgi.stdout.on('data', (chunk: Buffer) => {
        if (inBody) {
          res.write(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
          const i = line.indexOf(':');
          if (i < 0) continue;
          const k = line.slice(0, i).trim().toLowerCase();
          const v = line.slice(i + 1).trim();
          if (k === 'status') status = Number.parseInt(v, 10) || 500;
          else headers[k] = v;
        }
        res.writeHead(status, headers);
        inBody = true;
        const rest = head.subarray(end + 4);
        if (rest.length) res.write(rest);
      });
      cgi.on('close', (code) => (inBody ? res.end() : fail(`git http-backend exited ${code}`)));
    },
  );
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, o.listenIP, () => resolve());
  });

  const commit = (message: string): string => {
    git(workdir, ['add', '-A']);
    git(workdir, ['commit', '--allow-empty', '-q', '-m', message]);
    git(workdir, ['push', '-q', 'origin', 'main']);
    return git(workdir, ['rev-parse', 'HEAD']);
  };
  commit('dist/ as committed');
  return {
    url: `https://${o.host}/${o.repoPath}`,
    workdir,
    commit,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(root, { recursive: true, force: true });
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}
