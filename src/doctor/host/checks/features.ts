import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import { isOn } from '../parse.ts';
import type { HostProbe } from '../probe.ts';

/** Informational: what guests could additionally get (passthrough, limits, confidentiality). */

const IOMMU_TABLES = ['DMAR', 'IVRS', 'IORT']; // Intel VT-d, AMD-Vi, Arm SMMU

export function checkIommu(probe: HostProbe): Check {
  const groups = probe.listDir('/sys/kernel/iommu_groups') ?? [];
  const units = probe.listDir('/sys/class/iommu') ?? [];
  const tables = (probe.listDir('/sys/firmware/acpi/tables') ?? []).filter((t) =>
    IOMMU_TABLES.includes(t),
  );
  const base = {
    id: 'iommu',
    title: 'IOMMU (device passthrough)',
    severity: 'optional',
    status: 'info',
    evidence: ['/sys/kernel/iommu_groups', '/sys/class/iommu', '/sys/firmware/acpi/tables'],
  } as const;
  const described = tables.length > 0 ? ` (${tables.join(', ')})` : '';
  if (groups.length > 0) {
    return {
      ...base,
      summary: `IOMMU on: ${groups.length} groups, ${units.length} units${described}`,
      hint: 'PCI passthrough (VFIO) is possible; nothing to do otherwise.',
    };
  }
  if (tables.length > 0) {
    return {
      ...base,
      summary: `the firmware describes an IOMMU${described} but the kernel has no IOMMU groups`,
      hint: 'Only for PCI passthrough: boot with intel_iommu=on (Intel) or check amd_iommu (AMD), then reboot.',
    };
  }
  return {
    ...base,
    summary: 'no IOMMU',
    hint: 'Only needed for PCI passthrough: enable VT-d / AMD-Vi in the firmware, if the machine has it.',
  };
}

// What libvirt uses to limit guests (virt-host-validate's list) on v1 and on v2.
const WANTED_V1 = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'blkio'];
const WANTED_V2 = ['cpu', 'cpuset', 'memory', 'io', 'pids'];

export function checkCgroups(probe: HostProbe): Check {
  const v2 = probe.readFile('/sys/fs/cgroup/cgroup.controllers');
  const v1 = (probe.listDir('/sys/fs/cgroup') ?? [])
    .flatMap((name) => name.split(','))
    .filter((name) => WANTED_V1.includes(name));
  const base = {
    id: 'cgroups',
    title: 'cgroup controllers',
    severity: 'optional',
    status: 'info',
    evidence: ['/sys/fs/cgroup'],
  } as const;
  const [version, present, wanted] =
    v2 !== undefined
      ? (['v2', v2.split(/\s+/).filter(Boolean), WANTED_V2] as const)
      : (['v1', [...new Set(v1)], WANTED_V1] as const);
  const missing = wanted.filter((c) => !present.includes(c));
  if (v2 === undefined && present.length === 0) {
    return {
      ...base,
      summary: 'no cgroup controllers found',
      hint: 'libvirt runs guests without them but cannot limit their CPU, memory or I/O: mount cgroup2 on /sys/fs/cgroup.',
    };
  }
  return {
    ...base,
    summary:
      `cgroup ${version}: ${wanted.filter((c) => present.includes(c)).join(' ') || 'none of'} ${missing.length > 0 ? `(missing: ${missing.join(' ')})` : ''}`.trim(),
    hint:
      missing.length > 0
        ? `libvirt cannot limit guests on ${missing.join(', ')}: enable those controllers (systemd: Delegate=yes) if you need limits.`
        : 'Nothing to do: libvirt can limit guest CPU, memory and I/O.',
  };
}

export function checkSecureGuest(probe: HostProbe, facts: HostFacts): Check {
  const flags = facts.cpu?.flags ?? new Set<string>();
  const param = (module: string, name: string) => facts.modules.param(module, name);
  const sev = [
    ['SEV', param('kvm_amd', 'sev'), 'sev'],
    ['SEV-ES', param('kvm_amd', 'sev_es'), 'sev_es'],
    ['SEV-SNP', param('kvm_amd', 'sev_snp'), 'sev_snp'],
  ] as const;
  const sevOn = sev.filter(([, value]) => isOn(value)).map(([name]) => name);
  const sevCapable = sev.filter(([, , flag]) => flags.has(flag)).map(([name]) => name);
  // kvm_intel.tdx exists since Linux 6.16; tdx_host_platform: the CPU and firmware support it.
  const tdxOn = isOn(param('kvm_intel', 'tdx'));
  const tdxCapable = flags.has('tdx_host_platform');
  const s390 = isOn(probe.readFile('/sys/firmware/uv/prot_virt_host'));
  const base = {
    id: 'secure-guest',
    title: 'confidential guests (SEV, TDX)',
    severity: 'optional',
    status: 'info',
    evidence: [
      '/proc/cpuinfo',
      '/sys/module/kvm_amd/parameters',
      '/sys/module/kvm_intel/parameters',
    ],
  } as const;
  const on = [
    ...(sevOn.length > 0 ? [`AMD ${sevOn.join(', ')}`] : []),
    ...(tdxOn ? ['Intel TDX'] : []),
    ...(s390 ? ['IBM Secure Execution'] : []),
  ];
  if (on.length > 0) {
    return {
      ...base,
      summary: `${on.join('; ')} enabled in KVM`,
      hint: "Confidential guests are possible: libvirt's <launchSecurity> element selects them.",
    };
  }
  const capable = [
    ...(sevCapable.length > 0 ? [`AMD ${sevCapable.join(', ')}`] : []),
    ...(tdxCapable ? ['Intel TDX'] : []),
  ];
  if (capable.length > 0 && !facts.kvmUp) {
    // Module options are moot while the vendor module cannot even load.
    return {
      ...base,
      summary: `the CPU offers ${capable.join('; ')}, but KVM is not running`,
      hint: 'For confidential guests, first make KVM work (see kvm.modules and cpu.hwvirt).',
    };
  }
  if (capable.length > 0) {
    // Only what this CPU has: sev_snp=1 on a CPU without SNP would only fail.
    const options = sev
      .filter(([, , flag]) => flags.has(flag))
      .map(([, , flag]) => `${flag}=1`)
      .join(' ');
    return {
      ...base,
      summary: `the CPU offers ${capable.join('; ')}, but KVM does not enable it`,
      hint:
        sevCapable.length > 0
          ? `For confidential guests: \`options kvm_amd ${options}\` in /etc/modprobe.d/kvm.conf and reload kvm_amd (the firmware must allow it).`
          : 'For confidential guests: boot with kvm_intel.tdx=1 (Linux 6.16+) and enable TDX in the firmware.',
    };
  }
  return {
    ...base,
    summary: 'no SEV or TDX',
    hint: 'Only needed for confidential VMs (AMD EPYC with SEV, Intel Xeon with TDX).',
  };
}
