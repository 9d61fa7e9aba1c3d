import net from 'node:net';

export interface RawAnswer {
  /** Everything the server wrote before it closed the socket. */
  text: string;
  status: number;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
  /** Whether the server closed the socket (rather than the guard timer). */
  closedByServer: boolean;
}

/**
 * Writes `chunks` to a fresh socket (each after `gapMs`), then reads until the server closes it or
 * `guardMs` passes. For requests no HTTP client library would send. `from` is the loopback address
 * to send from (the system's choice without it).
 */
export function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  options: { gapMs?: number; guardMs?: number; from?: string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      ...(options.from !== undefined && { localAddress: options.from }),
    });
    const received: Buffer[] = [];
    const queue = [...chunks];
    let closedByServer = true;
    let writer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      const next = () => {
        const chunk = queue.shift();
        if (chunk === undefined || socket.destroyed) return;
        socket.write(chunk);
        writer = setTimeout(next, options.gapMs ?? 0);
      };
      next();
    });
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => undefined);
    const guard = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, options.guardMs ?? 10_000);
    socket.on('close', () => {
      clearTimeout(guard);
      clearTimeout(writer);
      const text = Buffer.concat(received).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const bodyText = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(bodyText) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ text, status, json, closedByServer });
    });
  });
}
