import type { Check } from '../../report.ts';
import { lowerFirst, nestedAdvice, vendorModulesFor } from '../advice.ts';
import { KVM_MINOR, type HostFacts } from '../facts.ts';
import { isOn } from '../parse.ts';

/** Informational: where this kernel runs only changes which hints the other checks give. */

export function checkNested(facts: HostFacts): Check {
  const { vm } = facts.environment;
  const hostModule = vendorModulesFor(facts).find((m) => facts.modules.state(m) !== 'absent');
  // A built-in module that never started offers guests nothing, whatever its parameter says.
  const started =
    hostModule !== undefined &&
    (facts.kvmUp ||
      facts.misc?.get('kvm') === KVM_MINOR ||
      facts.modules.state(hostModule) === 'loaded');
  const offered = started ? facts.modules.param(hostModule, 'nested') : undefined;
  const base = {
    id: 'kvm.nested',
    title: 'nested virtualization',
    severity: 'optional',
    status: 'info',
    evidence: [
      ...(vm?.evidence ?? ['/proc/cpuinfo']),
      ...(offered !== undefined ? [`/sys/module/${hostModule}/parameters/nested`] : []),
    ],
  } as const;
  const offers =
    offered === undefined
      ? ''
      : isOn(offered)
        ? `; ${hostModule} offers nested virtualization to guests`
        : `; ${hostModule} does not offer nested virtualization to guests`;
  if (vm !== undefined) {
    const product = vm.product ?? 'a virtual machine';
    return {
      ...base,
      summary: `this host is itself ${product}: ${facts.kvmUp ? 'nested KVM is available' : 'no nested KVM'}${offers}`,
      hint: facts.kvmUp
        ? 'Guests started here are nested (L2): expect slower exits and I/O than on bare metal.'
        : `If kvm.* fails: ${lowerFirst(nestedAdvice(facts))}`,
    };
  }
  return {
    ...base,
    summary: `no hypervisor below this kernel${offers}`,
    hint:
      offered !== undefined && !isOn(offered)
        ? `To run hypervisors inside guests: \`options ${hostModule} nested=1\` in /etc/modprobe.d/kvm.conf, then reload ${hostModule}.`
        : 'Nothing to do: guests run directly on the hardware.',
  };
}

export function checkEnvironment(facts: HostFacts): Check {
  const { container, vm, wsl, dockerenvOnly } = facts.environment;
  const parts: string[] = [];
  const evidence: string[] = [...(container?.evidence ?? []), ...(vm?.evidence ?? [])];
  if (wsl) parts.push(wsl === 2 ? 'WSL2 (a Hyper-V virtual machine)' : 'WSL1');
  if (vm && wsl !== 2) parts.push(`virtual machine (${vm.product ?? 'hypervisor unknown'})`);
  if (container) parts.push(`${container.engine} container`);
  if (dockerenvOnly) {
    parts.push('a /.dockerenv file but no other sign of a container');
    evidence.push('/.dockerenv', '/proc/1/cgroup', '/proc/self/mountinfo');
  }
  if (parts.length === 0 || (dockerenvOnly && !vm && !wsl && !container))
    parts.unshift('bare metal (no hypervisor or container detected)');
  const situation = container
    ? 'A container sees the host kernel: modules and firmware are fixed on the host, and /dev/kvm must be passed in (--device /dev/kvm).'
    : wsl === 2
      ? 'WSL2 offers /dev/kvm when nestedVirtualization=true is set under [wsl2] in .wslconfig (Windows 11) and your user can open it.'
      : wsl === 1
        ? 'WSL1 has no Linux kernel and no KVM: convert the distribution with `wsl --set-version <distro> 2`.'
        : vm
          ? 'KVM here is nested: it works only if the hypervisor below exposes virtualization to this VM.'
          : 'Nothing to do: KVM runs at full speed on bare metal once the checks above pass.';
  const hint = dockerenvOnly
    ? `/.dockerenv alone does not make a container (systemd-detect-virt would say "docker"), so it is not treated as one. ${situation}`
    : situation;
  return {
    id: 'environment',
    title: 'where this kernel runs',
    severity: 'optional',
    status: 'info',
    summary: parts.join('; '),
    evidence: evidence.length > 0 ? evidence : ['/proc/cpuinfo', '/proc/1/cgroup', 'uname'],
    hint,
  };
}
