import type { Socket } from 'node:net';

/** Deferred connections read per turn of the event loop once a turn accepts none. */
const RESUME_PER_TURN = 16;
/** From this long deferred on, a connection may be read while connections keep arriving. */
const DEFER_MAX_MS = 500;

/**
 * Connections accepted paused whose reading waits for a burst of connections to be in.
 *
 * Node accepts one connection per turn of the event loop (libuv since 1.45), and each turn
 * also reads and answers what the connections accepted before it sent. In a burst of N
 * connections, a client opening one more waits in the kernel's accept queue for N turns, each
 * as long as an accept plus a request: during 1,500 connections that each send one
 * `GET /healthz`, another client's new connection waited there 130 ms to 900 ms on a loaded
 * machine. So while connections keep arriving, a new one from a heavy address is accepted
 * but not read: each turn is then little more than an accept, the queue drains faster, and a
 * connection from an address holding few is read at once, right after its accept. Deferred
 * connections are read oldest first: RESUME_PER_TURN a turn once a turn accepts none (the
 * queue is empty), and, while connections keep arriving, one a turn of those deferred
 * DEFER_MAX_MS, so that a flood that never pauses is still served. A deferred connection has
 * read nothing: near the cap it may be closed to make room, as one that has sent nothing.
 */
export class DeferredReads {
  /** Each paused connection and when it was deferred, oldest first. */
  readonly #waiting = new Map<Socket, number>();
  #acceptedThisTurn = false;
  #resuming = false;

  /** A connection was accepted in this turn of the event loop. */
  accepted(): void {
    this.#acceptedThisTurn = true;
  }

  /** Reads `socket` (accepted paused) later, as above. */
  defer(socket: Socket): void {
    this.#waiting.set(socket, performance.now());
    if (!this.#resuming) {
      this.#resuming = true;
      setImmediate(this.#resume);
    }
  }

  /** `socket` closed: nothing left to read. */
  forget(socket: Socket): void {
    this.#waiting.delete(socket);
  }

  readonly #resume = () => {
    // Oldest first. While connections arrive, only one deferred too long: each turn then
    // costs at most what it did when every connection was read at once.
    const since = this.#acceptedThisTurn ? performance.now() - DEFER_MAX_MS : Infinity;
    let budget = this.#acceptedThisTurn ? 1 : RESUME_PER_TURN;
    this.#acceptedThisTurn = false;
    for (const [socket, deferredAt] of this.#waiting) {
      if (budget-- <= 0 || deferredAt > since) break;
      this.#waiting.delete(socket);
      socket.resume();
    }
    if (this.#waiting.size > 0) setImmediate(this.#resume);
    else this.#resuming = false;
  };
}
