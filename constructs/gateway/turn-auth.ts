/**
 * How a gateway's clients authenticate (RFC 8489 long-term credentials): a fixed username and
 * password, or TURN REST API ephemeral credentials minted from a shared secret. Production
 * credentials come from a Secret that stays out of git: one that exists already (by name), or a
 * SealedSecret or ExternalSecret the chart renders (an ISecretSource). Inline credentials are for
 * demos: they are in your source, and the gateway renders them into a Secret.
 */
import { EPHEMERAL_AUTH_KEYS, STATIC_AUTH_KEYS } from '../../contract/secret-keys.js';
import type { ISecretSource } from '../core/secrets.js';

/** A Secret by name (created out of band), or a construct that will produce it. */
export type SecretReference = string | ISecretSource;

export class TurnAuth {
  /**
   * Static credentials from a Secret in the gateway's namespace with the keys `username` and
   * `password`: the name of an existing Secret, or a `SealedSecret` / `ExternalSecret` (any
   * ISecretSource), whose keys synth checks.
   */
  static fromSecret(secret: SecretReference): TurnAuth {
    return new TurnAuth('static', secret, undefined);
  }

  /**
   * Ephemeral (TURN REST API) credentials, minted from the shared secret under the key `secret`
   * of a Secret in the gateway's namespace: the name of an existing Secret, or a `SealedSecret` /
   * `ExternalSecret` (any ISecretSource), whose keys synth checks.
   */
  static ephemeral(secret: SecretReference): TurnAuth {
    return new TurnAuth('ephemeral', secret, undefined);
  }

  /**
   * Static credentials given inline (demos only): the gateway renders them into the Secret
   * `<gateway>-auth`, so they end up in git; synth warns when Argo CD syncs the chart. Default
   * and guessable passwords fail synth unless the gateway sets `allowWeakCredentials`.
   */
  static inline(username: string, password: string): TurnAuth {
    return new TurnAuth('static', undefined, { username, password });
  }

  /**
   * An ephemeral shared secret given inline (demos only): the gateway renders it into the Secret
   * `<gateway>-auth`, so it ends up in git; synth warns when Argo CD syncs the chart.
   */
  static inlineEphemeral(sharedSecret: string): TurnAuth {
    return new TurnAuth('ephemeral', undefined, { secret: sharedSecret });
  }

  /** The dataplane `auth.type`. */
  readonly type: 'static' | 'ephemeral';
  /** The Secret's name, or undefined for inline credentials (the gateway names their Secret). */
  readonly secretName: string | undefined;
  /**
   * The SealedSecret, ExternalSecret or other ISecretSource the Secret comes from, or undefined
   * (an existing Secret by name, or inline credentials).
   */
  readonly secretSource: ISecretSource | undefined;
  /** The Secret's keys the pods mount: `username` and `password`, or `secret`. */
  readonly secretKeys: readonly string[];
  /** Inline credentials by Secret key (demos only), or undefined. */
  readonly inlineCredentials: Readonly<Record<string, string>> | undefined;

  private constructor(
    type: 'static' | 'ephemeral',
    secret: SecretReference | undefined,
    inline: Record<string, string> | undefined,
  ) {
    this.type = type;
    this.secretName = typeof secret === 'string' ? secret : secret?.secretName;
    this.secretSource = typeof secret === 'string' ? undefined : secret;
    this.secretKeys = [...(type === 'static' ? STATIC_AUTH_KEYS : EPHEMERAL_AUTH_KEYS)];
    this.inlineCredentials = inline;
  }

  /** Which factory made this, for messages (`TurnAuth.inline(...)`, ...). */
  get factory(): string {
    if (this.inlineCredentials !== undefined)
      return this.type === 'static' ? 'TurnAuth.inline(...)' : 'TurnAuth.inlineEphemeral(...)';
    return this.type === 'static' ? 'TurnAuth.fromSecret(...)' : 'TurnAuth.ephemeral(...)';
  }
}
