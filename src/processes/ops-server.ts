import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's and the clock's small HTTP port: `/healthz` (liveness), `/readyz` (the store
 * answers, not draining) and `/metrics` (Prometheus). Plain node:http, so these process types
 * never load Fastify; nothing else is served, and it is meant for the cluster network only.
 */
export async function startOpsServer(options: {
  port: number;
  host: string;
  registry: Registry;
  live: () => boolean;
  ready: () => boolean;
}): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const answer = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(405, '{"status":"method not allowed"}');
    } else if (path === '/healthz') {
      const live = options.live();
      answer(live ? 200 : 503, JSON.stringify({ status: live ? 'ok' : 'stalled' }));
    } else if (path === '/readyz') {
      const ready = options.ready();
      answer(ready ? 200 : 503, JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => answer(200, text, options.registry.contentType),
        () => answer(500, '{"status":"metrics failed"}'),
      );
    } else {
      answer(404, '{"status":"not found"}');
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
