import { describe } from 'node:test';
import { itChecksScenario, type Scenario } from './scenarios.ts';

// Hosts where the verdict was already right but a hint sent the admin the wrong way: each hint is
// held word for word, so a regression in what the admin reads fails here.
const EL2 =
  'Boot the kernel at EL2 (hypervisor mode): firmware or boot-loader setting; in a VM, the hypervisor must offer nested virtualization.';
const PVM_LINE = 'kvm-pvm: this kernel is itself a kvm-pvm guest; not binding';
const WSLCONFIG =
  'nestedVirtualization=true under [wsl2] in %UserProfile%\\.wslconfig (Windows 11), run `wsl --shutdown`, and enable VT in the PC firmware.';
const INTEL_OLD_KERNEL: Scenario['exact'] = {
  'summary:cpu.hwvirt':
    'Intel VT-x (vmx) on all 4 CPUs (this kernel shows the flag even when the firmware disables it: see kvm.modules)',
  'summary:kvm.modules': 'kvm loaded, but not kvm_intel',
  'kvm.modules':
    '`sudo modprobe kvm_intel`. If that fails with "Operation not supported", the firmware has disabled Intel VT-x ("Virtualization Technology"): enable it in the BIOS/UEFI setup, then power the machine off and on.',
};

const scenarios: Scenario[] = [
  {
    fixture: 'arm64-hyp-unavailable',
    when: 'an arm64 kernel with KVM built in was not booted at EL2 and the log says so',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'skip', 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: {
      'summary:kvm.modules':
        'kvm built in, but KVM did not initialise (no kvm in /proc/misc) (kernel log: "kvm [1]: HYP mode not available")',
      'kvm.modules': EL2,
    },
  },
  {
    fixture: 'arm64-no-modules',
    when: 'an arm64 kernel without module support has KVM built in but not started, read by a user',
    verdict: 'not-ready',
    checks: { 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: {
      'summary:kvm.modules': 'kvm built in, but KVM did not initialise (no kvm in /proc/misc)',
      'kvm.modules': `${EL2} As root, \`dmesg | grep -i kvm\` tells why ("HYP mode not available" means it was not).`,
    },
  },
  {
    fixture: 'arm64-no-kvm',
    when: 'an arm64 kernel has no KVM at all (no /sys/module/kvm)',
    verdict: 'not-ready',
    checks: { 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: {
      'summary:kvm.modules':
        'this kernel has no KVM (arm64 KVM is built in or absent, never a module)',
      'kvm.modules': 'Use a kernel built with CONFIG_KVM=y, booted at EL2.',
    },
  },
  {
    fixture: 'intel-vt-disabled-old-kernel-user',
    when: 'an old kernel shows vmx, the firmware disabled VT-x and a user cannot read the log',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'pass', 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: INTEL_OLD_KERNEL,
  },
  {
    fixture: 'intel-vt-disabled-old-kernel-rotated',
    when: 'an old kernel shows vmx, the firmware disabled VT-x and the boot log has rotated away',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'pass', 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: INTEL_OLD_KERNEL,
  },
  {
    fixture: 'amd-svm-disabled-old-kernel-user',
    when: 'an old kernel shows svm and SEV, the firmware disabled AMD-V and the log is unreadable',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'pass', 'kvm.modules': 'fail', 'secure-guest': 'info' },
    exact: {
      'summary:kvm.modules': 'kvm loaded, but not kvm_amd',
      'kvm.modules':
        '`sudo modprobe kvm_amd`. If that fails with "Operation not supported", the firmware has disabled AMD-V ("SVM Mode"): enable it in the BIOS/UEFI setup, then power the machine off and on.',
      'summary:secure-guest': 'the CPU offers AMD SEV, SEV-ES, but KVM is not running',
      'secure-guest':
        'For confidential guests, first make KVM work (see kvm.modules and cpu.hwvirt).',
    },
  },
  {
    fixture: 'pvm-guest',
    when: 'an AMD VM is itself a PVM guest, so its built-in kvm_pvm does not bind',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail', 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    exact: {
      'summary:cpu.hwvirt':
        'no vmx/svm: this virtual machine (QEMU/KVM) is not offered nested virtualization',
      'cpu.hwvirt': `kvm_pvm will not run here either (kernel log: "${PVM_LINE}"). Enable nested virtualization for this VM: on the KVM host below, \`options kvm_amd nested=1\` in /etc/modprobe.d/kvm.conf and the host CPU model for the VM (libvirt: <cpu mode="host-passthrough"/>, Proxmox: CPU type "host"); or use bare metal.`,
      'summary:kvm.modules': `kvm built in, kvm_pvm built in, but KVM did not initialise (no kvm in /proc/misc) (kernel log: "${PVM_LINE}")`,
      'kvm.modules':
        'kvm_pvm does not run in a kernel that is itself a PVM guest, and without vmx/svm this VM cannot use kvm_amd either: see cpu.hwvirt.',
    },
  },
  {
    fixture: 'wsl2-no-nested',
    when: 'WSL2 without nested virtualization has a readable kernel log naming Hyper-V',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail', 'kvm.modules': 'fail', environment: 'info' },
    exact: {
      'summary:environment': 'WSL2 (a Hyper-V virtual machine)',
      'summary:kvm.nested': 'this host is itself WSL2: no nested KVM',
      'kvm.nested': `If kvm.* fails: set ${WSLCONFIG}`,
      'cpu.hwvirt': `Set ${WSLCONFIG}`,
      'summary:kvm.modules':
        'kvm built in, kvm_intel built in, kvm_amd built in, but KVM did not initialise (no kvm in /proc/misc) (kernel log: "kvm: no hardware support")',
      'kvm.modules': `This VM is given no VT-x (vmx): set ${WSLCONFIG}`,
    },
  },
  {
    fixture: 'amd-sev-off',
    when: 'an AMD CPU offers SEV and SEV-ES but not SNP and kvm_amd enables none',
    verdict: 'ready',
    checks: { 'kvm.modules': 'pass', 'secure-guest': 'info' },
    exact: {
      'summary:secure-guest': 'the CPU offers AMD SEV, SEV-ES, but KVM does not enable it',
      'secure-guest':
        'For confidential guests: `options kvm_amd sev=1 sev_es=1` in /etc/modprobe.d/kvm.conf and reload kvm_amd (the firmware must allow it).',
    },
  },
  {
    fixture: 'rhel5-kvm-backport',
    when: 'a 2.6.18 kernel opens /dev/kvm through its vendor backport',
    verdict: 'not-ready',
    checks: { 'kernel.version': 'fail', 'kvm.modules': 'pass', 'kvm.device.access': 'pass' },
    exact: {
      'summary:kernel.version':
        '2.6.18 predates upstream KVM (merged in 2.6.20), yet /dev/kvm works: a vendor backport',
      'kernel.version':
        "KVM works here through the vendor's backport, but this kernel is long out of support and lacks years of KVM and security fixes: upgrade to a supported distribution kernel.",
    },
  },
  {
    fixture: 'i686-no-lm',
    when: 'a 32-bit kernel runs on a CPU without long mode',
    verdict: 'not-ready',
    checks: { 'host.64bit': 'fail' },
    exact: {
      'summary:host.64bit': 'i686 is a 32-bit kernel on a CPU without 64-bit mode',
      'host.64bit':
        'This CPU has no lm (long mode) flag, so it cannot run a 64-bit host: use a machine with a 64-bit (x86_64) CPU.',
    },
  },
  {
    fixture: 'uid-without-passwd',
    when: 'a container runs as a uid with no passwd entry and /dev/kvm is 0660 for a group it lacks',
    verdict: 'not-ready',
    checks: { 'kvm.device.access': 'fail' },
    exact: {
      'summary:kvm.device.access': '/dev/kvm is 0660 root:993 and uid 1500 is not in group 993',
      'kvm.device.access':
        'uid 1500 has no passwd entry, so usermod cannot name it: start the container with the group, `docker run --group-add 993 …` (Kubernetes: securityContext.supplementalGroups: [993]).',
    },
  },
];

describe('doctor host hints', () => {
  for (const scenario of scenarios) itChecksScenario(scenario);
});
