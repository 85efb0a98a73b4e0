/** The source flags every stunnerctl command shares: `-f`, `--kubeconfig`, `--context`, `-n`, `--url`, `--secret-file`. */
import { DEFAULT_HEALTHCHECK_PORT } from '../../contract/defaults.js';
import { type GatewaySource, SourceError } from './view.js';

export const SOURCE_USAGE = `  -f, --filename <dir|file>  synthesized YAML (a dist/ directory is walked) or a dataplane config;
                             may be repeated
  --kubeconfig <file>        read a live cluster (default: $KUBECONFIG, ~/.kube/config)
  --context <name>           kube context to use
  -n, --namespace <ns>       only this namespace (cluster source; also filters every source)
  --url <url>                a running runtime's health endpoint (http://host:${DEFAULT_HEALTHCHECK_PORT}[/status]); may be repeated
  --secret-file <file>       Secret manifests (YAML) that fill credentials (and TLS listeners'
                             kubernetes.io/tls Secrets) the YAML only names; may be repeated`;

export interface SourceArgs {
  readonly source: GatewaySource | undefined;
  readonly namespace?: string;
  /** Arguments that are not source flags, in order. */
  readonly rest: string[];
}

/** Takes the source flags out of argv; throws SourceError on a misuse. */
export function parseSourceArgs(argv: readonly string[]): SourceArgs {
  const files: string[] = [];
  const urls: string[] = [];
  const secretFiles: string[] = [];
  let kubeconfig: string | undefined;
  let context: string | undefined;
  let namespace: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new SourceError(`${flag} needs a value`);
      return v;
    };
    if (flag === '-f' || flag === '--filename') files.push(value());
    else if (flag === '--url') urls.push(value());
    else if (flag === '--secret-file') secretFiles.push(value());
    else if (flag === '--kubeconfig') kubeconfig = value();
    else if (flag === '--context') context = value();
    else if (flag === '-n' || flag === '--namespace') namespace = value();
    else rest.push(a);
  }
  const kinds = [files.length > 0, urls.length > 0, kubeconfig !== undefined || context !== undefined].filter(
    Boolean,
  ).length;
  if (kinds > 1) throw new SourceError('give one source: -f, --url, or --kubeconfig/--context');
  let source: GatewaySource | undefined;
  if (files.length > 0) source = { kind: 'files', paths: files, secretFiles };
  else if (urls.length > 0) source = { kind: 'url', urls };
  else if (kubeconfig !== undefined || context !== undefined)
    source = {
      kind: 'cluster',
      ...(kubeconfig !== undefined && { kubeconfig }),
      ...(context !== undefined && { context }),
      ...(namespace !== undefined && { namespace }),
      secretFiles,
    };
  return { source, rest, ...(namespace !== undefined && { namespace }) };
}
