/** STUN (RFC 8489) and TURN (RFC 8656) protocol numbers. */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
/** XOR applied to the CRC32 in FINGERPRINT (ASCII "STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;

export const Method = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;
/** Message types of the two indications the relay's hot path reads and writes. */
export const SEND_INDICATION = 0x0016;
export const DATA_INDICATION = 0x0017;

export type MethodValue = (typeof Method)[keyof typeof Method];

export const MessageClass = {
  REQUEST: 0x000,
  INDICATION: 0x010,
  SUCCESS: 0x100,
  ERROR: 0x110,
} as const;
export type MessageClassValue = (typeof MessageClass)[keyof typeof MessageClass];

/** Interleaves the 12-bit method with the two class bits (C0 at bit 4, C1 at bit 8). */
export function messageType(method: number, cls: number): number {
  return ((method & 0x0f80) << 2) | ((method & 0x0070) << 1) | (method & 0x000f) | (cls & MessageClass.ERROR);
}

export function methodOf(type: number): number {
  return ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
}

export function classOf(type: number): number {
  return type & MessageClass.ERROR;
}

export const Attr = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  ADDRESS_ERROR_CODE: 0x8001,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  ICMP: 0x8004,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;
export type AttrValue = (typeof Attr)[keyof typeof Attr];

/** Attributes 0x0000-0x7FFF must be understood; an unknown one fails the request with 420. */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

export const KNOWN_ATTRIBUTES: ReadonlySet<number> = new Set<number>(Object.values(Attr));

/** Values of REQUESTED-TRANSPORT (an IANA protocol number). */
export const Transport = { UDP: 17, TCP: 6 } as const;
/** Values of REQUESTED-ADDRESS-FAMILY / address attribute family byte. */
export const AddressFamily = { IPV4: 0x01, IPV6: 0x02 } as const;

export const ErrorCode = {
  TRY_ALTERNATE: 300,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  UNKNOWN_ATTRIBUTE: 420,
  ALLOCATION_MISMATCH: 437,
  STALE_NONCE: 438,
  ADDRESS_FAMILY_NOT_SUPPORTED: 440,
  WRONG_CREDENTIALS: 441,
  UNSUPPORTED_TRANSPORT: 442,
  PEER_ADDRESS_FAMILY_MISMATCH: 443,
  ALLOCATION_QUOTA_REACHED: 486,
  SERVER_ERROR: 500,
  INSUFFICIENT_CAPACITY: 508,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Default reason phrases (RFC 8489 sec 14.8, RFC 8656 sec 19). */
export const ERROR_REASONS: ReadonlyMap<number, string> = new Map<number, string>([
  [ErrorCode.TRY_ALTERNATE, 'Try Alternate'],
  [ErrorCode.BAD_REQUEST, 'Bad Request'],
  [ErrorCode.UNAUTHENTICATED, 'Unauthenticated'],
  [ErrorCode.FORBIDDEN, 'Forbidden'],
  [ErrorCode.UNKNOWN_ATTRIBUTE, 'Unknown Attribute'],
  [ErrorCode.ALLOCATION_MISMATCH, 'Allocation Mismatch'],
  [ErrorCode.STALE_NONCE, 'Stale Nonce'],
  [ErrorCode.ADDRESS_FAMILY_NOT_SUPPORTED, 'Address Family not Supported'],
  [ErrorCode.WRONG_CREDENTIALS, 'Wrong Credentials'],
  [ErrorCode.UNSUPPORTED_TRANSPORT, 'Unsupported Transport Protocol'],
  [ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH, 'Peer Address Family Mismatch'],
  [ErrorCode.ALLOCATION_QUOTA_REACHED, 'Allocation Quota Reached'],
  [ErrorCode.SERVER_ERROR, 'Server Error'],
  [ErrorCode.INSUFFICIENT_CAPACITY, 'Insufficient Capacity'],
]);

export function reasonPhrase(code: number): string {
  return ERROR_REASONS.get(code) ?? '';
}
