import type { Check } from '../../report.ts';
import {
  firmwareFix,
  kernelHidesDisabledFlag,
  lowerFirst,
  nestedAdvice,
  vendorModulesFor,
  vtName,
} from '../advice.ts';
import { KVM_MINOR, type HostFacts, type ModuleState } from '../facts.ts';
import { atLeast } from '../parse.ts';

const describe = (name: string, state: ModuleState) =>
  `${name} ${state === 'builtin' ? 'built in' : 'loaded'}`;

/** The vendor modules this host could use: on x86 only the CPU vendor's. */
function wantedModules(facts: HostFacts): string[] {
  const family = facts.arch?.family;
  if (family === 'x86') return vendorModulesFor(facts);
  return [...(facts.arch?.vendorModules ?? [])];
}

/** The command that loads KVM on this architecture and CPU, in backticks. */
function loadCommand(facts: HostFacts): string {
  const family = facts.arch?.family;
  if (family === 'ppc') return '`sudo modprobe kvm_hv`';
  if (family !== 'x86') return '`sudo modprobe kvm`';
  if (facts.cpuVendor === 'other') {
    return '`sudo modprobe kvm_intel` (Intel) or `sudo modprobe kvm_amd` (AMD)';
  }
  return `\`sudo modprobe ${vendorModulesFor(facts)[0]}\``;
}

/** The kernel options a kernel without module support needs for KVM here. */
function kernelConfig(facts: HostFacts, coreBuiltIn: boolean): string {
  const core = coreBuiltIn ? [] : ['CONFIG_KVM=y'];
  const family = facts.arch?.family;
  const vendor =
    family === 'x86'
      ? [
          wantedModules(facts)
            .map((m) => `CONFIG_${m.toUpperCase()}=y`)
            .join(' or '),
        ]
      : family === 'ppc'
        ? ['CONFIG_KVM_BOOK3S_64_HV=y']
        : [];
  return [...core, ...vendor].join(' and ');
}

/** What to do when KVM is in the kernel but did not start: loading modules cannot help. */
function notStartedHint(facts: HostFacts, lacksFlag: boolean): string {
  const reason = facts.kvmLogReason;
  if (reason?.cause === 'firmware') return firmwareFix(facts);
  if (reason?.cause === 'no-el2' || (reason === undefined && facts.arch?.family === 'arm')) {
    const read =
      reason === undefined
        ? ' As root, `dmesg | grep -i kvm` tells why ("HYP mode not available" means it was not).'
        : '';
    return `Boot the kernel at EL2 (hypervisor mode): firmware or boot-loader setting; in a VM, the hypervisor must offer nested virtualization.${read}`;
  }
  if (reason?.cause === 'pvm-guest') {
    const module = vendorModulesFor(facts).join(' or ');
    return lacksFlag
      ? `kvm_pvm does not run in a kernel that is itself a PVM guest, and without vmx/svm this VM cannot use ${module} either: see cpu.hwvirt.`
      : `kvm_pvm does not run in a kernel that is itself a PVM guest: use ${module} instead (${loadCommand(facts)}).`;
  }
  if (reason?.cause === 'no-hwvirt' || lacksFlag) {
    return facts.environment.vm !== undefined
      ? `This VM is given no ${facts.cpuVendor === 'amd' ? 'AMD-V (svm)' : facts.cpuVendor === 'intel' ? 'VT-x (vmx)' : 'VT-x/AMD-V'}: ${lowerFirst(nestedAdvice(facts))}`
      : 'The CPU shows no vmx/svm: see cpu.hwvirt.';
  }
  if (reason !== undefined) {
    return 'Fix what that kernel log line reports, then reboot: built-in KVM starts only at boot.';
  }
  return `Read why in \`sudo dmesg | grep -i kvm\`; usually ${vtName(facts)} is disabled in the firmware (see cpu.hwvirt).`;
}

/**
 * kvm plus, on x86, its vendor module — loaded (/proc/modules) or built in (/sys/module/<name>
 * without `initstate`, or modules.builtin), which `lsmod` never shows. Only proof of
 * initialisation counts: a loaded module (a failed init unloads it), `232 kvm` in /proc/misc, or a
 * working /dev/kvm; a built-in module may have failed to initialise (VT disabled in firmware).
 */
export function checkModules(facts: HostFacts): Check {
  const { modules, arch } = facts;
  const base = {
    id: 'kvm.modules',
    title: 'KVM kernel modules',
    severity: facts.kvmUp ? 'recommended' : 'required',
    evidence: [
      ...modules.evidence,
      ...(facts.misc ? ['/proc/misc'] : []),
      ...(facts.firmwareDisabled ? [facts.kernelLogSource ?? 'kernel log'] : []),
    ],
  } as const;
  const miscKvm = facts.misc?.get('kvm') === KVM_MINOR;
  const vendorNames = arch?.vendorModules ?? [];
  const core = modules.state('kvm');
  const vendors = vendorNames
    .map((name) => [name, modules.state(name)] as const)
    .filter(([, state]) => state !== 'absent');
  const present = [...(core !== 'absent' ? [['kvm', core] as const] : []), ...vendors];
  const listed = present.map(([name, state]) => describe(name, state)).join(', ');
  const loadedVendor = vendors.some(([, state]) => state === 'loaded');
  const initialised =
    miscKvm || facts.kvmUp || loadedVendor || (vendorNames.length === 0 && core === 'loaded');

  if (!modules.readable && facts.misc === undefined) {
    if (facts.kvmUp) {
      return {
        ...base,
        status: 'info',
        summary: 'the module lists are unreadable, but /dev/kvm works',
        hint: 'Nothing to do: /proc/modules and /sys/module are hidden here; /dev/kvm is the evidence.',
      };
    }
    return {
      ...base,
      status: 'unknown',
      summary: 'cannot read /proc/modules, /sys/module or /proc/misc',
      hint: 'Mount /proc and /sys (or run on the host) so the kernel can say whether KVM is loaded.',
    };
  }
  if (initialised) {
    const registered = miscKvm ? ' (/proc/misc: 232 kvm)' : '';
    return { ...base, status: 'pass', summary: `${listed || 'KVM registered'}${registered}` };
  }
  const onHost = facts.environment.container ? 'On the container host: ' : '';
  if (facts.kernel !== undefined && !atLeast(facts.kernel, 2, 6, 20)) {
    return {
      ...base,
      status: 'fail',
      summary: 'no KVM module: this kernel predates KVM',
      hint: 'Upgrade the kernel (see kernel.version); RHEL 5.4 backported KVM into 2.6.18, but nothing that old is supported.',
    };
  }
  const lacksFlag =
    arch?.hwvirtFlags !== undefined &&
    facts.cpu !== undefined &&
    !arch.hwvirtFlags.some((flag) => facts.cpu?.flags.has(flag));
  const reason = facts.kvmLogReason;
  const quoted = reason ? ` (kernel log: "${reason.line}")` : '';
  const wanted = wantedModules(facts);
  const evidence = [
    ...base.evidence,
    ...(reason && !facts.firmwareDisabled ? [facts.kernelLogSource ?? 'kernel log'] : []),
  ];
  // Compiled in (arm64's kvm, or a built-in vendor module) but not initialised: modprobe is moot.
  const builtIn =
    vendors.some(([, state]) => state === 'builtin') ||
    (vendorNames.length === 0 && core === 'builtin');
  if (builtIn) {
    return {
      ...base,
      evidence,
      status: 'fail',
      summary: `${listed}, but KVM did not initialise (no kvm in /proc/misc)${quoted}`,
      hint: `${onHost}${notStartedHint(facts, lacksFlag)}`,
    };
  }
  if (arch?.family === 'arm' && present.length === 0 && modules.evidence.includes('/sys/module')) {
    // arm64 KVM cannot be a module, and a kernel with it always has /sys/module/kvm.
    return {
      ...base,
      status: 'fail',
      summary: 'this kernel has no KVM (arm64 KVM is built in or absent, never a module)',
      hint: `${onHost}Use a kernel built with CONFIG_KVM=y, booted at EL2.`,
    };
  }
  const firmware = facts.firmwareDisabled
    ? ` It will fail until ${vtName(facts)} is enabled in the BIOS/UEFI setup: the kernel log says "${facts.firmwareDisabled.trim()}".`
    : lacksFlag
      ? ' It will fail while the CPU shows no vmx/svm (see cpu.hwvirt).'
      : arch?.family === 'x86' && !kernelHidesDisabledFlag(facts)
        ? ` If that fails with "Operation not supported", the firmware has disabled ${vtName(facts)}: enable it in the BIOS/UEFI setup, then power the machine off and on.`
        : '';
  const persist = ' To load it at boot, add the module name to /etc/modules-load.d/kvm.conf.';
  // The firmware line is quoted in the hint already; any other reason goes in the summary.
  const why = reason?.cause === 'firmware' ? '' : quoted;
  if (!modules.loadable) {
    return {
      ...base,
      evidence,
      status: 'fail',
      summary: `${listed ? `${listed}, but ` : ''}no ${wanted.length > 0 ? wanted.join(' or ') : 'kvm'}, and this kernel cannot load modules (no /proc/modules)${why}`,
      hint: `${onHost}Use a kernel built with ${kernelConfig(facts, core === 'builtin')}, or one with module support.${firmware}`,
    };
  }
  if (present.length > 0) {
    return {
      ...base,
      evidence,
      status: 'fail',
      summary: `${listed}, but not ${wanted.join(' or ')}${why}`,
      hint: `${onHost}${loadCommand(facts)}.${firmware || persist}`,
    };
  }
  return {
    ...base,
    evidence,
    status: 'fail',
    summary: `no KVM module is loaded or built in${why}`,
    hint: `${onHost}${loadCommand(facts)} (it loads kvm too).${firmware || persist}`,
  };
}
