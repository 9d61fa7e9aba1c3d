import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import { atLeast } from '../parse.ts';

/**
 * The seed (2.3) warns that VirtualBox fails once KVM is installed. Before Linux 6.12 KVM took
 * VT-x/AMD-V only while a KVM guest ran; since 6.12 (commit b4886fab6fb6, kvm.enable_virt_at_load
 * defaulting to Y) merely loading kvm_intel/kvm_amd takes it, and VirtualBox guests fail with
 * VERR_VMX_IN_USE / VERR_SVM_IN_USE even with no KVM guest running.
 */
export function checkVirtualBoxConflict(facts: HostFacts): Check {
  const base = {
    id: 'conflict.virtualbox',
    title: 'VirtualBox and KVM',
    severity: 'recommended',
    evidence: facts.modules.evidence,
  } as const;
  if (facts.modules.state('vboxdrv') === 'absent') {
    return { ...base, status: 'pass', summary: "VirtualBox's vboxdrv is not loaded" };
  }
  const kvmVendors = ['kvm_intel', 'kvm_amd'].filter((m) => facts.modules.state(m) !== 'absent');
  if (kvmVendors.length === 0) {
    return { ...base, status: 'pass', summary: 'vboxdrv is loaded, no kvm_intel/kvm_amd' };
  }
  const vendors = kvmVendors.join(', ');
  const param = facts.modules.param('kvm', 'enable_virt_at_load');
  const atLoad =
    param !== undefined
      ? /^(Y|1)$/.test(param)
      : facts.kernel !== undefined && atLeast(facts.kernel, 6, 12);
  const evidence = [
    ...base.evidence,
    ...(param !== undefined ? ['/sys/module/kvm/parameters/enable_virt_at_load'] : ['uname']),
  ];
  const builtIn = kvmVendors.some((m) => facts.modules.state(m) === 'builtin');
  if (atLoad) {
    const unload = builtIn
      ? 'boot with kvm.enable_virt_at_load=0 (KVM is built in, it cannot be unloaded)'
      : `unload KVM before starting VirtualBox (\`sudo modprobe -r ${kvmVendors[0]} kvm\`, the seed's steps 1–3), or set \`options kvm enable_virt_at_load=0\` in /etc/modprobe.d/ as Debian's virtualbox package does (bug #1082157)`;
    return {
      ...base,
      evidence,
      status: 'warn',
      summary: `vboxdrv and ${vendors} are both loaded and KVM takes VT at load time (kvm.enable_virt_at_load=Y, Linux 6.12+): VirtualBox guests will not start`,
      hint: `Use one hypervisor at a time: ${unload}.`,
    };
  }
  return {
    ...base,
    evidence,
    status: 'info',
    summary: `vboxdrv and ${vendors} are both loaded; KVM takes VT only while a KVM guest runs`,
    hint: 'Do not run KVM and VirtualBox guests at the same time; on Linux 6.12+ loading KVM alone will block VirtualBox.',
  };
}
