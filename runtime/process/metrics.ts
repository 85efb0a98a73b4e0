/**
 * Prometheus metrics under STUNner's names and labels (`name`, `direction` rx|tx).
 *
 * The relay path only bumps plain numeric fields (ListenerStats, ClusterStats); prom-client
 * never runs there. At scrape time the collect callbacks copy those counters into the metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ClusterStats, ListenerStats } from '../turn/stats.js';

/** What the metrics read at scrape time. */
export interface MetricsSource {
  allocationCount(): number;
  /** Counters per listener name. */
  listeners(): Iterable<readonly [string, ListenerStats]>;
  /** Counters per cluster name. */
  clusters(): Iterable<readonly [string, ClusterStats]>;
}

/** Every metric the runtime exports besides the process ones; the Grafana dashboard may use only these. */
export const METRIC_NAMES = [
  'stunner_allocations_active',
  'stunner_listener_packets_total',
  'stunner_listener_bytes_total',
  'stunner_listener_connections',
  'stunner_listener_connections_total',
  'stunner_listener_connections_refused_total',
  'stunner_auth_failures_total',
  'stunner_cluster_packets_total',
  'stunner_cluster_bytes_total',
] as const;

export interface StunnerMetrics {
  readonly registry: Registry;
  /** The exposition text, with the counters as of now. */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(
  source: MetricsSource,
  opts: { processMetrics?: boolean } = {},
): StunnerMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'stunner_allocations_active',
    help: 'Number of active allocations.',
    registers,
    collect() {
      this.set(source.allocationCount());
    },
  });

  // Counters are rebuilt from the runtime's own counters at every scrape.
  const counterPair = (
    name: string,
    help: string,
    entries: () => Iterable<
      readonly [string, { rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }]
    >,
    field: 'Packets' | 'Bytes',
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['name', 'direction'] as const,
      registers,
      collect() {
        this.reset();
        for (const [n, s] of entries()) {
          this.inc({ name: n, direction: 'rx' }, s[`rx${field}`]);
          this.inc({ name: n, direction: 'tx' }, s[`tx${field}`]);
        }
      },
    });
  const perSide = [
    ['listener', 'clients per listener', () => source.listeners()],
    ['cluster', 'peers per cluster', () => source.clusters()],
  ] as const;
  for (const [side, whom, entries] of perSide) {
    for (const field of ['Packets', 'Bytes'] as const) {
      counterPair(
        `stunner_${side}_${field.toLowerCase()}_total`,
        `${field} received (rx) from and sent (tx) to ${whom}.`,
        entries,
        field,
      );
    }
  }

  new Gauge({
    name: 'stunner_listener_connections',
    help: 'Active connections (TCP/TLS) or allocations (UDP) per listener.',
    labelNames: ['name'] as const,
    registers,
    collect() {
      this.reset();
      for (const [n, s] of source.listeners()) this.set({ name: n }, s.connections);
    },
  });
  new Counter({
    name: 'stunner_listener_connections_total',
    help: 'Connections (TCP/TLS) or allocations (UDP) accepted per listener since start.',
    labelNames: ['name'] as const,
    registers,
    collect() {
      this.reset();
      for (const [n, s] of source.listeners()) this.inc({ name: n }, s.connectionsTotal);
    },
  });

  // Slowloris defences (issue 15): stream connections refused at accept or closed at a deadline.
  const refusals = [
    ['per_ip_cap', 'refusedPerIpCap'],
    ['per_ip_rate', 'refusedPerIpRate'],
    ['listener_cap', 'refusedListenerCap'],
    ['first_frame_deadline', 'closedFirstFrameDeadline'],
    ['frame_deadline', 'closedFrameDeadline'],
    ['tls_error', 'closedTlsError'],
  ] as const;
  new Counter({
    name: 'stunner_listener_connections_refused_total',
    help: 'TCP/TLS connections refused (per-IP cap or rate, listener cap), closed at a deadline (first frame, partial frame) or closed on a TLS error (failed handshake, renegotiation attempt), per listener and reason.',
    labelNames: ['name', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [n, s] of source.listeners()) {
        for (const [reason, field] of refusals) this.inc({ name: n, reason }, s[field]);
      }
    },
  });

  // Failed authentications (issue 15), per listener and reason.
  const authFailures = [
    ['unknown_user', 'authFailedUnknownUser'],
    ['bad_integrity', 'authFailedBadIntegrity'],
    ['expired', 'authFailedExpired'],
    ['malformed', 'authFailedMalformed'],
    ['realm', 'authFailedRealm'],
    ['rate_limited', 'authFailedRateLimited'],
  ] as const;
  new Counter({
    name: 'stunner_auth_failures_total',
    help: 'Failed authentications per listener and reason: unknown_user, bad_integrity (wrong password), expired (ephemeral), malformed username, realm (another realm than ours), rate_limited (dropped while the client IP is over admin.auth_failures_per_ip).',
    labelNames: ['name', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [n, s] of source.listeners()) {
        for (const [reason, field] of authFailures) this.inc({ name: n, reason }, s[field]);
      }
    },
  });

  // Standard names (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_*).
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}
