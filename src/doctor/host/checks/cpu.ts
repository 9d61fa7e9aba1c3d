import type { Check } from '../../report.ts';
import { firmwareFix, kernelHidesDisabledFlag, nestedAdvice, vtName } from '../advice.ts';
import type { HostFacts } from '../facts.ts';
import { atLeast } from '../parse.ts';

const FLAG_NAMES: Record<string, string> = { vmx: 'Intel VT-x (vmx)', svm: 'AMD-V (svm)' };

const PAE_NOTE =
  ' `pae` (Physical Address Extension) is not a virtualization mode: the tutorial\'s "pae = paravirtualization" means Xen PV guests at best; KVM needs vmx or svm.';

/**
 * CPU flags are hints: /dev/kvm decides. With the kernel's KVM up and no flag (nested or
 * paravirtual KVM such as PVM) this only warns, where kvm-ok and virt-host-validate say "no".
 */
export function checkHardwareVirtualization(facts: HostFacts): Check {
  const { arch, cpu } = facts;
  const base = {
    id: 'cpu.hwvirt',
    title: 'CPU hardware virtualization',
    severity: facts.kvmUp ? 'recommended' : 'required',
    evidence: ['/proc/cpuinfo'],
  } as const;
  if (arch !== undefined && arch.hwvirtFlags === undefined) {
    return {
      ...base,
      evidence: ['uname'],
      status: 'skip',
      summary: `${arch.machine} has no vmx/svm flags; /dev/kvm is the evidence`,
      hint:
        arch.family === 'arm'
          ? 'Nothing to check here: on ARM64 KVM needs the kernel booted at EL2; see kvm.device.*.'
          : 'Nothing to check here: see kvm.device.* for whether KVM works.',
    };
  }
  if (cpu === undefined || arch?.hwvirtFlags === undefined) {
    return {
      ...base,
      status: 'unknown',
      summary: 'cannot read /proc/cpuinfo',
      hint: 'Check that /proc is mounted and readable.',
    };
  }
  const found = arch.hwvirtFlags.filter((flag) => cpu.flags.has(flag));
  const evidence = [
    ...base.evidence,
    ...(facts.firmwareDisabled ? [facts.kernelLogSource ?? 'kernel log'] : []),
  ];
  if (found.length > 0) {
    const names = found.map((f) => FLAG_NAMES[f] ?? f).join(', ');
    if (facts.firmwareDisabled && !facts.kvmUp) {
      return {
        ...base,
        evidence,
        status: 'fail',
        summary: `${names} present but disabled in firmware (kernel log: "${facts.firmwareDisabled.trim()}")`,
        hint: firmwareFix(facts),
      };
    }
    const withFlag = cpu.flagSets.filter((set) => found.some((f) => set.has(f))).length;
    if (withFlag < cpu.flagSets.length) {
      return {
        ...base,
        status: 'warn',
        summary: `${names} on only ${withFlag} of ${cpu.flagSets.length} CPUs`,
        hint: 'The firmware enables VT on some cores only and KVM refuses mixed CPUs: update the firmware or enable VT for every core.',
      };
    }
    // Before 5.6/6.7 the flag shows even when the firmware disables VT: say so while KVM is down.
    const unproven =
      !facts.kvmUp &&
      !kernelHidesDisabledFlag(facts) &&
      facts.kernel !== undefined &&
      atLeast(facts.kernel, 2, 6, 20)
        ? ' (this kernel shows the flag even when the firmware disables it: see kvm.modules)'
        : '';
    return {
      ...base,
      status: 'pass',
      summary: `${names} on all ${cpu.flagSets.length} CPUs${unproven}`,
    };
  }
  if (facts.kvmUp) {
    const via =
      facts.modules.state('kvm_pvm') !== 'absent' ? 'PVM (kvm_pvm)' : 'nested or paravirtual KVM';
    return {
      ...base,
      evidence: [...evidence, '/dev/kvm'],
      status: 'warn',
      summary: `no vmx/svm flag, yet the kernel's KVM is up through ${via}`,
      hint: 'Nothing to fix for KVM: /dev/kvm is the evidence. Tools that grep /proc/cpuinfo (kvm-ok, virt-host-validate) will wrongly say no; guests here run nested and slower than on metal.',
    };
  }
  const fail = (summary: string, hint: string): Check => ({
    ...base,
    evidence,
    status: 'fail',
    summary,
    hint,
  });
  // The seed reads `pae` as "paravirtualization"; where the CPU itself is in question, correct it.
  const pae = cpu.flags.has('pae');
  const cpuFail = (summary: string, hint: string) =>
    fail(
      pae ? `${summary}; pae is there, but it is not virtualization` : summary,
      pae ? `${hint}${PAE_NOTE}` : hint,
    );
  if (facts.firmwareDisabled) {
    return fail(
      `VT is disabled in firmware (kernel log: "${facts.firmwareDisabled.trim()}")`,
      firmwareFix(facts),
    );
  }
  if (facts.environment.wsl === 2) {
    return fail('no vmx/svm: WSL2 runs without nested virtualization', nestedAdvice(facts));
  }
  const vm = facts.environment.vm;
  if (vm !== undefined) {
    const reason = facts.kvmLogReason;
    // A PVM guest cannot use kvm_pvm either: only the hypervisor below can give it KVM.
    const pvm =
      reason?.cause === 'pvm-guest'
        ? `kvm_pvm will not run here either (kernel log: "${reason.line}"). `
        : '';
    return fail(
      `no vmx/svm: this virtual machine${vm.product ? ` (${vm.product})` : ''} is not offered nested virtualization`,
      `${pvm}${nestedAdvice(facts)}`,
    );
  }
  if (kernelHidesDisabledFlag(facts)) {
    return cpuFail(
      'no vmx/svm: hardware virtualization is missing or disabled in firmware (this kernel hides the flag when firmware disables it)',
      `Enable ${vtName(facts)} in the BIOS/UEFI setup; if there is no such option, the CPU lacks it. As root, \`dmesg | grep -i "disabled by bios"\` tells which.`,
    );
  }
  return cpuFail(
    'no vmx/svm: the CPU has no hardware virtualization (this kernel shows the flag even when firmware disables it)',
    'KVM cannot run on this CPU: use another machine, or QEMU without KVM (TCG, much slower).',
  );
}
