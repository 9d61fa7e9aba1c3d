import { createReport, type Check, type Report } from '../report.ts';
import { checkApi } from './checks/api.ts';
import { checkHardwareVirtualization } from './checks/cpu.ts';
import { checkDeviceAccess, checkDeviceExists } from './checks/device.ts';
import { checkEnvironment, checkNested } from './checks/environment.ts';
import { checkVirtualBoxConflict } from './checks/conflict.ts';
import { checkCgroups, checkIommu, checkSecureGuest } from './checks/features.ts';
import { checkModules } from './checks/kvm.ts';
import { checkNetworkDevices } from './checks/network.ts';
import { check64Bit, checkKernelVersion, checkLinux } from './checks/platform.ts';
import { checkLibvirt, checkQemu } from './checks/tools.ts';
import { gatherFacts } from './facts.ts';
import type { HostProbe } from './probe.ts';

export { createHostProbe, type HostProbe, type HostProbeOptions } from './probe.ts';

export interface HostCheckOptions {
  /** Also run the optional `kvm.api` check, which starts QEMU once. */
  probe?: boolean;
}

/** The ids in report order; docs/doctor.md documents each (a test keeps the two in step). */
export const HOST_CHECK_IDS = [
  'host.linux',
  'host.64bit',
  'kernel.version',
  'cpu.hwvirt',
  'kvm.modules',
  'kvm.device.exists',
  'kvm.device.access',
  'kvm.api',
  'kvm.nested',
  'environment',
  'conflict.virtualbox',
  'net.tun',
  'net.vhost',
  'tools.qemu',
  'tools.libvirt',
  'iommu',
  'cgroups',
  'secure-guest',
] as const;

/**
 * `doctor host`: whether this machine can run KVM guests, decided on /dev/kvm and the kernel's
 * view of KVM, with CPU flags as hints (docs/doctor.md).
 */
export function runHostChecks(probe: HostProbe, options: HostCheckOptions = {}): Report {
  const facts = gatherFacts(probe);
  const checks: Check[] = [
    checkLinux(facts),
    check64Bit(facts),
    checkKernelVersion(facts),
    checkHardwareVirtualization(facts),
    checkModules(facts),
    checkDeviceExists(facts),
    checkDeviceAccess(facts),
    checkApi(probe, facts, { probe: options.probe === true }),
    checkNested(facts),
    checkEnvironment(facts),
    checkVirtualBoxConflict(facts),
    ...checkNetworkDevices(probe, facts),
    checkQemu(probe, facts),
    checkLibvirt(probe),
    checkIommu(probe),
    checkCgroups(probe),
    checkSecureGuest(probe, facts),
  ];
  const { uname, identity } = facts;
  return createReport({
    subject: 'host',
    checks,
    context: {
      root: probe.root,
      machine: uname.machine || 'unknown',
      kernel: uname.release || 'unknown',
      user:
        identity.user !== undefined ? `${identity.user}(${identity.uid})` : `uid ${identity.uid}`,
    },
  });
}
