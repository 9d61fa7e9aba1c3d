import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readSync, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { machine, release, type as osType, userInfo } from 'node:os';
import { join } from 'node:path';
import type { HostProbe, Identity, NodeInfo, NodeKind, OpenResult, RunResult } from './probe.ts';

/** More than any /proc or /sys file we read; stops /dev/zero-like surprises. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Searched after PATH: daemons (libvirtd, virtqemud) live in sbin, often not on a user's PATH. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const errnoOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'EUNKNOWN';

/**
 * Reads with O_NONBLOCK so that a FIFO or /dev/kmsg never blocks: /dev/kmsg returns one record per
 * read(2), EAGAIN at the end and EPIPE when a record was overwritten (Documentation/ABI/testing/
 * dev-kmsg), so the same loop reads it and ordinary files.
 */
export function readCapped(path: string, maxBytes: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    let total = 0;
    let overruns = 0;
    while (total < maxBytes) {
      let count: number;
      try {
        count = readSync(fd, buffer, 0, Math.min(buffer.length, maxBytes - total), null);
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'EPIPE' && overruns++ < 16) continue;
        if (code === 'EAGAIN' || code === 'EPIPE' || total > 0) break;
        return undefined;
      }
      if (count === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, count)));
      total += count;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

function kindOf(stats: BigIntStats): NodeKind {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** glibc's gnu_dev_major/gnu_dev_minor: dev_t keeps 12+20 bits of major and 8+12 of minor. */
export function splitDevice(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
  };
}

function statNode(path: string): NodeInfo | undefined {
  try {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (stats === undefined) return undefined;
    const kind = kindOf(stats);
    const info: NodeInfo = {
      kind,
      mode: Number(stats.mode & 0o7777n),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
    };
    return kind === 'char' || kind === 'block' ? { ...info, ...splitDevice(stats.rdev) } : info;
  } catch {
    return undefined;
  }
}

function currentIdentity(): Identity {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const groups = process.getgroups?.() ?? [];
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined; // no passwd entry (containers with --user 1234)
  }
  return { uid, gid, groups: [...new Set([gid, ...groups])], ...(user ? { user } : {}) };
}

export function createSystemProbe(options: {
  root: string;
  env: Readonly<Record<string, string | undefined>>;
}): HostProbe {
  const { root } = options;
  const at = (path: string) => join(root, path);
  const isExecutable = (path: string) => {
    const node = statNode(at(path));
    return node?.kind === 'file' && (node.mode & 0o111) !== 0;
  };
  return {
    root,
    readFile: (path) => readCapped(at(path), MAX_FILE_BYTES)?.toString('utf8'),
    readBytes: (path, maxBytes) => readCapped(at(path), maxBytes),
    listDir(path) {
      try {
        return readdirSync(at(path)).sort();
      } catch {
        return undefined;
      }
    },
    stat: (path) => statNode(at(path)),
    uname: () => ({ sysname: osType(), machine: machine(), release: release() }),
    identity: currentIdentity,
    openReadWrite(path): OpenResult {
      try {
        closeSync(openSync(at(path), constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY));
        return { ok: true };
      } catch (error) {
        return { ok: false, code: errnoOf(error) };
      }
    },
    which(name) {
      if (name.startsWith('/')) return isExecutable(name) ? name : undefined;
      const pathDirs = (options.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
      for (const dir of new Set([...pathDirs, ...SYSTEM_DIRS])) {
        const candidate = `${dir.replace(/\/+$/, '')}/${name}`;
        if (isExecutable(candidate)) return candidate;
      }
      return undefined;
    },
    run(file, args, runOptions): RunResult {
      // A binary under another root would run against this machine's kernel: meaningless.
      if (root !== '/')
        return { status: null, stdout: '', stderr: '', timedOut: false, error: 'EXDEV' };
      const result = spawnSync(file, args, {
        input: runOptions.input,
        timeout: runOptions.timeoutMs,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
        maxBuffer: 1024 * 1024,
        env: { PATH: options.env.PATH ?? SYSTEM_DIRS.join(':'), LC_ALL: 'C' },
      });
      const error = result.error ? errnoOf(result.error) : undefined;
      return {
        status: result.status,
        stdout: result.stdout ?? '',
        stderr: result.stderr ?? '',
        timedOut: error === 'ETIMEDOUT',
        ...(error ? { error } : {}),
      };
    },
  };
}
