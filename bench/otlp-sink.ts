import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A collector for the tracing-on scenarios: reads each OTLP export whole and answers 200, as a
 * healthy collector does, so the figures are the service's cost of tracing, not a collector's.
 */
export async function startOtlpSink(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () =>
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
