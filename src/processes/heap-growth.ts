import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection left, in percent.
 * By default it lets a busy process's heap grow up to fourfold with promoted garbage before it
 * collects; at a quarter the web process kept 15–20 MB less RSS after the bench's load, for the
 * same CPU per request.
 */
export const HEAP_GROWING_PERCENT = 25;

const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/;
const PRETENURING = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/**
 * Sets V8's heap growth for the rest of the process's life, unless node was given its own
 * `--heap-growing-percent`. Called once the process listens, not given on node's command line:
 * V8 checks every code cache against the flags it was made with, and Node's built-in modules
 * carry one made with the default flags, so with the flag on the command line every built-in
 * the process loads at start is compiled from source (20–25 ms more to a first answer). V8 reads
 * the value each time it sets the next collection's limit, so set now it holds from the next
 * full collection on. Returns whether it set it.
 *
 * It also turns off V8's allocation-site pretenuring (unless node was given that flag either
 * way). V8 allocates straight into the old generation the objects made where most of a sample
 * outlived a young collection; when a process's first traffic is slow writes (a seeding run,
 * 20 clients of POSTs waiting on fsync), the sites shared by every request are judged
 * long-lived, and from then on every GET's objects go to the old generation, to be freed only
 * by full collections: two identical processes on one database, one of them seeded first,
 * used 63–66 µs of CPU a GET by id against 35 (same run, 6 rounds), and with the flag 34 and
 * 34. A request's objects die young, which is what the young generation is for.
 */
export function limitHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (!given.some((arg) => PRETENURING.test(arg)))
    setFlagsFromString('--no-allocation-site-pretenuring');
  if (given.some((arg) => GIVEN.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
