import { Transform, finished, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { validationFailed } from '../../users/errors.ts';
import { MAX_ATTRIBUTES } from '../body-bounds.ts';

/** Bodies up to this size are parsed as they are: a user's attributes fit in far less. */
const SCAN_FROM_BYTES = 8 * 1024;
/** More `:` or `&` than this, and no object or form in the body can be a user. */
const MAX_SEPARATORS = 1024;
const COLON = 0x3a;
const AMPERSAND = 0x26;

function count(chunk: Buffer, byte: number): number {
  let n = 0;
  for (let i = chunk.indexOf(byte); i !== -1; i = chunk.indexOf(byte, i + 1)) n++;
  return n;
}

/**
 * Parsing a body costs time per member: a JSON object or form of 90,000 keys takes the event
 * loop for a tenth of a second or more, for every client, before validation can refuse it. Every
 * JSON member needs a `:` and every form pair an `&`, so counting those bytes as a large body
 * arrives bounds its members cheaply; past the bound the body is refused (400) unparsed.
 */
export function bodyScan(app: FastifyInstance): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    // No body at all (a GET): leave the request stream alone. Reading it to its end would emit
    // the request's 'close', which Fastify takes for a client gone.
    const headers = request.headers;
    if (headers['transfer-encoding'] === undefined && headers['content-length'] === undefined) {
      return done(null, payload);
    }
    // Absent (a chunked body) counts as large.
    const length = Number(headers['content-length'] ?? Infinity);
    if (length <= SCAN_FROM_BYTES) return done(null, payload);
    let separators = 0;
    const scan = new Transform({
      transform(chunk: Buffer, _encoding, next: TransformCallback) {
        separators += count(chunk, COLON) + count(chunk, AMPERSAND);
        if (separators <= MAX_SEPARATORS) return next(null, chunk);
        next(
          validationFailed([
            {
              field: 'body',
              message: `has more than ${MAX_ATTRIBUTES} attributes, or values longer than any attribute allows`,
            },
          ]),
        );
      },
    });
    // The body parser listens while it reads; an error after that must not go unhandled.
    scan.on('error', () => undefined);
    // `pipe()` passes on neither an error nor an early close: without this, a client that drops
    // mid-body would leave the parser waiting forever. Not `pipeline()`, which would destroy the
    // request, and with it the socket the 400 is written to.
    finished(payload, (error) => {
      if (error && !scan.destroyed) scan.destroy(error);
    });
    payload.pipe(scan);
    done(null, scan);
  });
}
