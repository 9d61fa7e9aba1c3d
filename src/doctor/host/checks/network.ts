import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import type { HostProbe } from '../probe.ts';

interface NetDevice {
  id: string;
  path: string;
  /** include/linux/miscdevice.h: TUN_MINOR 200, VHOST_NET_MINOR 238. */
  minor: number;
  module: string;
  purpose: string;
}

const DEVICES: readonly NetDevice[] = [
  {
    id: 'net.tun',
    path: '/dev/net/tun',
    minor: 200,
    module: 'tun',
    purpose: 'tap networking for guests',
  },
  {
    id: 'net.vhost',
    path: '/dev/vhost-net',
    minor: 238,
    module: 'vhost_net',
    purpose: "virtio-net's in-kernel data path, for faster guest networking",
  },
];

function checkDevice(probe: HostProbe, facts: HostFacts, device: NetDevice): Check {
  const base = {
    id: device.id,
    title: device.path,
    severity: 'recommended',
    evidence: [device.path],
  } as const;
  const node = probe.stat(device.path);
  const fix = facts.environment.container
    ? `pass it in: \`docker run --device ${device.path} …\``
    : facts.modules.loadable
      ? `\`sudo modprobe ${device.module}\``
      : `this kernel cannot load modules (no /proc/modules), so ${device.module} must be built in (a kernel with CONFIG_${device.module.toUpperCase()}=y)`;
  if (node === undefined) {
    return {
      ...base,
      status: 'warn',
      summary: `${device.path} is missing (${device.purpose})`,
      hint: `To get it: ${fix}.`,
    };
  }
  if (node.kind !== 'char' || node.major !== 10 || node.minor !== device.minor) {
    const found = node.kind === 'char' ? `character device ${node.major}:${node.minor}` : node.kind;
    return {
      ...base,
      status: 'warn',
      summary: `${device.path} is a ${found}, not character device 10:${device.minor}`,
      hint: `Remove it and recreate it: sudo mknod -m 0666 ${device.path} c 10 ${device.minor}, or ${fix}.`,
    };
  }
  return { ...base, status: 'pass', summary: `character device 10:${device.minor}` };
}

export function checkNetworkDevices(probe: HostProbe, facts: HostFacts): Check[] {
  return DEVICES.map((device) => checkDevice(probe, facts, device));
}
