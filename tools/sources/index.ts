/**
 * Where the operator tools read gateways from: synthesized YAML (files.ts), a live cluster
 * (cluster.ts), or a running runtime's `/status` (url.ts).
 *
 * API
 *   readGatewayConfigs(source: GatewaySource): Promise<GatewayView[]>
 *   watchGatewayConfigs(source, onChange, signal): Promise<void>   (cluster: ConfigMap watch; url: poll)
 *   describeCredentials(view): string          one line: where the credentials came from
 *   tlsMaterialMissing(view): string | undefined   for a tool that terminates TLS: which TLS
 *                                              listeners lack cert/key, and which Secret has them
 *   sourceOptions(yargs) / sourceOf(parsed)    the shared `-f`, `--kubeconfig`, `--context`,
 *                                              `-n`, `--url`, `--secret-file` flags
 *
 * A GatewaySource is one of
 *   { kind: 'files', paths }                 a dist/ directory (walked recursively), manifest files, or
 *                                            dataplane config files
 *   { kind: 'cluster', kubeconfig?, context?, namespace? }
 *                                            the gateway ConfigMaps, Services, Secrets and pods
 *   { kind: 'url', urls }                    `/status` of running runtimes
 *
 * A GatewayView (view.ts) carries the StunnerConfig (the `$STUNNER_ADDR`-style placeholders kept as
 * written, credentials filled in where they could be read, TLS cert/key where --secret-file has
 * them: a TLS listener without them reads fine), the gateway's namespace/name, the
 * public address:port per listener (and where it came from, or why it is not known), and the
 * origin of the credentials. Errors are thrown as SourceError with a one-line message.
 */
import { readCluster, watchCluster } from './cluster.js';
import { readFiles } from './files.js';
import { readSecretFiles } from './manifest.js';
import { readUrl } from './url.js';
import type { GatewaySource, GatewayView } from './view.js';

export { loadKubeConfig } from './cluster.js';
export { type SourceArgs, sourceOf, sourceOptions } from './flags.js';
export { fetchStatus, statusUrlOf } from './url.js';
export * from './view.js';

export async function readGatewayConfigs(source: GatewaySource): Promise<GatewayView[]> {
  switch (source.kind) {
    case 'files':
      return readFiles(source.paths, await readSecretFiles(source.secretFiles ?? []));
    case 'cluster':
      return readCluster(source, await readSecretFiles(source.secretFiles ?? []));
    case 'url':
      return Promise.all(source.urls.map((u) => readUrl(u)));
  }
}

/**
 * Calls onChange with the gateways now, then again whenever they change, until the signal aborts.
 * A cluster is watched (ConfigMaps; Services and Secrets are re-read on each change); URLs are
 * polled every `pollMs`. Files are read once.
 */
export async function watchGatewayConfigs(
  source: GatewaySource,
  onChange: (views: GatewayView[]) => void,
  signal: AbortSignal,
  pollMs = 2000,
): Promise<void> {
  let last = '';
  const emit = (views: GatewayView[]): void => {
    const key = JSON.stringify(views);
    if (key === last) return;
    last = key;
    onChange(views);
  };
  if (source.kind === 'files') {
    emit(await readGatewayConfigs(source));
    return;
  }
  if (source.kind === 'url') {
    while (!signal.aborted) {
      emit(await readGatewayConfigs(source));
      await sleep(pollMs, signal);
    }
    return;
  }
  let running: Promise<void> = Promise.resolve();
  const refresh = (): void => {
    running = running.then(async () => {
      try {
        emit(await readGatewayConfigs(source));
      } catch {
        // a failed read keeps the last view; the watch retries
      }
    });
  };
  await watchCluster(source, refresh, signal);
  await running;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
