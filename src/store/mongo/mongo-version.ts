import { MongoServerError, MongoServerSelectionError, type Db, type Document } from 'mongodb';
import { anyCause } from '../connection-errors.ts';
import { UnsupportedServerError } from '../server-version.ts';

/**
 * The oldest MongoDB this adapter runs on. Driver 7 itself refuses anything older than 4.4
 * (wire version 9); the adapter also needs 4.2's pipeline updates and 4.0's transactions,
 * which 4.4 has. https://www.mongodb.com/docs/drivers/compatibility/
 */
export const MIN_MONGO_VERSION = '4.4';

/**
 * The release of each wire version below the driver's minimum, for saying "found 3.2" rather
 * than "wire version 4": a server too old for the driver is never asked for its version
 * string. From the drivers' wire version table (3.0 is 3, 3.2 is 4, … 4.2 is 8, 4.4 is 9).
 */
const RELEASE_OF_WIRE_VERSION: readonly string[] = [
  '2.4 or older',
  '2.6',
  '2.6',
  '3.0',
  '3.2',
  '3.4',
  '3.6',
  '4.0',
  '4.2',
];

// The driver's words when a server is too old (driver 7, src/cmap/connect.ts and
// src/sdam/topology_description.ts): the handshake's "reports maximum wire version 4", the
// topology's "reports wire version 4".
const TOO_OLD = /Server at (\S+) reports (?:maximum )?wire version (\d+)/;

/** Every message the driver may have put the reason in: the error, its causes, its topology. */
function messagesOf(error: unknown): string[] {
  const messages: string[] = [];
  anyCause(error, (e) => {
    if (e instanceof Error) messages.push(e.message);
    if (e instanceof MongoServerSelectionError && e.reason !== undefined) {
      if (e.reason.compatibilityError) messages.push(e.reason.compatibilityError);
      for (const server of e.reason.servers.values()) {
        if (server.error) messages.push(server.error.message);
      }
    }
    return false;
  });
  return messages;
}

/**
 * A connection that failed because the server is too old for the driver. The driver refuses
 * it in the handshake and then waits for a usable server until server selection times out:
 * what the caller gets is a timeout, with the real reason inside. Undefined for any other error.
 */
export function unsupportedFromDriver(error: unknown): UnsupportedServerError | undefined {
  for (const message of messagesOf(error)) {
    const match = TOO_OLD.exec(message);
    const wire = Number(match?.[2]);
    if (match === null || !(wire < RELEASE_OF_WIRE_VERSION.length)) continue;
    const unsupported = new UnsupportedServerError({
      product: 'MongoDB',
      found: RELEASE_OF_WIRE_VERSION[wire]!,
      required: MIN_MONGO_VERSION,
      address: match[1],
    });
    return Object.assign(unsupported, { cause: error });
  }
  return undefined;
}

const atLeast = (version: readonly number[], minimum: readonly number[]) => {
  for (let i = 0; i < minimum.length; i++) {
    const part = version[i] ?? 0;
    if (part !== minimum[i]) return part > minimum[i]!;
  }
  return true;
};

/**
 * The version check on a server the driver did connect to, from its `buildInfo` (which every
 * release has). Needed behind a load balancer, where the driver checks no wire version.
 */
export function checkBuildInfo(buildInfo: Document): UnsupportedServerError | undefined {
  const version = typeof buildInfo.version === 'string' ? buildInfo.version : undefined;
  const parts = Array.isArray(buildInfo.versionArray)
    ? (buildInfo.versionArray as unknown[]).map(Number)
    : version?.split('.').map((p) => Number.parseInt(p, 10));
  if (version === undefined || parts === undefined || parts.some(Number.isNaN)) return undefined;
  const minimum = MIN_MONGO_VERSION.split('.').map(Number);
  if (atLeast(parts, minimum)) return undefined;
  return new UnsupportedServerError({
    product: 'MongoDB',
    found: version,
    required: MIN_MONGO_VERSION,
  });
}

const COMMAND_NOT_FOUND = 59;

/**
 * The server's `hello` reply. `hello` exists from 4.4.2 (and 5.0) on; 4.4.0 and 4.4.1, which
 * the driver accepts, know only its older name `isMaster`, with the same reply.
 * https://www.mongodb.com/docs/manual/reference/command/hello/
 */
export async function helloReply(db: Pick<Db, 'command'>): Promise<Document> {
  try {
    return await db.command({ hello: 1 });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === COMMAND_NOT_FOUND)) throw error;
    return db.command({ isMaster: 1 });
  }
}
