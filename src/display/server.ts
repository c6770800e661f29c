/**
 * The display's HTTP server (node:http, no framework): the page and its two static files, the Server-Sent Events
 * stream, /healthz, /metrics, portrait images and the optional preview. Read-only: every route is GET (or HEAD),
 * and nothing here changes the daemon.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
/** Everything the page loads comes from this server: no CDN, no external font, no inline script. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const SSE_HEARTBEAT_MS = 15_000;

export interface PageAssets {
  files: Map<string, { body: Buffer; type: string }>;
  version: string;
}

export async function loadPageAssets(): Promise<PageAssets> {
  const files = new Map<string, { body: Buffer; type: string }>();
  const hash = createHash('sha256');
  for (const [route, { file, type }] of Object.entries(PAGE_FILES)) {
    const body = await readFile(new URL(file, PAGE_DIR));
    hash.update(body);
    files.set(route, { body, type });
  }
  return { files, version: hash.digest('hex').slice(0, 12) };
}

export interface BinaryBody {
  body: Buffer;
  type: string;
}

export interface DisplayRoutes {
  assets: PageAssets;
  /** The current view, JSON-serialisable; sent on connect and after every change. */
  snapshot(): unknown;
  health(): { ok: boolean; body: unknown };
  metrics(): Promise<{ body: string; type: string }>;
  portrait(id: string): Promise<BinaryBody | null>;
  preview(): Promise<BinaryBody | null>;
  onError(what: string, err: unknown): void;
}

export class DisplayServer {
  private readonly server: http.Server;
  private readonly clients = new Set<http.ServerResponse>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly routes: DisplayRoutes) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        routes.onError(`${req.method} ${req.url}`, err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // A kiosk browser keeps one long-lived connection; nothing here should wait on slow clients.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 0;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new Error(`display: cannot listen on ${host}:${port}: ${why}`));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.heartbeat = setInterval(() => this.writeAll(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
        this.heartbeat.unref();
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Sends the current view to every connected page. */
  broadcast(): void {
    this.writeAll(sseMessage('state', this.routes.snapshot()));
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    // Ending the streams makes each page's EventSource reconnect on its own once a new server listens.
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private writeAll(chunk: string): void {
    for (const res of this.clients) res.write(chunk);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only\n');
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = this.routes.assets.files.get(pathname === '/index.html' ? '/' : pathname);
    if (page) {
      send(res, 200, page.type, page.body, { 'cache-control': 'no-cache' });
      return;
    }
    if (pathname === '/events') {
      this.openStream(req, res);
      return;
    }
    if (pathname === '/healthz') {
      const { ok, body } = this.routes.health();
      send(res, ok ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`, { 'cache-control': 'no-store' });
      return;
    }
    if (pathname === '/metrics') {
      const { body, type } = await this.routes.metrics();
      send(res, 200, type, body, { 'cache-control': 'no-store' });
      return;
    }
    const portrait = /^\/portraits\/([A-Za-z0-9_-]{1,64})\.jpg$/.exec(pathname);
    if (portrait?.[1]) {
      const image = await this.routes.portrait(portrait[1]);
      if (image) send(res, 200, image.type, image.body, { 'cache-control': 'max-age=86400, immutable' });
      else send(res, 404, 'text/plain', 'no such portrait\n');
      return;
    }
    if (pathname === '/preview.jpg') {
      const image = await this.routes.preview();
      if (image) send(res, 200, image.type, image.body, { 'cache-control': 'no-store' });
      else send(res, 404, 'text/plain', 'preview off\n');
      return;
    }
    send(res, 404, 'text/plain', 'not found\n');
  }

  private openStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true);
    // retry: how soon the page's EventSource tries again after the daemon went away.
    res.write(`retry: 1000\n${sseMessage('state', this.routes.snapshot())}`);
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    res.on('error', (err) => {
      drop();
      this.routes.onError('event stream', err);
    });
  }
}

function sseMessage(event: string, data: unknown): string {
  // JSON has no raw newlines, so one data line carries the whole message.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
