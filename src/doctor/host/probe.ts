import { createFixtureProbe, FIXTURE_METADATA } from './probe-fixture.ts';
import { createSystemProbe } from './probe-system.ts';

export type NodeKind = 'file' | 'dir' | 'char' | 'block' | 'socket' | 'fifo' | 'symlink' | 'other';

export interface NodeInfo {
  kind: NodeKind;
  /** Permission bits only (e.g. 0o660). */
  mode: number;
  uid: number;
  gid: number;
  /** Device numbers, for char and block devices. */
  major?: number;
  minor?: number;
}

/** The running kernel's view, never Node's build (`os.arch()` is the build architecture). */
export interface Uname {
  sysname: string;
  machine: string;
  release: string;
}

export interface Identity {
  uid: number;
  gid: number;
  /** Supplementary groups of this process, as the kernel checks them on open(2). */
  groups: number[];
  user?: string;
}

export type OpenResult = { ok: true } | { ok: false; code: string };

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** errno-style code when the program could not be started (ENOENT …). */
  error?: string;
}

export interface RunOptions {
  input: string;
  timeoutMs: number;
}

/**
 * Every read `doctor host` makes goes through this port, so a test can describe a host as a
 * directory. Paths are host paths (`/proc/cpuinfo`) resolved under `root`. No method throws: a
 * missing or unreadable file is `undefined`, an odd one is returned as is for the parsers to
 * reject.
 */
export interface HostProbe {
  readonly root: string;
  readFile(path: string): string | undefined;
  readBytes(path: string, maxBytes: number): Uint8Array | undefined;
  listDir(path: string): string[] | undefined;
  /** Follows symlinks, like open(2) does. */
  stat(path: string): NodeInfo | undefined;
  uname(): Uname;
  identity(): Identity;
  /** Opens read-write as the current user and closes again: the one test that decides access. */
  openReadWrite(path: string): OpenResult;
  /** The host path of an executable on PATH or in the sbin directories, if any. */
  which(name: string): string | undefined;
  run(file: string, args: readonly string[], options: RunOptions): RunResult;
}

export interface HostProbeOptions {
  /** `/` for this machine, or a directory holding another host's files. */
  root?: string;
  /** Where PATH comes from; only the composition root passes process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The real probe. A root holding `host.json` is a fixture: the metadata supplies what files
 * cannot hold (device numbers, modes, owners, uname, identity, executables, open results).
 */
export function createHostProbe(options: HostProbeOptions = {}): HostProbe {
  const root = options.root ?? '/';
  const system = createSystemProbe({ root, env: options.env ?? {} });
  if (root === '/') return system;
  const metadata = system.readFile(`/${FIXTURE_METADATA}`);
  return metadata === undefined ? system : createFixtureProbe({ root, metadata });
}
