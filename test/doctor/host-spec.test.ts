import { describe } from 'node:test';
import { itChecksScenario, type Scenario } from './scenarios.ts';

// The hosts every KVM checker must get right (docs/doctor.md, "Testing"), one fixture each.
const scenarios: Scenario[] = [
  {
    fixture: 'intel-bare-metal',
    when: 'an Intel host has kvm_intel loaded and the user is in group kvm',
    verdict: 'ready',
    probe: true,
    checks: {
      'host.linux': 'pass',
      'host.64bit': 'pass',
      'kernel.version': 'pass',
      'cpu.hwvirt': 'pass',
      'kvm.modules': 'pass',
      'kvm.device.exists': 'pass',
      'kvm.device.access': 'pass',
      'kvm.api': 'pass',
      'kvm.nested': 'info',
      environment: 'info',
      'conflict.virtualbox': 'pass',
      'net.tun': 'pass',
      'net.vhost': 'pass',
      'tools.qemu': 'pass',
      'tools.libvirt': 'pass',
      iommu: 'info',
      cgroups: 'info',
      'secure-guest': 'info',
    },
    texts: {
      'summary:cpu.hwvirt': /all 4 CPUs/,
      'summary:iommu': /IOMMU on/,
      'summary:environment': /bare metal/,
    },
  },
  {
    fixture: 'amd-bare-metal-sev',
    when: 'an AMD host runs kvm_amd with SEV enabled',
    verdict: 'ready',
    checks: {
      'cpu.hwvirt': 'pass',
      'kvm.modules': 'pass',
      'kvm.device.access': 'pass',
      'secure-guest': 'info',
    },
    texts: { 'summary:cpu.hwvirt': /AMD-V/, 'summary:secure-guest': /SEV, SEV-ES, SEV-SNP/ },
  },
  {
    fixture: 'intel-firmware-disabled-old-kernel',
    when: 'an old kernel shows vmx but the firmware disabled VT-x',
    verdict: 'not-ready',
    checks: {
      'cpu.hwvirt': 'fail',
      'kvm.modules': 'fail',
      'kvm.device.exists': 'fail',
      'kvm.device.access': 'skip',
    },
    texts: {
      'summary:cpu.hwvirt': /disabled in firmware/,
      'cpu.hwvirt': /BIOS\/UEFI/,
      'kvm.modules': /kvm: disabled by bios/,
    },
  },
  {
    fixture: 'intel-no-module',
    when: 'vmx is present but no kvm module is loaded and there is no /dev/kvm',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'pass', 'kvm.modules': 'fail', 'kvm.device.exists': 'fail' },
    texts: { 'kvm.modules': /modprobe kvm_intel/ },
  },
  {
    fixture: 'firecracker-guest',
    when: 'root runs in a Firecracker guest with KVM built in and no vmx/svm',
    verdict: 'ready-with-warnings',
    probe: true,
    checks: {
      'cpu.hwvirt': 'warn',
      'kvm.modules': 'pass',
      'kvm.device.exists': 'pass',
      'kvm.device.access': 'pass',
      'kvm.api': 'pass',
      environment: 'info',
      'net.vhost': 'warn',
    },
    texts: {
      'summary:cpu.hwvirt': /PVM/,
      'summary:kvm.modules': /built in/,
      'summary:environment': /Firecracker.*\/\.dockerenv/,
      'net.vhost': /CONFIG_VHOST_NET=y/,
    },
  },
  {
    fixture: 'firecracker-guest-user',
    when: 'another user runs in the Firecracker guest, /dev/kvm being 0600 root',
    verdict: 'not-ready',
    probe: true,
    checks: {
      'cpu.hwvirt': 'warn',
      'kvm.modules': 'pass',
      'kvm.device.exists': 'pass',
      'kvm.device.access': 'fail',
      'kvm.api': 'fail',
    },
    texts: {
      'kvm.device.access': /GROUP="kvm".*usermod -aG kvm runner/,
      'kvm.api': /kvm\.device\.access/,
    },
  },
  {
    fixture: 'cloud-vm-no-nested',
    when: 'a cloud VM is not offered nested virtualization',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail', 'kvm.device.exists': 'fail', 'kvm.nested': 'info' },
    texts: {
      'cpu.hwvirt': /nested virtualization.*metal/,
      'summary:kvm.nested': /Google Compute Engine/,
    },
  },
  {
    fixture: 'i686-32bit',
    when: 'the kernel is 32-bit on a 64-bit CPU',
    verdict: 'not-ready',
    checks: { 'host.64bit': 'fail', 'cpu.hwvirt': 'pass', 'kvm.device.access': 'pass' },
    texts: { 'host.64bit': /lm flag.*64-bit \(amd64\)/ },
  },
  {
    fixture: 'kernel-2.6.18',
    when: 'the kernel is 2.6.18',
    verdict: 'not-ready',
    checks: { 'kernel.version': 'fail', 'kvm.modules': 'fail' },
    texts: { 'summary:kernel.version': /2\.6\.18/, 'kvm.modules': /kernel\.version/ },
  },
  {
    fixture: 'arm64-kvm',
    when: 'an ARM64 host has /dev/kvm',
    verdict: 'ready',
    checks: {
      'cpu.hwvirt': 'skip',
      'kvm.modules': 'pass',
      'kvm.device.access': 'pass',
      'tools.qemu': 'pass',
    },
    texts: { 'summary:tools.qemu': /qemu-system-aarch64/ },
  },
];

describe('doctor host on the scenarios of doctor.md', () => {
  for (const scenario of scenarios) itChecksScenario(scenario);
});
