/**
 * The ICE auth service's HTTP answers (`GET /ice`, TURN REST `GET /?service=turn`): the contract
 * between the service (runtime/ice) and the application servers that call it (the `/ice-client`
 * export, our demo servers). Types only, so that a client needs nothing of the service.
 */

export const ICE_TRANSPORT_POLICIES = ['all', 'relay', 'public'] as const;
export type IceTransportPolicy = (typeof ICE_TRANSPORT_POLICIES)[number];

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  readonly urls: string[];
  readonly username: string;
  readonly credential: string;
}

/** What GET /ice answers: usable verbatim as an RTCPeerConnection configuration. */
export interface IceConfiguration {
  readonly iceServers: IceServer[];
  readonly iceTransportPolicy: IceTransportPolicy;
}

/** What GET /?service=turn answers (TURN REST API). */
export interface TurnCredentials {
  readonly username: string;
  readonly password: string;
  readonly ttl: number;
  readonly uris: string[];
}
