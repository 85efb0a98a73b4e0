/** The source flags every stunnerctl command shares: `-f`, `--kubeconfig`, `--context`, `-n`, `--url`, `--secret-file`. */
import { DEFAULT_HEALTHCHECK_PORT } from '../../contract/defaults.js';
import { type Argv, allValues, lastValue, type Parsed, UsageError, valued } from '../../runtime/args/cli.js';
import type { GatewaySource } from './view.js';

/** Declares the source flags on a command. */
export function sourceOptions(y: Argv): Argv {
  return y
    .option('filename', {
      ...valued('synthesized YAML (a dist/ directory is walked) or a dataplane config; repeatable'),
      alias: 'f',
    })
    .option('kubeconfig', valued('read a live cluster (default: $KUBECONFIG, ~/.kube/config)'))
    .option('context', valued('kube context to use'))
    .option('namespace', {
      ...valued('only this namespace (cluster source; also filters every source)'),
      alias: 'n',
    })
    .option(
      'url',
      valued(
        `a running runtime's health endpoint (http://host:${DEFAULT_HEALTHCHECK_PORT}[/status]); repeatable`,
      ),
    )
    .option(
      'secret-file',
      valued(
        "Secret manifests (YAML) that fill credentials (and TLS listeners' kubernetes.io/tls Secrets) the YAML only names; repeatable",
      ),
    )
    .group(['filename', 'kubeconfig', 'context', 'namespace', 'url', 'secret-file'], 'Sources:');
}

export interface SourceArgs {
  readonly source: GatewaySource | undefined;
  readonly namespace?: string;
}

/** The source the parsed flags name; throws UsageError on a misuse. */
export function sourceOf(a: Parsed): SourceArgs {
  const files = allValues(a.filename);
  const urls = allValues(a.url);
  const secretFiles = allValues(a['secret-file']);
  const kubeconfig = lastValue(a.kubeconfig);
  const context = lastValue(a.context);
  const namespace = lastValue(a.namespace);
  const kinds = [files.length > 0, urls.length > 0, kubeconfig !== undefined || context !== undefined].filter(
    Boolean,
  ).length;
  if (kinds > 1) throw new UsageError('give one source: -f, --url, or --kubeconfig/--context');
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
  return { source, ...(namespace !== undefined && { namespace }) };
}
