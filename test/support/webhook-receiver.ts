import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;

export interface Receipt {
  path: string;
  id: string;
  headers: Record<string, string>;
  body: string;
  /** `sequence`, `type` and `data.userId` of the body. */
  sequence: number;
  type: string;
  userId: string;
  receivedAt: number;
  /** The status we answered; undefined while held or when the sender went away first. */
  status?: number;
}

/** What the receiver does with one request: answer a status, or hold it until released. */
export type Behaviour = (receipt: Receipt) => number | 'hold';

/**
 * A webhook endpoint on 127.0.0.1 for tests: records every request, answers as `behaviour`
 * says, and can go away (refusing connections) and come back on the same port.
 */
export class WebhookReceiver {
  readonly receipts: Receipt[] = [];
  behaviour: Behaviour = () => 204;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<{ receipt: Receipt; response: ServerResponse }>();
  private waiters = new Set<() => void>();
  port = 0;

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Goes away: open connections are cut and new ones refused until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Answers every held request with `status`. */
  release(status = 204): void {
    for (const entry of this.held) this.answer(entry.receipt, entry.response, status);
    this.held.clear();
  }

  /** Receipts answered 2xx, in the order they arrived. */
  accepted(path?: string): Receipt[] {
    return this.receipts.filter(
      (r) => r.status !== undefined && r.status < 300 && (path === undefined || r.path === path),
    );
  }

  /** Resolves once `condition` holds, re-checked on every request; rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `receiver: condition not met within ${timeoutMs} ms (${this.receipts.length} receipts)`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Every receipt verified with the standardwebhooks package, an independent implementation. */
  verifyAll(secret = TEST_WEBHOOK_SECRET): void {
    const webhook = new Webhook(secret);
    for (const receipt of this.receipts) webhook.verify(receipt.body, receipt.headers);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const parsed = JSON.parse(body) as { sequence: number; type: string; data: { userId: string } };
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.join(', ') : (v ?? ''),
      ]),
    );
    const receipt: Receipt = {
      path: (request.url ?? '/').split('?')[0] ?? '/',
      id: headers['webhook-id'] ?? '',
      headers,
      body,
      sequence: parsed.sequence,
      type: parsed.type,
      userId: parsed.data.userId,
      receivedAt: Date.now(),
    };
    this.receipts.push(receipt);
    const decision = this.behaviour(receipt);
    if (decision === 'hold') this.held.add({ receipt, response });
    else this.answer(receipt, response, decision);
    for (const wake of this.waiters) wake();
  }

  private answer(receipt: Receipt, response: ServerResponse, status: number): void {
    if (response.destroyed || response.socket?.destroyed) return;
    receipt.status = status;
    response.writeHead(status).end();
    for (const wake of this.waiters) wake();
  }
}

/** For each user, the sequences of its accepted receipts must rise: per-user order held. */
export function outOfOrder(receipts: readonly Receipt[]): string[] {
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const receipt of receipts) {
    const previous = last.get(receipt.userId) ?? -1;
    if (receipt.sequence < previous)
      problems.push(`${receipt.userId}: ${receipt.sequence} after ${previous}`);
    last.set(receipt.userId, Math.max(previous, receipt.sequence));
  }
  return problems;
}
