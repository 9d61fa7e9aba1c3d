import type { HostFacts } from './facts.ts';
import { atLeast } from './parse.ts';

/**
 * Advice shared by several checks, phrased for the host at hand: the CPU vendor's own names and
 * modules, and the hypervisor's own setting. Advice for another vendor or another cloud only
 * sends an admin the wrong way.
 */

/** What the firmware setup calls the CPU's virtualization, for this vendor. */
export function vtName(facts: HostFacts): string {
  if (facts.cpuVendor === 'intel') return 'Intel VT-x ("Virtualization Technology")';
  if (facts.cpuVendor === 'amd') return 'AMD-V ("SVM Mode")';
  return 'Intel VT-x / AMD-V ("Virtualization Technology", "SVM Mode")';
}

/** The x86 vendor module(s) this CPU can use. */
export function vendorModulesFor(facts: HostFacts): string[] {
  if (facts.cpuVendor === 'intel') return ['kvm_intel'];
  if (facts.cpuVendor === 'amd') return ['kvm_amd'];
  return ['kvm_intel', 'kvm_amd'];
}

export const firmwareFix = (facts: HostFacts): string =>
  `Enable ${vtName(facts)} in the BIOS/UEFI setup, then power the machine off and on.`;

/**
 * Since Linux 5.6 (Intel, "x86/cpu: Clear VMX feature flag if VMX is not fully enabled") and 6.7
 * (AMD, "x86/cpu: Clear SVM feature if disabled by BIOS") a missing flag may mean "disabled in
 * firmware"; before that the flag showed regardless and its absence meant the CPU lacks it.
 */
export function kernelHidesDisabledFlag(facts: HostFacts): boolean {
  if (facts.kernel === undefined) return true;
  if (facts.cpuVendor === 'intel') return atLeast(facts.kernel, 5, 6);
  if (facts.cpuVendor === 'amd') return atLeast(facts.kernel, 6, 7);
  return true;
}

const hostModule = (facts: HostFacts) => vendorModulesFor(facts).join(' or ');

/** For advice quoted after a colon. */
export const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** How to give this VM hardware virtualization, for the hypervisor that runs it. */
export function nestedAdvice(facts: HostFacts): string {
  const product = facts.environment.wsl === 2 ? 'WSL2' : facts.environment.vm?.product;
  switch (product) {
    case 'WSL2':
      return 'Set nestedVirtualization=true under [wsl2] in %UserProfile%\\.wslconfig (Windows 11), run `wsl --shutdown`, and enable VT in the PC firmware.';
    case 'Google Compute Engine':
      return 'Enable nested virtualization for this VM (gcloud compute instances create … --enable-nested-virtualization) or use a bare-metal machine type.';
    case 'AWS EC2':
      return 'Use a bare-metal instance type (*.metal), which exposes VT-x/AMD-V to the OS.';
    case 'Firecracker':
      return 'Firecracker does not offer nested virtualization: run the guests on bare metal or in a VM whose hypervisor offers it.';
    case 'Hyper-V (Azure)':
      return 'Enable nested virtualization for this VM (Azure: a size that supports it; Hyper-V: Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions $true, with the VM off) or use bare metal.';
    case 'VMware':
      return 'Enable nested virtualization for this VM ("Expose hardware assisted virtualization to the guest OS", vhv.enable = "TRUE", with the VM off) or use bare metal.';
    case 'VirtualBox':
      return 'Enable nested virtualization for this VM (`VBoxManage modifyvm <vm> --nested-hw-virt on`, with the VM off) or use bare metal.';
    case 'QEMU/KVM':
    case undefined:
      return `Enable nested virtualization for this VM: on the KVM host below, \`options ${hostModule(facts)} nested=1\` in /etc/modprobe.d/kvm.conf and the host CPU model for the VM (libvirt: <cpu mode="host-passthrough"/>, Proxmox: CPU type "host"); or use bare metal.`;
    default:
      return `Enable nested virtualization for this VM in ${product}'s settings, if it offers it, or use bare metal.`;
  }
}
