import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback port free right now. Racy by nature: the port is released before the caller's
 * process binds it, and anything on the machine may take it meanwhile. Tests do not use it: a
 * process they start listens on PORT=0 and they read its port from its `ready` log line (see
 * startWeb), and a port that must refuse connections comes from closedPort. It serves the
 * benchmarks and the image tests, whose servers (a container's published port) cannot say theirs.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A loopback port that refuses connections for as long as it is held: the local port of a
 * connection this process keeps open. Nothing listens there and nothing else can start to (a
 * listen on it fails with EADDRINUSE), so a client told to use it meets a closed port, every
 * time. `release()` closes the connection behind it.
 */
export async function closedPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const peer = await accepted;
  // No more connections: the listening socket is not needed to keep the port.
  const closed = new Promise((resolve) => server.close(resolve));
  return {
    port: client.localPort!,
    async release() {
      client.destroy();
      peer.destroy();
      await closed;
    },
  };
}
