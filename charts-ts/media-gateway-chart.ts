/**
 * A media plane behind one TURN-UDP gateway: clients reach the media servers of namespace
 * `media` only through the gateway, and only on the media port range. Rendered once per cluster.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IGitOpsCluster } from '../constructs/gitops/index.js';
import {
  ExternalSecret,
  MediaRoute,
  SecretKeys,
  SecretStoreRef,
  StunnerGateway,
  TurnAuth,
} from '../constructs/index.js';

export interface MediaGatewayChartProps extends ChartProps {
  /**
   * The cluster this copy renders for: its first public address is the listeners' public address.
   * @default none: the gateway learns its address from its Service status
   */
  readonly cluster?: IGitOpsCluster;
  /**
   * The ClusterSecretStore holding the TURN username and password (external-secrets reads them
   * from `stunner/<cluster>/turn` into the Secret `stunner-auth`).
   * @default none: `stunner-auth` is an existing Secret, created out of band
   */
  readonly secretStore?: string;
  /**
   * Gateway pods.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Labels of the media servers' pods behind the Service `media/media-server`: the gateway may
   * relay to those pods only, not to every pod of the namespace.
   * @default { app: 'media-server' }
   */
  readonly mediaServerSelector?: Readonly<Record<string, string>>;
}

/** The media gateway's namespace: every cluster runs it. */
export const MEDIA_GATEWAY_NAMESPACE = 'stunner';

export class MediaGatewayChart extends Chart {
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;

  constructor(scope: Construct, id: string, props: MediaGatewayChartProps = {}) {
    super(scope, id, { namespace: MEDIA_GATEWAY_NAMESPACE, ...props });
    // No credentials in git: the Secret `stunner-auth` (username, password) comes from the
    // cluster's secret store, or exists already.
    const credentials =
      props.secretStore === undefined
        ? 'stunner-auth'
        : new ExternalSecret(this, 'auth', {
            name: 'stunner-auth',
            store: SecretStoreRef.cluster(props.secretStore),
            remoteKey: `stunner/${props.cluster?.name ?? 'default'}/turn`,
            data: { username: 'username', password: 'password' },
            requiredKeys: SecretKeys.TURN_STATIC,
            refreshInterval: '15m',
          });
    this.gateway = new StunnerGateway(this, 'udp-gateway', {
      createNamespace: true,
      realm: 'stunner.l7mp.io',
      auth: TurnAuth.fromSecret(credentials),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
      externalTrafficPolicy: 'Local',
      publicAddress: props.cluster?.publicAddresses[0],
      replicas: props.replicas,
    });
    this.route = new MediaRoute(this, 'media-plane', {
      parents: [this.gateway],
      backends: [
        {
          service: {
            name: 'media-server',
            namespace: 'media',
            selector: props.mediaServerSelector ?? { app: 'media-server' },
          },
          port: 10000,
          endPort: 20000,
        },
      ],
    });
  }
}
