import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * Real disks for fault tests: a small tmpfs, or an ext4 file system on a loop device. Mounting
 * needs root (and loop devices); where it cannot be done the test is skipped with the reason.
 * Each disk is undone by its own `unmount` (once, however often it is called), in the reverse
 * order of building, even when a step fails: no mount, loop device or directory is left behind.
 */
export interface Disk {
  dir: string;
  unmount: () => void;
}

const run = (command: string, args: string[]): string =>
  execFileSync(command, args, { stdio: 'pipe', encoding: 'utf8' });

/** Runs every step, even after one throws; throws the first error at the end. */
function undoAll(steps: (() => void)[]): void {
  let failure: unknown;
  // Once only: a test may unmount early (to inspect the image), and its after-hook again.
  const pending = steps.splice(0);
  for (const step of pending) {
    try {
      step();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/** A tmpfs of `sizeMiB`, mounted on a fresh directory; undefined (the test skipped) without root. */
export function mountTmpfs(t: TestContext, sizeMiB: number): Disk | undefined {
  const dir = mkdtempSync(join(tmpdir(), 't12f-tmpfs-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  } catch (error) {
    rmSync(dir, { recursive: true });
    t.skip(`cannot mount a tmpfs here (${String(error).split('\n')[0]}); needs root`);
    return undefined;
  }
  const undo = [() => run('umount', [dir]), () => rmSync(dir, { recursive: true })];
  return { dir, unmount: () => undoAll(undo) };
}

export interface Ext4Disk extends Disk {
  /** The loop device, e.g. /dev/loop3. */
  device: string;
  /** The image file the loop device reads and writes. */
  image: string;
}

/**
 * A fresh 64 MiB ext4 file system in the sparse file `image`, on a loop device, mounted with
 * `options` on a fresh directory; undefined (the test skipped) without root or loop devices.
 * `prepare` runs on the formatted image before it is attached. The image stays after
 * `unmount`, for inspectExt4; it lives wherever the test cleans up.
 */
export function mountExt4(
  t: TestContext,
  image: string,
  options: string,
  prepare: (image: string) => void = () => {},
): Ext4Disk | undefined {
  const undo: (() => void)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 't12f-ext4-'));
  undo.unshift(() => rmSync(dir, { recursive: true }));
  let device: string;
  try {
    run('truncate', ['-s', '64M', image]);
    // 64 inodes: the inode tables stay small, so a thin image needs little real space.
    run('mkfs.ext4', ['-q', '-F', '-N', '64', image]);
    prepare(image);
    device = run('losetup', ['--find', '--show', image]).trim();
    undo.unshift(() => run('losetup', ['-d', device]));
    run('mount', ['-t', 'ext4', '-o', options, device, dir]);
  } catch (error) {
    undoAll(undo);
    t.skip(`cannot mount an ext4 loop device here (${String(error).split('\n')[0]}); needs root`);
    return undefined;
  }
  undo.unshift(() => run('umount', [dir]));
  return { dir, device, image, unmount: () => undoAll(undo) };
}

/**
 * Checks and repairs an unmounted image, mounts it again and hands its directory to `inspect`.
 * e2fsck exits 0 (clean) or 1 (errors corrected, e.g. the free counts after an aborted
 * journal); anything above means damage it could not repair, and fails the test.
 */
export function inspectExt4<T>(image: string, inspect: (dir: string) => T): T {
  try {
    run('e2fsck', ['-fy', image]);
  } catch (error) {
    assert.equal((error as { status?: number }).status, 1, String(error));
  }
  const disk = mountExt4Again(image);
  try {
    return inspect(disk.dir);
  } finally {
    disk.unmount();
  }
}

function mountExt4Again(image: string): Disk {
  const undo: (() => void)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 't12f-ext4-'));
  undo.unshift(() => rmSync(dir, { recursive: true }));
  try {
    const device = run('losetup', ['--find', '--show', image]).trim();
    undo.unshift(() => run('losetup', ['-d', device]));
    run('mount', ['-t', 'ext4', device, dir]);
    undo.unshift(() => run('umount', [dir]));
  } catch (error) {
    undoAll(undo);
    throw error;
  }
  return { dir, unmount: () => undoAll(undo) };
}

/**
 * Makes the kernel treat the file system on `device` as failing: ext4 aborts its journal and,
 * mounted with `errors=remount-ro`, turns read-only, open files included.
 */
export function triggerFsError(device: string): void {
  run('sh', ['-c', `echo 1 > /sys/fs/ext4/${basename(device)}/trigger_fs_error`]);
}

/**
 * Gives the ext4 journal of an unattached image real space in the file under it, so a thin
 * image (a sparse file on a small disk) that runs out of space fails only writes of new data,
 * never the journal's (which would abort it and make the file system read-only for good).
 */
export function provisionJournal(image: string): void {
  const stat = run('debugfs', ['-R', 'stat <8>', image]);
  const extents = [...stat.matchAll(/\(\d+-\d+\):(\d+)-(\d+)/g)];
  assert.ok(extents.length > 0, `no journal extents in: ${stat}`);
  const blockSize = Number(/Block size:\s*(\d+)/.exec(run('dumpe2fs', ['-h', image]))?.[1]);
  for (const [, first, last] of extents) {
    const offset = Number(first) * blockSize;
    const length = (Number(last) - Number(first) + 1) * blockSize;
    run('fallocate', ['-o', String(offset), '-l', String(length), image]);
  }
}

/** Writes `path` until the file system is full; answers how many bytes fit. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  return written;
}
