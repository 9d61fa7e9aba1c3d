/** Parsers for the kernel's text files. Each accepts any string and ignores lines it cannot read. */

export interface CpuInfo {
  vendor?: string;
  modelName?: string;
  /** One set per `flags` line, i.e. per logical CPU on x86. */
  flagSets: Set<string>[];
  /** Every flag seen on any CPU. */
  flags: Set<string>;
}

export function parseCpuInfo(text: string): CpuInfo {
  const info: CpuInfo = { flagSets: [], flags: new Set() };
  for (const line of text.split('\n')) {
    const match = /^([^:\n]+?)\s*:\s?(.*)$/.exec(line);
    if (!match) continue;
    const key = (match[1] ?? '').trim();
    const value = (match[2] ?? '').trim();
    // Only `flags`: since 6.8 a `vmx flags` line lists VMX sub-features, not VMX itself.
    if (key === 'flags' || key === 'Features') {
      const set = new Set(value.split(/\s+/).filter(Boolean));
      info.flagSets.push(set);
      for (const flag of set) info.flags.add(flag);
    } else if (key === 'vendor_id' && info.vendor === undefined) info.vendor = value;
    else if (key === 'model name' && info.modelName === undefined) info.modelName = value;
  }
  return info;
}

export type CpuVendor = 'intel' | 'amd' | 'other';

/** Zhaoxin/Centaur run kvm_intel, Hygon runs kvm_amd. */
export function cpuVendorOf(vendorId: string | undefined): CpuVendor {
  if (vendorId === undefined) return 'other';
  if (/GenuineIntel|CentaurHauls|Shanghai/.test(vendorId)) return 'intel';
  if (/AuthenticAMD|HygonGenuine/.test(vendorId)) return 'amd';
  return 'other';
}

/** Module names use `_` in /proc/modules and /sys/module, `-` in file names; compare on `_`. */
export const moduleName = (name: string) => name.replace(/-/g, '_');

/** /proc/modules: `name size refcount deps state address`. */
export function parseModules(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = /^([\w-]+)\s/.exec(line)?.[1];
    if (name) names.add(moduleName(name));
  }
  return names;
}

/** modules.builtin: `kernel/arch/x86/kvm/kvm-intel.ko` per line. */
export function parseBuiltinModules(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = /([\w-]+)\.ko(?:\.\w+)?\s*$/.exec(line)?.[1];
    if (name) names.add(moduleName(name));
  }
  return names;
}

/** /proc/misc: `minor name`, e.g. `232 kvm`. */
export function parseMisc(text: string): Map<string, number> {
  const devices = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (match) devices.set(match[2] ?? '', Number(match[1]));
  }
  return devices;
}

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
}

export function parseKernelVersion(release: string): KernelVersion | undefined {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

export function atLeast(version: KernelVersion, major: number, minor: number, patch = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

export const formatVersion = (v: KernelVersion) => `${v.major}.${v.minor}.${v.patch}`;

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** /etc/group: `name:password:gid:member,member`. */
export function parseGroups(text: string): GroupEntry[] {
  const groups: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (!name || gid === undefined || !/^\d+$/.test(gid)) continue;
    groups.push({ name, gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
  }
  return groups;
}

/**
 * Kernel log lines without their prefixes: /dev/kmsg records (`6,339,5140900,-;text`) and
 * dmesg's `[    0.341434] text` both become `text`.
 */
export function parseKernelLog(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.startsWith(' ')) // kmsg continuation lines (` SUBSYSTEM=…`)
    .map((line) => line.replace(/^\d+,\d+,\d+,[^;]*;/, '').replace(/^\[\s*[\d.]+\]\s*/, ''))
    .filter((line) => line.trim() !== '');
}

/** `Y`, `1` (bool and int module parameters) count as on. */
export const isOn = (value: string | undefined) =>
  value !== undefined && /^(Y|1)$/.test(value.trim());
