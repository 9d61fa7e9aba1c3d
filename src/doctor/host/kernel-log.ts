import { parseKernelLog, type CpuVendor } from './parse.ts';
import type { HostProbe } from './probe.ts';

/**
 * Why KVM did not start, as the kernel's own log says it: the line decides the advice, so the
 * doctor quotes it rather than sending the admin to `dmesg` for what it has already read.
 */
export type KvmLogCause = 'firmware' | 'no-el2' | 'pvm-guest' | 'no-hwvirt' | 'other';

export interface KvmLogReason {
  line: string;
  cause: KvmLogCause;
}

// "kvm: disabled by bios" (kvm_init() in older kernels), "x86/cpu: VMX (outside TXT) disabled by
// BIOS" (feat_ctl.c since 5.6), "SVM disabled (by BIOS) in MSR_VM_CR" (kvm_amd, amd.c since 6.7).
export const FIRMWARE_DISABLED = /\b(vmx|svm|kvm)\b.*\b(disabled|not enabled) \(?by bios\b/i;

/** Lines KVM prints: `kvm: …`, `kvm_intel: …`, `kvm-pvm: …`, arm64's `kvm [1]: …`. */
const KVM_PREFIX = /^(kvm|kvm_intel|kvm_amd|kvm[-_]pvm)(\s\[\d+\])?:/i;

// Most specific first; the last matching line of the first matching cause is quoted.
const CAUSES: readonly [KvmLogCause, RegExp][] = [
  ['firmware', FIRMWARE_DISABLED],
  // arch/arm64/kvm/arm.c: kvm_info("HYP mode not available") when not booted at EL2.
  ['no-el2', /\bHYP mode not available\b/i],
  ['pvm-guest', /^kvm[-_]pvm:.*\bguest\b.*\bnot binding\b/i],
  // arch/x86/kvm/x86.c: "kvm: no hardware support" (before 6.3), "… for 'kvm_intel'" (since);
  // vmx.c/svm.c: "VMX/SVM not supported by CPU n".
  ['no-hwvirt', /\bno hardware support\b|\b(VMX|SVM) not supported by CPU\b/i],
  ['other', /\b(fail(ed|s)?|error|not available|not supported|unable|cannot|can't|not binding)\b/i],
];

/** A line about the other vendor's module (kvm_amd on Intel) says nothing about this host. */
function concernsOtherVendor(line: string, vendor: CpuVendor): boolean {
  if (vendor === 'intel') return /kvm_amd|\bsvm\b/i.test(line);
  if (vendor === 'amd') return /kvm_intel|\bvmx\b/i.test(line);
  return false;
}

export function kvmLogReasonOf(
  lines: readonly string[],
  vendor: CpuVendor,
): KvmLogReason | undefined {
  const relevant = lines.map((l) => l.trim()).filter((l) => !concernsOtherVendor(l, vendor));
  for (const [cause, pattern] of CAUSES) {
    const candidates = relevant.filter(
      (l) => pattern.test(l) && (cause === 'firmware' || KVM_PREFIX.test(l)),
    );
    const line = candidates.at(-1);
    if (line !== undefined) return { line, cause };
  }
  return undefined;
}

export function readKernelLog(probe: HostProbe): { lines: string[]; source: string } | undefined {
  for (const source of ['/dev/kmsg', '/var/log/dmesg']) {
    const text = probe.readFile(source);
    if (text !== undefined && text.trim() !== '') return { lines: parseKernelLog(text), source };
  }
  return undefined;
}
