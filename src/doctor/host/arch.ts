/**
 * What differs between architectures, as capabilities with defaults rather than `if (arch === …)`
 * in the checks. Keyed by the kernel's machine name (`uname -m`, Node's `os.machine()`).
 */
export interface ArchProfile {
  machine: string;
  bits: 32 | 64;
  family: 'x86' | 'arm' | 'ppc' | 's390' | 'riscv' | 'loongarch' | 'mips' | 'other';
  /** CPU flags that announce hardware virtualization; undefined where cpuinfo has none. */
  hwvirtFlags?: readonly string[];
  /** Modules one of which must back `kvm` (x86: the vendor module); empty where kvm is alone. */
  vendorModules: readonly string[];
  /** The QEMU system emulator that can use KVM on this host. */
  qemu?: string;
  /** The package that ships `qemu`, for hints (Debian name). */
  qemuPackage?: string;
}

// kvm_pvm: the pagetable-based virtual machine (PVM), KVM for guests without VT-x/AMD-V.
const X86_VENDOR_MODULES = ['kvm_intel', 'kvm_amd', 'kvm_pvm'] as const;

const x86 = (machine: string, bits: 32 | 64): ArchProfile => ({
  machine,
  bits,
  family: 'x86',
  hwvirtFlags: ['vmx', 'svm'],
  vendorModules: X86_VENDOR_MODULES,
  qemu: bits === 64 ? 'qemu-system-x86_64' : 'qemu-system-i386',
  qemuPackage: 'qemu-system-x86',
});

const PROFILES: readonly ArchProfile[] = [
  x86('x86_64', 64),
  x86('i386', 32),
  x86('i486', 32),
  x86('i586', 32),
  x86('i686', 32),
  {
    machine: 'aarch64',
    bits: 64,
    family: 'arm',
    vendorModules: [],
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
  },
  // 32-bit ARM host support was removed in Linux 5.7.
  { machine: 'armv7l', bits: 32, family: 'arm', vendorModules: [] },
  { machine: 'armv6l', bits: 32, family: 'arm', vendorModules: [] },
  {
    machine: 'ppc64le',
    bits: 64,
    family: 'ppc',
    vendorModules: ['kvm_hv', 'kvm_pr'],
    qemu: 'qemu-system-ppc64',
    qemuPackage: 'qemu-system-ppc',
  },
  {
    machine: 'ppc64',
    bits: 64,
    family: 'ppc',
    vendorModules: ['kvm_hv', 'kvm_pr'],
    qemu: 'qemu-system-ppc64',
    qemuPackage: 'qemu-system-ppc',
  },
  {
    machine: 's390x',
    bits: 64,
    family: 's390',
    vendorModules: [],
    qemu: 'qemu-system-s390x',
    qemuPackage: 'qemu-system-s390x',
  },
  {
    machine: 'riscv64',
    bits: 64,
    family: 'riscv',
    vendorModules: [],
    qemu: 'qemu-system-riscv64',
    qemuPackage: 'qemu-system-misc',
  },
  {
    machine: 'loongarch64',
    bits: 64,
    family: 'loongarch',
    vendorModules: [],
    qemu: 'qemu-system-loongarch64',
    qemuPackage: 'qemu-system-misc',
  },
  { machine: 'mips64', bits: 64, family: 'mips', vendorModules: [], qemu: 'qemu-system-mips64' },
];

/** An unknown machine is "other": no CPU-flag check, no vendor module, decided by /dev/kvm. */
export function archProfileOf(machine: string): ArchProfile | undefined {
  const normalized = machine === 'arm64' ? 'aarch64' : machine === 'amd64' ? 'x86_64' : machine;
  if (normalized === '') return undefined;
  return (
    PROFILES.find((p) => p.machine === normalized) ?? {
      machine: normalized,
      bits: /64/.test(normalized) ? 64 : 32,
      family: 'other',
      vendorModules: [],
    }
  );
}
