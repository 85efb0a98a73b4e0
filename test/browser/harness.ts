/**
 * Browser harness: Debian's chromium driven by playwright-core (never a downloaded browser), a
 * page served from http://127.0.0.1 (a secure context, so getUserMedia works), and a WebRTC call
 * between two RTCPeerConnections in that page, whose ICE configuration the test chooses.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface CallOptions {
  /** The RTCPeerConnection configuration of both peers, passed verbatim. */
  readonly rtc: unknown;
  /** Send fake-camera video from peer 1 to peer 2. */
  readonly video: boolean;
  /** Give up after this long. */
  readonly timeoutMs: number;
}

export interface CallResult {
  readonly connected: boolean;
  /** Why it failed, when it did. */
  readonly error?: string;
  readonly message?: string;
  readonly videoBytesReceived: number;
  /** Candidate types of the selected pair, from getStats on peer 1. */
  readonly localCandidateType?: string;
  readonly remoteCandidateType?: string;
  /** 'udp' or 'tcp': how peer 1 reaches its TURN server. */
  readonly relayProtocol?: string;
  /** Types of every candidate peer 1 gathered, e.g. ['relay', 'relay']. */
  readonly gathered: string[];
  readonly candidateErrors: string[];
}

export class BrowserHarness {
  #server: Server | undefined;
  #context: BrowserContext | undefined;
  #profile: string | undefined;
  #origin = '';

  /** @param extraArgs more chromium flags for one test's browser */
  async start(extraArgs: readonly string[] = []): Promise<void> {
    const script = await readFile(new URL('./page.js', import.meta.url), 'utf8');
    this.#server = createServer((req, res) => {
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(script);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!doctype html><meta charset="utf-8"><title>webrtc via stunnerd</title><script src="/page.js"></script>',
      );
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.#origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.#profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
    // A fresh profile per run: launchPersistentContext is how playwright takes --user-data-dir.
    this.#context = await chromium.launchPersistentContext(this.#profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        ...extraArgs,
      ],
      timeout: 30_000,
    });
  }

  async stop(): Promise<void> {
    await this.#context?.close().catch(() => {});
    if (this.#server) {
      this.#server.closeAllConnections();
      await new Promise<void>((r) => this.#server!.close(() => r()));
    }
    if (this.#profile) await rm(this.#profile, { recursive: true, force: true });
  }

  /** One call in a fresh page; the page is closed afterwards. */
  async call(opts: CallOptions): Promise<CallResult> {
    const page: Page = await this.#context!.newPage();
    try {
      await page.goto(this.#origin);
      return await page.evaluate(
        (o) => (globalThis as unknown as { runCall(o: CallOptions): Promise<CallResult> }).runCall(o),
        opts,
      );
    } finally {
      await page.close();
    }
  }
}
