/**
 * Plain numeric counters, bumped on the hot path and read at metrics scrape time (process/metrics
 * reads them; relay/ sums them across relay threads). Every field is a number updated in place.
 */
export class ListenerStats {
  /** Packets/bytes received from clients on this listener. */
  rxPackets = 0;
  rxBytes = 0;
  /** Packets/bytes sent to clients on this listener. */
  txPackets = 0;
  txBytes = 0;
  /** Active connections: TCP/TLS connections, or allocations on a UDP listener. */
  connections = 0;
  connectionsTotal = 0;
  /** Stream connections refused or closed by the slowloris defences (issue 15), by reason. */
  refusedPerIpCap = 0;
  refusedPerIpRate = 0;
  refusedListenerCap = 0;
  closedFirstFrameDeadline = 0;
  closedFrameDeadline = 0;
  /** TURN-TLS connections closed on a TLS error: a failed handshake, or a renegotiation attempt. */
  closedTlsError = 0;
  /** Failed authentications (issue 15), by reason: stunner_auth_failures_total{name,reason}. */
  authFailedUnknownUser = 0;
  authFailedBadIntegrity = 0;
  authFailedExpired = 0;
  authFailedMalformed = 0;
  authFailedRealm = 0;
  /** Requests dropped while their IP is over admin.auth_failures_per_ip. */
  authFailedRateLimited = 0;
}

/** Per cluster of peers. rx = received from peers, tx = sent to peers. */
export class ClusterStats {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
}
