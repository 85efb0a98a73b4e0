/**
 * How a gateway's clients authenticate (RFC 8489 long-term credentials): a fixed username and
 * password, or TURN REST API ephemeral credentials minted from a shared secret. Production
 * credentials come from an existing Secret (sealed-secrets, external-secrets, ...); inline
 * credentials are for demos: they are in your source, and the gateway renders them into a Secret.
 */

/** Secret keys of static credentials. */
const STATIC_KEYS: readonly string[] = ['username', 'password'];
/** Secret key of the TURN REST API shared secret. */
const EPHEMERAL_KEYS: readonly string[] = ['secret'];

export class TurnAuth {
  /**
   * Static credentials from an existing Secret in the gateway's namespace, with the keys
   * `username` and `password`.
   */
  static fromSecret(secretName: string): TurnAuth {
    return new TurnAuth('static', secretName, undefined);
  }

  /**
   * Ephemeral (TURN REST API) credentials, minted from the shared secret under the key `secret` of
   * an existing Secret in the gateway's namespace.
   */
  static ephemeral(secretName: string): TurnAuth {
    return new TurnAuth('ephemeral', secretName, undefined);
  }

  /**
   * Static credentials given inline (demos only): the gateway renders them into the Secret
   * `<gateway>-auth`. Default and guessable passwords fail synth unless the gateway sets
   * `allowWeakCredentials`.
   */
  static inline(username: string, password: string): TurnAuth {
    return new TurnAuth('static', undefined, { username, password });
  }

  /**
   * An ephemeral shared secret given inline (demos only): the gateway renders it into the Secret
   * `<gateway>-auth`.
   */
  static inlineEphemeral(sharedSecret: string): TurnAuth {
    return new TurnAuth('ephemeral', undefined, { secret: sharedSecret });
  }

  /** The dataplane `auth.type`. */
  readonly type: 'static' | 'ephemeral';
  /** The existing Secret, or undefined for inline credentials (the gateway names their Secret). */
  readonly secretName: string | undefined;
  /** The Secret's keys the pods mount: `username` and `password`, or `secret`. */
  readonly secretKeys: readonly string[];
  /** Inline credentials by Secret key (demos only), or undefined. */
  readonly inlineCredentials: Readonly<Record<string, string>> | undefined;

  private constructor(
    type: 'static' | 'ephemeral',
    secretName: string | undefined,
    inline: Record<string, string> | undefined,
  ) {
    this.type = type;
    this.secretName = secretName;
    this.secretKeys = type === 'static' ? STATIC_KEYS : EPHEMERAL_KEYS;
    this.inlineCredentials = inline;
  }
}
