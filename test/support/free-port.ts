import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback port free right now, for a child process that must be told its port up front
 * because nobody reads its log lines (where PORT=0 would report the port it got). Asked of the
 * kernel rather than picked at random: a random high port can be an ephemeral one that a
 * client socket of this machine holds.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
