/**
 * CloudRetro's own formats for its coordinator's ICE servers (giongto35/cloud-game, `webrtc.
 * iceServers`, each `{urls, username, credential}` with one URL): the environment variables
 * (prefix `CLOUD_GAME_`, `_` between keys, the list index as a key) and the YAML config file. The
 * CloudRetroDemo construct writes the variables at synth time; the cloudretro-ice step writes the
 * file and the same variables as an env file in the cluster. Both name the URL twice: `URL` (the
 * 2022 releases STUNner's demo image is built from) and `URLS` (later releases).
 */

/** One CloudRetro ICE server: one URL. */
export interface CloudRetroIceServer {
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

/** The `/ice` answer's servers (each with a list of URLs) as CloudRetro's: one entry per URL. */
export function toCloudRetroIceServers(
  iceServers: readonly { urls: string | readonly string[]; username?: string; credential?: string }[],
): CloudRetroIceServer[] {
  return iceServers.flatMap((s) =>
    (typeof s.urls === 'string' ? [s.urls] : s.urls).map((urls) => ({
      urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    })),
  );
}

/** The coordinator's environment variable for field `field` of ICE server `i`. */
export function cloudRetroIceVar(i: number, field: 'URL' | 'URLS' | 'USERNAME' | 'CREDENTIAL'): string {
  return `CLOUD_GAME_WEBRTC_ICESERVERS_${i}_${field}`;
}

/** The variables that configure `servers`, in order. */
function cloudRetroIceEnv(servers: readonly CloudRetroIceServer[]): { name: string; value: string }[] {
  return servers.flatMap((s, i) => [
    { name: cloudRetroIceVar(i, 'URL'), value: s.urls },
    { name: cloudRetroIceVar(i, 'URLS'), value: s.urls },
    ...(s.username !== undefined ? [{ name: cloudRetroIceVar(i, 'USERNAME'), value: s.username }] : []),
    ...(s.credential !== undefined ? [{ name: cloudRetroIceVar(i, 'CREDENTIAL'), value: s.credential }] : []),
  ]);
}

/** The ICE servers that CloudRetro variables configure (the inverse of cloudRetroIceEnv). */
export function parseCloudRetroIceEnv(env: Readonly<Record<string, string>>): CloudRetroIceServer[] {
  const out: CloudRetroIceServer[] = [];
  for (let i = 0; ; i++) {
    const urls = env[cloudRetroIceVar(i, 'URLS')] ?? env[cloudRetroIceVar(i, 'URL')];
    if (urls === undefined) return out;
    const username = env[cloudRetroIceVar(i, 'USERNAME')];
    const credential = env[cloudRetroIceVar(i, 'CREDENTIAL')];
    out.push({
      urls,
      ...(username !== undefined ? { username } : {}),
      ...(credential !== undefined ? { credential } : {}),
    });
  }
}

/** A POSIX shell env file (`set -a; . file`) with the variables, each value single-quoted. */
export function cloudRetroIceEnvFile(servers: readonly CloudRetroIceServer[], header: string): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  const lines = cloudRetroIceEnv(servers).map((e) => `${e.name}=${quote(e.value)}`);
  return `# ${header}\n${lines.join('\n')}\n`;
}

/**
 * CloudRetro's config file with only `webrtc.iceServers`: CloudRetro layers it over its defaults
 * (`$HOME/.cr/config.yaml`). Values are double-quoted (JSON strings are valid YAML scalars).
 */
export function cloudRetroIceYaml(servers: readonly CloudRetroIceServer[], header: string): string {
  const q = (v: string) => JSON.stringify(v);
  const items = servers.map((s) =>
    [
      `    - urls: ${q(s.urls)}`,
      ...(s.username !== undefined ? [`      username: ${q(s.username)}`] : []),
      ...(s.credential !== undefined ? [`      credential: ${q(s.credential)}`] : []),
    ].join('\n'),
  );
  return `# ${header}\nwebrtc:\n  iceServers:\n${items.join('\n')}\n`;
}
