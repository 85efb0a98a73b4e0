/**
 * The keys of the Secrets a runtime pod mounts (under SECRETS_DIR: `auth/<key>`,
 * `tls/<listener>/<key>`), in the one order the pod mounts them and the bootstrap reads them
 * (runtime/bootstrap.mjs, which ships as a file of its own and so spells them out again).
 */

/** Static TURN credentials: `auth.credentials.username` and `.password`. */
export const STATIC_AUTH_KEYS = ['username', 'password'] as const;
/** Ephemeral TURN credentials (TURN REST API): `auth.credentials.secret`, the shared secret. */
export const EPHEMERAL_AUTH_KEYS = ['secret'] as const;
/** Every credentials key the bootstrap injects into `auth.credentials`. */
export const AUTH_KEYS = [...STATIC_AUTH_KEYS, ...EPHEMERAL_AUTH_KEYS] as const;
/** A TLS certificate and key (a `kubernetes.io/tls` Secret): a listener's `cert` and `key`. */
export const TLS_KEYS = ['tls.crt', 'tls.key'] as const;
/** The Secret type whose keys are TLS_KEYS. */
export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
