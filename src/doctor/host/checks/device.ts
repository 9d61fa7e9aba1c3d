import type { Check } from '../../report.ts';
import { KVM_DEVICE, KVM_MAJOR, KVM_MINOR, type HostFacts } from '../facts.ts';
import type { NodeInfo } from '../probe.ts';

const MKNOD =
  'sudo mknod -m 0660 /dev/kvm c 10 232 && sudo chgrp kvm /dev/kvm (udev normally does this)';

const modeOf = (node: NodeInfo) => `0${node.mode.toString(8).padStart(3, '0')}`;

function groupName(facts: HostFacts, gid: number): string {
  return facts.groups?.find((g) => g.gid === gid)?.name ?? String(gid);
}

function ownership(facts: HostFacts, node: NodeInfo): string {
  const owner = node.uid === 0 ? 'root' : String(node.uid);
  return `${modeOf(node)} ${owner}:${groupName(facts, node.gid)}`;
}

export function checkDeviceExists(facts: HostFacts): Check {
  const { node } = facts.device;
  const miscKvm = facts.misc?.get('kvm') === KVM_MINOR;
  const base = {
    id: 'kvm.device.exists',
    title: '/dev/kvm is the KVM device',
    severity: 'required',
    evidence: [KVM_DEVICE, ...(facts.misc ? ['/proc/misc'] : [])],
  } as const;
  if (node === undefined) {
    if (facts.environment.container) {
      return {
        ...base,
        status: 'fail',
        summary: `/dev/kvm is missing in this ${facts.environment.container.engine} container${miscKvm ? ' (the kernel has KVM: /proc/misc lists it)' : ''}`,
        hint: 'Pass the device in: `docker run --device /dev/kvm …` (podman the same; Kubernetes: a KVM device plugin), after checking the host has it.',
      };
    }
    if (miscKvm) {
      return {
        ...base,
        status: 'fail',
        summary: 'no /dev/kvm node, although the kernel registered KVM (/proc/misc: 232 kvm)',
        hint: `Create the node: ${MKNOD}.`,
      };
    }
    return {
      ...base,
      status: 'fail',
      summary: '/dev/kvm does not exist',
      hint: 'It appears when KVM initialises: fix kvm.modules (and cpu.hwvirt) first.',
    };
  }
  if (node.kind !== 'char') {
    return {
      ...base,
      status: 'fail',
      summary: `/dev/kvm is a ${node.kind === 'file' ? 'regular file' : node.kind}, not a character device`,
      hint: `Something created it by mistake (a stray touch or bind mount): remove it, then ${MKNOD}.`,
    };
  }
  if (!facts.device.valid) {
    return {
      ...base,
      status: 'fail',
      summary: `/dev/kvm is character device ${node.major}:${node.minor}, not ${KVM_MAJOR}:${KVM_MINOR}`,
      hint: `Recreate it: sudo rm /dev/kvm && ${MKNOD}.`,
    };
  }
  return {
    ...base,
    status: 'pass',
    summary: `character device ${KVM_MAJOR}:${KVM_MINOR}, ${ownership(facts, node)}`,
  };
}

/**
 * How to give this process a group. A uid without a passwd entry (a container's `--user 1500`)
 * has no name for usermod: the group must then come with the process itself.
 */
function joinGroup(facts: HostFacts, group: string, gid: string): string {
  const { user, uid } = facts.identity;
  if (user !== undefined) return `sudo usermod -aG ${group} ${user}, then log out and back in`;
  if (facts.environment.container) {
    return `uid ${uid} has no passwd entry, so usermod cannot name it: start the container with the group, \`docker run --group-add ${gid} …\` (Kubernetes: securityContext.supplementalGroups: [${gid}])`;
  }
  return `uid ${uid} has no passwd entry, so usermod cannot name it: create an account for it (sudo useradd -u ${uid} -G ${group} NAME) and log in as that user`;
}

/** The open(2) decides, not the mode bits: ACLs (systemd uaccess), nodev mounts and LSMs all count. */
export function checkDeviceAccess(facts: HostFacts): Check {
  const { node, open, valid } = facts.device;
  const { identity } = facts;
  const who =
    identity.user !== undefined ? `${identity.user} (uid ${identity.uid})` : `uid ${identity.uid}`;
  const base = {
    id: 'kvm.device.access',
    title: '/dev/kvm opens read-write',
    severity: 'required',
    evidence: [`open ${KVM_DEVICE} O_RDWR`, 'identity'],
  } as const;
  if (node === undefined || !valid) {
    return {
      ...base,
      status: 'skip',
      summary: 'no valid /dev/kvm to open',
      hint: 'Fix kvm.device.exists first.',
    };
  }
  if (open.ok) return { ...base, status: 'pass', summary: `opened read-write as ${who}` };
  if (open.code === 'ENXIO' || open.code === 'ENODEV') {
    return {
      ...base,
      status: 'fail',
      summary: `the node exists but no driver answers (${open.code}): a stale node, KVM is not loaded`,
      hint: `Load KVM (see kvm.modules)${facts.environment.container ? ' on the container host' : ''}.`,
    };
  }
  if (open.code !== 'EACCES' && open.code !== 'EPERM') {
    return {
      ...base,
      status: 'fail',
      summary: `open failed: ${open.code}`,
      hint: 'See open(2) for this error; the device must open read-write.',
    };
  }
  if (identity.uid === 0) {
    return {
      ...base,
      status: 'fail',
      summary: `even root cannot open it (${open.code})`,
      hint: 'A nodev mount, the device cgroup or an LSM (SELinux/AppArmor) denies it; in a container pass `--device /dev/kvm` instead of bind-mounting it.',
    };
  }
  const group = groupName(facts, node.gid);
  const evidence = [...base.evidence, KVM_DEVICE, ...(facts.groups ? ['/etc/group'] : [])];
  const groupCanOpen = node.gid !== 0 && (node.mode & 0o060) === 0o060;
  if (groupCanOpen) {
    const listed = facts.groups
      ?.find((g) => g.gid === node.gid)
      ?.members.includes(identity.user ?? '');
    if (listed) {
      return {
        ...base,
        evidence,
        status: 'fail',
        summary: `${who} is listed in group ${group}, but this session started before that`,
        hint: `Log out and back in (or run \`newgrp ${group}\`) so the session gets group ${group}.`,
      };
    }
    return {
      ...base,
      evidence,
      status: 'fail',
      summary: `/dev/kvm is ${ownership(facts, node)} and ${who} is not in group ${group}`,
      hint: `${joinGroup(facts, group, String(node.gid))}.`,
    };
  }
  return {
    ...base,
    evidence,
    status: 'fail',
    summary: `/dev/kvm is ${ownership(facts, node)}: only root can open it`,
    hint: `Give it to group kvm with a udev rule (/etc/udev/rules.d/65-kvm.rules: KERNEL=="kvm", GROUP="kvm", MODE="0660"; until reboot: sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm); then ${joinGroup(facts, 'kvm', String(facts.groups?.find((g) => g.name === 'kvm')?.gid ?? 'kvm'))}; or run as root.`,
  };
}
