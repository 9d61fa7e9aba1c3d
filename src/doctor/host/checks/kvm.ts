import type { Check } from '../../report.ts';
import { KVM_MINOR, type HostFacts, type ModuleState } from '../facts.ts';
import { atLeast } from '../parse.ts';

const describe = (name: string, state: ModuleState) =>
  `${name} ${state === 'builtin' ? 'built in' : 'loaded'}`;

/** The command that loads KVM on this architecture and CPU. */
function loadCommand(facts: HostFacts): string {
  const { arch } = facts;
  if (arch?.family === 'x86') {
    if (facts.cpuVendor === 'intel') return 'sudo modprobe kvm_intel';
    if (facts.cpuVendor === 'amd') return 'sudo modprobe kvm_amd';
    return 'sudo modprobe kvm_intel (Intel) or kvm_amd (AMD)';
  }
  if (arch?.family === 'ppc') return 'sudo modprobe kvm_hv';
  return 'sudo modprobe kvm';
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
  const firmware = facts.firmwareDisabled
    ? ` It will fail until VT is enabled in the BIOS/UEFI setup: the kernel log says "${facts.firmwareDisabled.trim()}".`
    : lacksFlag
      ? ' It will fail while the CPU shows no vmx/svm (see cpu.hwvirt).'
      : '';
  if (arch?.family === 'arm' && present.length === 0) {
    return {
      ...base,
      status: 'fail',
      summary: 'KVM is not initialised (arm64 KVM is always built in)',
      hint: `${onHost}Boot the kernel at EL2 (firmware/hypervisor setting) and check \`dmesg | grep -i kvm\` for "Hyp mode".`,
    };
  }
  const builtIn = vendors.find(([, state]) => state === 'builtin');
  if (builtIn) {
    return {
      ...base,
      status: 'fail',
      summary: `${listed}, but KVM did not initialise (no kvm in /proc/misc)`,
      hint: `${onHost}Read why in \`sudo dmesg | grep -i kvm\`; usually VT is disabled in firmware or missing (see cpu.hwvirt).${firmware}`,
    };
  }
  const persist = ' To load it at boot, add the module name to /etc/modules-load.d/kvm.conf.';
  if (!modules.loadable) {
    return {
      ...base,
      status: 'fail',
      summary: `${listed ? `${listed}, but ` : ''}KVM is not initialised and this kernel cannot load modules (no /proc/modules)`,
      hint: `${onHost}Use a kernel built with KVM (CONFIG_KVM=y and CONFIG_KVM_INTEL/CONFIG_KVM_AMD=y), or one with module support.${firmware}`,
    };
  }
  if (present.length > 0) {
    return {
      ...base,
      status: 'fail',
      summary: `${listed}, but no vendor module (${vendorNames.join(', ')})`,
      hint: `${onHost}\`${loadCommand(facts)}\`.${firmware || persist}`,
    };
  }
  return {
    ...base,
    status: 'fail',
    summary: 'no KVM module is loaded or built in',
    hint: `${onHost}\`${loadCommand(facts)}\` (it loads kvm too).${firmware || persist}`,
  };
}
