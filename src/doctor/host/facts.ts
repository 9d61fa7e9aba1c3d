import { archProfileOf, type ArchProfile } from './arch.ts';
import { detectEnvironment, type EnvironmentFacts } from './environment.ts';
import {
  FIRMWARE_DISABLED,
  kvmLogReasonOf,
  readKernelLog,
  type KvmLogReason,
} from './kernel-log.ts';
import {
  cpuVendorOf,
  parseBuiltinModules,
  parseCpuInfo,
  parseGroups,
  parseKernelVersion,
  parseMisc,
  parseModules,
  type CpuInfo,
  type CpuVendor,
  type GroupEntry,
  type KernelVersion,
} from './parse.ts';
import type { HostProbe, Identity, NodeInfo, OpenResult, Uname } from './probe.ts';

export const KVM_DEVICE = '/dev/kvm';
/** include/linux/miscdevice.h: MISC_MAJOR 10, KVM_MINOR 232. */
export const KVM_MAJOR = 10;
export const KVM_MINOR = 232;

export type ModuleState = 'loaded' | 'builtin' | 'absent';

export interface ModuleFacts {
  /** False when neither /proc/modules nor /sys/module could be read. */
  readable: boolean;
  /**
   * False when the kernel cannot load modules: /proc/modules exists only with CONFIG_MODULES=y.
   * Unknown (true) when /sys/module is unreadable too.
   */
  loadable: boolean;
  state(name: string): ModuleState;
  /** /sys/module/<module>/parameters/<name>, trimmed. */
  param(module: string, name: string): string | undefined;
  evidence: string[];
}

export interface KvmDeviceFacts {
  node?: NodeInfo;
  open: OpenResult;
  /** A character device 10:232. */
  valid: boolean;
}

/** Everything the checks look at, read once through the probe. */
export interface HostFacts {
  uname: Uname;
  identity: Identity;
  arch?: ArchProfile;
  kernel?: KernelVersion;
  cpu?: CpuInfo;
  cpuVendor: CpuVendor;
  modules: ModuleFacts;
  misc?: Map<string, number>;
  device: KvmDeviceFacts;
  /**
   * The kernel's KVM is up: /dev/kvm opens, or it is a valid node and the kernel lists `kvm` in
   * /proc/misc (registered only once a vendor module initialised, virt/kvm/kvm_main.c).
   * Deliberately not "this user can open it": a permission problem is not a CPU problem.
   */
  kvmUp: boolean;
  kernelLog?: string[];
  /** Where the kernel log came from (/dev/kmsg, /var/log/dmesg). */
  kernelLogSource?: string;
  /** The kernel log line proving VT is disabled in firmware, if any. */
  firmwareDisabled?: string;
  /** The kernel log line saying why KVM did not start (the firmware one included), if any. */
  kvmLogReason?: KvmLogReason;
  groups?: GroupEntry[];
  environment: EnvironmentFacts;
}

function readModules(probe: HostProbe, release: string): ModuleFacts {
  const procText = probe.readFile('/proc/modules');
  const loaded = procText === undefined ? undefined : parseModules(procText);
  const sysModules = probe.listDir('/sys/module');
  const builtinText = probe.readFile(`/lib/modules/${release}/modules.builtin`);
  const builtinList = builtinText === undefined ? undefined : parseBuiltinModules(builtinText);
  const evidence = [
    ...(loaded ? ['/proc/modules'] : []),
    ...(sysModules ? ['/sys/module'] : []),
    ...(builtinList ? [`/lib/modules/${release}/modules.builtin`] : []),
  ];
  return {
    readable: loaded !== undefined || sysModules !== undefined,
    loadable: loaded !== undefined || sysModules === undefined,
    evidence,
    state(name) {
      if (loaded?.has(name)) return 'loaded';
      if (sysModules?.includes(name)) {
        // Loadable modules have /sys/module/<name>/initstate; built-in ones never do.
        return probe.stat(`/sys/module/${name}/initstate`) ? 'loaded' : 'builtin';
      }
      return builtinList?.has(name) ? 'builtin' : 'absent';
    },
    param: (module, name) => probe.readFile(`/sys/module/${module}/parameters/${name}`)?.trim(),
  };
}

export function gatherFacts(probe: HostProbe): HostFacts {
  const uname = probe.uname();
  const cpuText = probe.readFile('/proc/cpuinfo');
  const cpu = cpuText === undefined ? undefined : parseCpuInfo(cpuText);
  const miscText = probe.readFile('/proc/misc');
  const misc = miscText === undefined ? undefined : parseMisc(miscText);
  const node = probe.stat(KVM_DEVICE);
  const valid = node?.kind === 'char' && node.major === KVM_MAJOR && node.minor === KVM_MINOR;
  const open =
    node === undefined ? ({ ok: false, code: 'ENOENT' } as const) : probe.openReadWrite(KVM_DEVICE);
  const log = readKernelLog(probe);
  const groupText = probe.readFile('/etc/group');
  const arch = archProfileOf(uname.machine);
  const kernel = parseKernelVersion(uname.release);
  const cpuVendor = cpuVendorOf(cpu?.vendor);
  const reason = log ? kvmLogReasonOf(log.lines, cpuVendor) : undefined;
  return {
    uname,
    identity: probe.identity(),
    ...(arch ? { arch } : {}),
    ...(kernel ? { kernel } : {}),
    ...(cpu ? { cpu } : {}),
    cpuVendor,
    modules: readModules(probe, uname.release),
    ...(misc ? { misc } : {}),
    device: { ...(node ? { node } : {}), open, valid },
    kvmUp: valid && (open.ok || misc?.get('kvm') === KVM_MINOR),
    ...(log ? { kernelLog: log.lines, kernelLogSource: log.source } : {}),
    ...(log ? { firmwareDisabled: log.lines.find((l) => FIRMWARE_DISABLED.test(l)) } : {}),
    ...(reason ? { kvmLogReason: reason } : {}),
    ...(groupText ? { groups: parseGroups(groupText) } : {}),
    environment: detectEnvironment(probe, { uname, cpu, kernelLog: log?.lines }),
  };
}
