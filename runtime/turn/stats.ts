/** Plain numeric counters, bumped on the hot path and read at metrics scrape time. */
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
}
