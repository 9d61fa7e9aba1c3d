import type { CpuInfo } from './parse.ts';
import type { HostProbe, Uname } from './probe.ts';

export interface EnvironmentFacts {
  /** Set when something beyond /.dockerenv says this is a container. */
  container?: { engine: string; evidence: string[] };
  /** /.dockerenv exists but nothing else agrees: images built with Docker and booted as VMs. */
  dockerenvOnly: boolean;
  wsl?: 1 | 2;
  /** Set when this kernel runs under a hypervisor. */
  vm?: { product?: string; evidence: string[] };
}

/** Vendor strings (DMI, ACPI OEM ids, the kernel's "Hypervisor detected") → product. */
const PRODUCTS: readonly [RegExp, string][] = [
  [/FIRECK|Firecracker/i, 'Firecracker'],
  [/CLOUDH|Cloud Hypervisor/i, 'Cloud Hypervisor'],
  [/Amazon EC2|AMAZON/, 'AWS EC2'],
  [/Google Compute Engine|^Google$/, 'Google Compute Engine'],
  [/Microsoft Corporation Virtual Machine|Hyper-V|VRTUAL/i, 'Hyper-V (Azure)'],
  [/VMware|PTLTD/i, 'VMware'],
  [/innotek|VirtualBox|VBOX/i, 'VirtualBox'],
  [/Parallels/i, 'Parallels'],
  [/bhyve|BHYVE/, 'bhyve'],
  [/Xen/i, 'Xen'],
  [/OpenStack/i, 'OpenStack'],
  [/DigitalOcean/i, 'DigitalOcean'],
  [/Hetzner/i, 'Hetzner Cloud'],
  [/Alibaba/i, 'Alibaba Cloud'],
  [/QEMU|BOCHS|dummy-virt|KVM/i, 'QEMU/KVM'],
];

/** Bytes 10–15 of an ACPI table header are the OEM id (ACPI spec, "System Description Table Header"). */
function acpiOemId(probe: HostProbe): string | undefined {
  const bytes = probe.readBytes('/sys/firmware/acpi/tables/FACP', 16);
  if (bytes === undefined || bytes.length < 16) return undefined;
  return String.fromCharCode(...bytes.subarray(10, 16))
    .replace(/[^\x20-\x7e]/g, '')
    .trim();
}

function detectVm(
  probe: HostProbe,
  cpu: CpuInfo | undefined,
  kernelLog: readonly string[] | undefined,
): EnvironmentFacts['vm'] {
  const evidence: string[] = [];
  const names: string[] = [];
  const note = (source: string, name: string) => {
    evidence.push(source);
    names.push(name);
  };
  if (cpu?.flags.has('hypervisor')) evidence.push('/proc/cpuinfo (hypervisor flag)');
  const detected = kernelLog?.find((l) => /Hypervisor detected:/.test(l));
  if (detected) note(`kernel log: ${detected.trim()}`, detected);
  const xen = probe.readFile('/sys/hypervisor/type')?.trim();
  if (xen) note('/sys/hypervisor/type', xen);
  const oem = acpiOemId(probe);
  if (oem && PRODUCTS.some(([p]) => p.test(oem))) note('ACPI OEM id', oem);
  if (probe.readFile('/sys/firmware/devicetree/base/compatible')?.includes('dummy-virt')) {
    note('/sys/firmware/devicetree/base/compatible', 'dummy-virt');
  }
  // DMI alone does not prove a VM: "Amazon EC2 / c5.metal" is bare metal.
  const dmi = ['sys_vendor', 'product_name']
    .map((f) => probe.readFile(`/sys/class/dmi/id/${f}`)?.trim())
    .filter((v): v is string => Boolean(v))
    .join(' ');
  const dmiProduct = PRODUCTS.find(([p]) => p.test(dmi));
  if (dmiProduct && !/metal/i.test(dmi)) note('/sys/class/dmi/id', dmi);
  if (evidence.length === 0) return undefined;
  const product = PRODUCTS.find(([pattern]) => names.some((n) => pattern.test(n)))?.[1];
  return { ...(product ? { product } : {}), evidence };
}

const CGROUP_ENGINES: readonly [RegExp, string][] = [
  [/kubepods/, 'Kubernetes'],
  [/libpod/, 'Podman'],
  [/docker/, 'Docker'],
  [/containerd|cri-o|crio/, 'containerd/CRI'],
  [/\/lxc[./]|lxc\.payload/, 'LXC'],
];

function detectContainer(probe: HostProbe): EnvironmentFacts['container'] {
  const evidence: string[] = [];
  let engine: string | undefined;
  if (probe.stat('/run/.containerenv')) {
    evidence.push('/run/.containerenv');
    engine = 'Podman';
  }
  const systemd = probe.readFile('/run/systemd/container')?.trim();
  if (systemd) {
    evidence.push('/run/systemd/container');
    engine ??= systemd;
  }
  const environ = probe.readFile('/proc/1/environ');
  const declared = environ?.split('\0').find((v) => v.startsWith('container='));
  if (declared) {
    evidence.push('/proc/1/environ');
    engine ??= declared.slice('container='.length);
  }
  for (const path of ['/proc/1/cgroup', '/proc/self/cgroup']) {
    const text = probe.readFile(path);
    const match = text === undefined ? undefined : CGROUP_ENGINES.find(([p]) => p.test(text));
    if (match) {
      evidence.push(path);
      engine ??= match[1];
      break;
    }
  }
  // The root mount on overlayfs agrees with /.dockerenv; a VM's root is a block device.
  const root = probe
    .readFile('/proc/self/mountinfo')
    ?.split('\n')
    .find((l) => l.split(' ')[4] === '/');
  const overlayRoot = root !== undefined && / - (overlay|aufs|fuse-overlayfs) /.test(root);
  if (probe.stat('/.dockerenv') && (overlayRoot || evidence.length > 0)) {
    evidence.push('/.dockerenv');
    engine ??= 'Docker';
  }
  return engine === undefined ? undefined : { engine, evidence };
}

export function detectEnvironment(
  probe: HostProbe,
  inputs: { uname: Uname; cpu: CpuInfo | undefined; kernelLog: readonly string[] | undefined },
): EnvironmentFacts {
  const container = detectContainer(probe);
  const vm = detectVm(probe, inputs.cpu, inputs.kernelLog);
  // WSL2 kernels: 5.15.153.1-microsoft-standard-WSL2; WSL1 fakes 4.4.0-19041-Microsoft.
  const release = inputs.uname.release;
  const wsl = /microsoft/i.test(release)
    ? /WSL2|microsoft-standard/i.test(release)
      ? 2
      : 1
    : undefined;
  // WSL2 is a Hyper-V utility VM; its log says "Hypervisor detected: Microsoft Hyper-V" like
  // Azure's, but what fixes it is WSL2's own setting, so WSL2 is the name that counts.
  const named = wsl === 2 ? { product: 'WSL2', evidence: vm?.evidence ?? ['uname'] } : vm;
  return {
    ...(container ? { container } : {}),
    dockerenvOnly: container === undefined && probe.stat('/.dockerenv') !== undefined,
    ...(wsl ? { wsl } : {}),
    ...(named ? { vm: named } : {}),
  };
}
