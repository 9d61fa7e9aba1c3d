import type { Check } from '../../report.ts';
import type { HostFacts } from '../facts.ts';
import type { HostProbe } from '../probe.ts';

export const QEMU_TIMEOUT_MS = 15_000;

/**
 * KVM_GET_API_VERSION needs an ioctl, which Node cannot make without a native addon. QEMU makes
 * it: kvm_init() refuses any API version but 12 (KVM_API_VERSION) and then creates a VM, so a
 * QMP `query-kvm` answering `enabled: true` under `-machine none,accel=kvm` (no TCG fallback)
 * proves the API answers. `-S` keeps the (CPU-less) machine stopped; `quit` ends it.
 */
export const QEMU_ARGS = [
  '-machine',
  'none,accel=kvm',
  '-display',
  'none',
  '-nodefaults',
  '-no-user-config',
  '-S',
  '-qmp',
  'stdio',
] as const;

const QMP_SCRIPT = ['qmp_capabilities', 'query-kvm', 'quit']
  .map((command) => JSON.stringify({ execute: command }))
  .join('\n')
  .concat('\n');

interface QmpKvm {
  enabled: boolean;
  present: boolean;
}

function parseQueryKvm(stdout: string): { kvm?: QmpKvm; version?: string } {
  let kvm: QmpKvm | undefined;
  let version: string | undefined;
  for (const line of stdout.split('\n')) {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof message !== 'object' || message === null) continue;
    const ret = (message as { return?: unknown }).return;
    if (typeof ret === 'object' && ret !== null && 'enabled' in ret && 'present' in ret) {
      kvm = { enabled: ret.enabled === true, present: ret.present === true };
    }
    const v = (message as { QMP?: { version?: { qemu?: Record<string, unknown> } } }).QMP?.version
      ?.qemu;
    if (v) version = [v.major, v.minor, v.micro].join('.');
  }
  return { ...(kvm ? { kvm } : {}), ...(version ? { version } : {}) };
}

function findQemu(probe: HostProbe, facts: HostFacts): string | undefined {
  // RHEL ships QEMU as /usr/libexec/qemu-kvm, off PATH.
  const names = [facts.arch?.qemu, 'qemu-kvm', '/usr/libexec/qemu-kvm'];
  for (const name of names) {
    const found = name === undefined ? undefined : probe.which(name);
    if (found) return found;
  }
  return undefined;
}

export function checkApi(probe: HostProbe, facts: HostFacts, options: { probe: boolean }): Check {
  const base = {
    id: 'kvm.api',
    title: 'the KVM API answers',
    severity: 'optional',
    evidence: [],
  } as const;
  if (!options.probe) {
    return {
      ...base,
      status: 'skip',
      summary: 'not probed',
      hint: 'Run with --probe to start QEMU once with -machine none,accel=kvm and ask it whether KVM (API version 12) answered.',
    };
  }
  const qemu = findQemu(probe, facts);
  if (qemu === undefined) {
    return {
      ...base,
      status: 'skip',
      summary: 'no QEMU to ask (an ioctl needs a native program)',
      hint: `Install QEMU (${facts.arch?.qemuPackage ? `apt install ${facts.arch.qemuPackage}` : 'the qemu-system package'}) to probe the KVM API.`,
    };
  }
  const evidence = [`${qemu} -machine none,accel=kvm (QMP query-kvm)`];
  const result = probe.run(qemu, QEMU_ARGS, { input: QMP_SCRIPT, timeoutMs: QEMU_TIMEOUT_MS });
  const { kvm, version } = parseQueryKvm(result.stdout);
  const qemuName = `QEMU${version ? ` ${version}` : ''}`;
  if (kvm?.enabled) {
    return {
      ...base,
      evidence,
      status: 'pass',
      summary: `${qemuName} initialised KVM (query-kvm: enabled), which requires API version 12`,
    };
  }
  if (result.timedOut) {
    return {
      ...base,
      evidence,
      status: 'unknown',
      summary: `QEMU did not answer within ${QEMU_TIMEOUT_MS / 1000} s`,
      hint: `Run \`${qemu} -machine none,accel=kvm -nodefaults -display none\` by hand to see where it hangs.`,
    };
  }
  if (result.error !== undefined) {
    return {
      ...base,
      evidence,
      status: 'unknown',
      summary: `could not start ${qemu}: ${result.error}`,
      hint: 'Check the QEMU installation.',
    };
  }
  const message =
    result.stderr
      .split('\n')
      .find((l) => /kvm/i.test(l))
      ?.trim() ||
    result.stderr.trim().split('\n')[0] ||
    `exit status ${result.status}`;
  const permission = /permission denied|operation not permitted/i.test(result.stderr);
  return {
    ...base,
    evidence,
    status: 'fail',
    summary: `${qemuName} could not use KVM: ${message}`,
    hint: !facts.device.valid
      ? '/dev/kvm is not the KVM device: see kvm.device.exists.'
      : permission
        ? 'The current user cannot open /dev/kvm: see kvm.device.access.'
        : /version/i.test(message)
          ? 'The kernel and QEMU disagree on the KVM API version: update both.'
          : 'Read the message above; `sudo dmesg | grep -i kvm` often tells more.',
  };
}
