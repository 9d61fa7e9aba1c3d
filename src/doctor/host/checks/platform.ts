import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import { atLeast, formatVersion } from '../parse.ts';

/** The seed's three requirements (section 四): Linux, 64-bit, kernel >= 2.6.20. */

export function checkLinux(facts: HostFacts): Check {
  const base = {
    id: 'host.linux',
    title: 'Linux kernel',
    severity: 'required',
    evidence: ['uname'],
  } as const;
  const { sysname } = facts.uname;
  if (sysname === '') {
    return {
      ...base,
      status: 'unknown',
      summary: 'the kernel name is unknown',
      hint: 'Run `uname -s`; KVM needs Linux.',
    };
  }
  if (sysname === 'Linux') return { ...base, status: 'pass', summary: 'Linux' };
  return {
    ...base,
    status: 'fail',
    summary: `${sysname}, not Linux`,
    hint: 'KVM is part of the Linux kernel: run this on a Linux host (macOS has Hypervisor.framework, Windows has Hyper-V/WHPX instead).',
  };
}

export function check64Bit(facts: HostFacts): Check {
  const base = {
    id: 'host.64bit',
    title: '64-bit kernel',
    severity: 'required',
    evidence: ['uname'],
  } as const;
  const { arch } = facts;
  if (arch === undefined) {
    return {
      ...base,
      status: 'unknown',
      summary: 'the machine type is unknown',
      hint: 'Run `uname -m`; KVM hosts need a 64-bit kernel.',
    };
  }
  if (arch.bits === 64) return { ...base, status: 'pass', summary: `${arch.machine} (64-bit)` };
  // `lm` (long mode) says whether the CPU can run a 64-bit kernel; uname reports the kernel.
  const lm =
    arch.family === 'x86' && facts.cpu !== undefined ? facts.cpu.flags.has('lm') : undefined;
  const hint =
    arch.family === 'arm'
      ? '32-bit ARM hosts lost KVM in Linux 5.7: install an aarch64 kernel and OS.'
      : lm === true
        ? 'The CPU is 64-bit (it has the lm flag) but this kernel is 32-bit: install a 64-bit (amd64) OS.'
        : lm === false
          ? 'This CPU has no lm (long mode) flag, so it cannot run a 64-bit host: use a machine with a 64-bit (x86_64) CPU.'
          : 'This kernel is 32-bit; KVM hosts need a 64-bit (x86_64/aarch64) kernel.';
  return {
    ...base,
    evidence: lm !== undefined ? ['uname', '/proc/cpuinfo'] : ['uname'],
    status: 'fail',
    summary: `${arch.machine} is a 32-bit kernel${lm === false ? ' on a CPU without 64-bit mode' : ''}`,
    hint,
  };
}

export function checkKernelVersion(facts: HostFacts): Check {
  const base = {
    id: 'kernel.version',
    title: 'kernel >= 2.6.20',
    severity: 'required',
    evidence: ['uname'],
  } as const;
  const { kernel } = facts;
  if (kernel === undefined) {
    return {
      ...base,
      status: 'unknown',
      summary: `cannot read a version from the release ${JSON.stringify(facts.uname.release)}`,
      hint: 'Run `uname -r`; KVM needs Linux 2.6.20 or newer.',
    };
  }
  // KVM was merged in Linux 2.6.20 (February 2007).
  if (atLeast(kernel, 2, 6, 20)) {
    return { ...base, status: 'pass', summary: `${facts.uname.release} (>= 2.6.20)` };
  }
  // RHEL 5.4+ backported KVM into 2.6.18: a working /dev/kvm proves such a backport.
  if (facts.kvmUp) {
    return {
      ...base,
      evidence: ['uname', '/dev/kvm'],
      status: 'fail',
      summary: `${formatVersion(kernel)} predates upstream KVM (merged in 2.6.20), yet /dev/kvm works: a vendor backport`,
      hint: "KVM works here through the vendor's backport, but this kernel is long out of support and lacks years of KVM and security fixes: upgrade to a supported distribution kernel.",
    };
  }
  return {
    ...base,
    status: 'fail',
    summary: `${formatVersion(kernel)} predates KVM (merged in 2.6.20)`,
    hint: 'Upgrade to a supported distribution kernel; anything this old lacks KVM and its security fixes.',
  };
}
