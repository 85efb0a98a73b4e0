/**
 * The gateway reader of turncat and `stunnerctl icetest` (tools/target's GatewayReader): the
 * gateways of dist/ YAML, a runtime's /status or a cluster as dataplane configs, each listener's
 * public endpoint (config, load balancer, NodePort) written into its public_address/public_port.
 */
import { type GatewayReader, TargetError } from '../target/target.js';
import { readGatewayConfigs } from './index.js';
import { type GatewayView, SourceError } from './view.js';

export const readGateways: GatewayReader = async (source, opts) => {
  const secretFiles = opts.secretFile !== undefined ? [opts.secretFile] : [];
  const kube = {
    ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
  };
  let views: GatewayView[];
  try {
    views = await readGatewayConfigs(
      source.kind === 'dist'
        ? { kind: 'files', paths: [source.path], secretFiles }
        : source.kind === 'url'
          ? { kind: 'url', urls: [source.url] }
          : source.kind === 'k8s'
            ? { kind: 'cluster', ...kube, namespace: source.namespace, secretFiles }
            : { kind: 'cluster', ...kube, secretFiles },
    );
  } catch (e) {
    if (e instanceof SourceError) throw new TargetError(e.message, 'failed');
    throw e;
  }
  if (source.kind === 'k8s') {
    views = views.filter((v) => v.namespace === source.namespace && v.name === source.gateway);
    if (views.length === 0)
      throw new TargetError(`no gateway ${source.namespace}/${source.gateway} in the cluster`);
  }
  return views.map((v) => {
    const config = structuredClone(v.config);
    for (const l of config.listeners) {
      const pub = v.listeners.find((x) => x.fullName === l.name)?.public;
      if (pub !== undefined) {
        l.public_address = pub.address;
        l.public_port = pub.port;
      }
    }
    return config;
  });
};
