import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import type { HostProbe } from '../probe.ts';

/** The seed's stack: QEMU drives KVM (2.1), libvirt manages it (2.2). */

export function checkQemu(probe: HostProbe, facts: HostFacts): Check {
  const arch = facts.arch;
  // qemu-kvm: the seed's name, RHEL's binary (in /usr/libexec, off PATH) and old Debian's wrapper.
  const candidates = [arch?.qemu, 'qemu-kvm', '/usr/libexec/qemu-kvm', 'kvm'].filter(
    (name): name is string => name !== undefined,
  );
  const base = {
    id: 'tools.qemu',
    title: 'QEMU',
    severity: 'recommended',
    evidence: ['PATH', ...candidates.filter((c) => c.startsWith('/'))],
  } as const;
  const found = candidates.map((name) => probe.which(name)).find((path) => path !== undefined);
  if (found) return { ...base, status: 'pass', summary: found };
  const install = arch?.qemuPackage
    ? `sudo apt install ${arch.qemuPackage} (Fedora/RHEL: sudo dnf install qemu-kvm)`
    : "install your distribution's qemu-system package";
  return {
    ...base,
    status: 'warn',
    summary: `no ${candidates.filter((c) => !c.startsWith('/')).join(' / ')} found`,
    hint: `KVM needs a user-space VMM to run guests: ${install}.`,
  };
}

/** The daemons' sockets: monolithic libvirtd or the modular virtqemud (libvirt 5.6+). */
const SOCKETS = ['/run/libvirt/libvirt-sock', '/run/libvirt/virtqemud-sock'];

export function checkLibvirt(probe: HostProbe): Check {
  const base = {
    id: 'tools.libvirt',
    title: 'libvirt',
    severity: 'recommended',
    evidence: ['PATH', ...SOCKETS],
  } as const;
  const virsh = probe.which('virsh');
  const daemon = ['virtqemud', 'libvirtd'].map((n) => probe.which(n)).find(Boolean);
  const socket = SOCKETS.find((path) => probe.stat(path)?.kind === 'socket');
  const found = [virsh, daemon, socket].filter(Boolean).join(', ');
  if (virsh && daemon && socket) return { ...base, status: 'pass', summary: found };
  if (!daemon) {
    return {
      ...base,
      status: 'warn',
      summary: virsh ? `${virsh}, but no libvirtd or virtqemud` : 'no virsh, libvirtd or virtqemud',
      hint: 'Install the daemon: sudo apt install libvirt-daemon-system (Fedora/RHEL: sudo dnf install libvirt-daemon-kvm), then sudo systemctl enable --now libvirtd.',
    };
  }
  if (!socket) {
    return {
      ...base,
      status: 'warn',
      summary: `${found}, but no daemon socket in /run/libvirt`,
      hint: `Start it: sudo systemctl enable --now ${daemon.endsWith('virtqemud') ? 'virtqemud.socket' : 'libvirtd'}.`,
    };
  }
  return {
    ...base,
    status: 'warn',
    summary: `${found}, but no virsh`,
    hint: 'Install the client: sudo apt install libvirt-clients (Fedora/RHEL: libvirt-client).',
  };
}
