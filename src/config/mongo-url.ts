import { createRequire } from 'node:module';

type ConnectionStringModule = typeof import('mongodb-connection-string-url');

let parser: ConnectionStringModule | undefined;

/**
 * Why a `mongodb://` or `mongodb+srv://` URL cannot be used, or undefined when it can. The
 * driver's own parser decides (the package MongoClient itself parses with), so a seed list
 * (`mongodb://a:27017,b:27017/app?replicaSet=rs0`), which the WHATWG URL parser rejects, is
 * accepted and anything the driver would refuse is refused here, at start. Loaded on first use
 * only: its URL library costs tens of milliseconds to load, which no SQL deployment should pay.
 */
export function mongoUrlProblem(raw: string): string | undefined {
  parser ??= createRequire(import.meta.url)(
    'mongodb-connection-string-url',
  ) as ConnectionStringModule;
  try {
    const url = new parser.ConnectionString(raw);
    if (url.hosts.some((host) => host === '' || host.startsWith(':'))) return 'has an empty host';
    return undefined;
  } catch (error) {
    // The parser's messages name the part at fault and never echo the password.
    return `is not a valid MongoDB connection string (${(error as Error).message})`;
  }
}
