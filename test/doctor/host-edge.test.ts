import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostProbe, runHostChecks } from '../../src/doctor/host/index.ts';
import { exitCodeOf } from '../../src/admin/doctor.ts';
import { itChecksScenario, type Scenario } from './scenarios.ts';
import { assertWellFormed, checkOf, fixtureRoot } from './support.ts';

// Hosts where kvm-ok, virt-host-validate or a naive reading of the seed goes wrong.
const scenarios: Scenario[] = [
  {
    fixture: 'dev-kvm-regular-file',
    when: '/dev/kvm is a regular file that opens fine',
    verdict: 'not-ready',
    probe: true,
    checks: { 'kvm.device.exists': 'fail', 'kvm.device.access': 'skip', 'kvm.api': 'fail' },
    texts: { 'summary:kvm.device.exists': /regular file/, 'kvm.device.exists': /mknod/ },
  },
  {
    fixture: 'dev-kvm-wrong-numbers',
    when: '/dev/kvm is a character device with the wrong numbers',
    verdict: 'not-ready',
    checks: { 'kvm.device.exists': 'fail', 'kvm.device.access': 'skip' },
    texts: { 'summary:kvm.device.exists': /10:231/ },
  },
  {
    fixture: 'virtualbox-kvm-6.12',
    when: 'vboxdrv and kvm_intel are loaded on Linux 6.12',
    verdict: 'ready-with-warnings',
    checks: { 'conflict.virtualbox': 'warn' },
    texts: { 'conflict.virtualbox': /enable_virt_at_load=0/ },
  },
  {
    fixture: 'virtualbox-kvm-6.1',
    when: 'vboxdrv and kvm_intel are loaded on Linux 6.1',
    verdict: 'ready',
    checks: { 'conflict.virtualbox': 'info' },
    texts: { 'conflict.virtualbox': /at the same time/ },
  },
  {
    fixture: 'wsl2',
    when: 'WSL2 has built-in KVM but the user is not in group kvm',
    verdict: 'not-ready',
    checks: {
      'cpu.hwvirt': 'pass',
      'kvm.modules': 'pass',
      'kvm.device.access': 'fail',
      environment: 'info',
    },
    texts: { 'kvm.device.access': /usermod -aG kvm alice/, 'summary:environment': /WSL2/ },
  },
  {
    fixture: 'container-without-device',
    when: 'a Docker container was started without --device /dev/kvm',
    verdict: 'not-ready',
    checks: {
      'cpu.hwvirt': 'pass',
      'kvm.modules': 'pass',
      'kvm.device.exists': 'fail',
      environment: 'info',
    },
    texts: {
      'kvm.device.exists': /--device \/dev\/kvm/,
      'summary:environment': /Docker container/,
    },
  },
  {
    fixture: 'container-with-device',
    when: 'the same container got --device /dev/kvm',
    verdict: 'ready-with-warnings',
    checks: { 'kvm.device.exists': 'pass', 'kvm.device.access': 'pass', 'tools.qemu': 'warn' },
  },
  {
    fixture: 'pae-only-cpu',
    when: 'the CPU has pae but no vmx/svm',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail', 'kvm.modules': 'fail' },
    texts: {
      'summary:cpu.hwvirt': /no hardware virtualization/,
      'cpu.hwvirt': /pae.*not a virtualization mode/,
    },
  },
  {
    fixture: 'intel-firmware-disabled-new-kernel',
    when: 'a new kernel hides vmx and its log says the firmware disabled VT-x',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail', 'kvm.modules': 'fail' },
    texts: {
      'summary:cpu.hwvirt': /disabled in firmware \(kernel log/,
      'cpu.hwvirt': /BIOS\/UEFI/,
    },
  },
  {
    fixture: 'intel-vt-hidden-no-log',
    when: 'a new kernel hides vmx and the kernel log is unreadable',
    verdict: 'not-ready',
    checks: { 'cpu.hwvirt': 'fail' },
    texts: { 'summary:cpu.hwvirt': /missing or disabled in firmware/ },
  },
  {
    fixture: 'nested-cloud-vm',
    when: 'a cloud VM is offered nested virtualization',
    verdict: 'ready',
    checks: { 'cpu.hwvirt': 'pass', 'kvm.device.access': 'pass', 'kvm.nested': 'info' },
    texts: { 'summary:kvm.nested': /Google Compute Engine: nested KVM is available/ },
  },
  {
    fixture: 'intel-tdx',
    when: 'an Intel host enables TDX in kvm_intel',
    verdict: 'ready',
    checks: { 'secure-guest': 'info', 'conflict.virtualbox': 'pass' },
    texts: { 'summary:secure-guest': /Intel TDX/ },
  },
  {
    fixture: 'user-not-in-kvm-group',
    when: 'the user is not in group kvm',
    verdict: 'not-ready',
    checks: { 'kvm.device.exists': 'pass', 'kvm.device.access': 'fail' },
    texts: { 'kvm.device.access': /usermod -aG kvm alice/ },
  },
  {
    fixture: 'user-in-group-not-relogged',
    when: 'the user was added to group kvm but has not logged in again',
    verdict: 'not-ready',
    checks: { 'kvm.device.access': 'fail' },
    texts: { 'kvm.device.access': /newgrp kvm/ },
  },
  {
    fixture: 'stale-device-node',
    when: 'a /dev/kvm node exists with no driver behind it',
    verdict: 'not-ready',
    checks: { 'kvm.device.exists': 'pass', 'kvm.device.access': 'fail', 'kvm.modules': 'fail' },
    texts: { 'summary:kvm.device.access': /ENXIO/ },
  },
  {
    fixture: 'unparseable-kernel',
    when: 'the kernel release cannot be parsed',
    verdict: 'unknown',
    checks: { 'kernel.version': 'unknown', 'kvm.device.access': 'pass' },
  },
];

describe('doctor host on the hosts found to matter beyond doctor.md', () => {
  for (const scenario of scenarios) itChecksScenario(scenario);

  it('unit — when the Firecracker guest is checked under --strict, then its warnings exit 2', () => {
    const report = runHostChecks(createHostProbe({ root: fixtureRoot('firecracker-guest') }));
    assert.equal(exitCodeOf(report.verdict, { strict: true }), 2);
    assert.equal(checkOf(report, 'cpu.hwvirt').severity, 'recommended');
  });

  it('unit — when no /dev/kvm works, then cpu.hwvirt and kvm.modules are required', () => {
    const report = runHostChecks(createHostProbe({ root: fixtureRoot('intel-no-module') }));
    assert.equal(checkOf(report, 'cpu.hwvirt').severity, 'required');
    assert.equal(checkOf(report, 'kvm.modules').severity, 'required');
  });

  it('unit — when --probe is not given, then kvm.api is skipped with a hint to pass it', () => {
    const report = runHostChecks(createHostProbe({ root: fixtureRoot('intel-bare-metal') }));
    const api = checkOf(report, 'kvm.api');
    assert.equal(api.status, 'skip');
    assert.match(api.hint ?? '', /--probe/);
  });

  it('unit — when every file holds nonsense, then the checks still produce a well-formed report', () => {
    const report = runHostChecks(createHostProbe({ root: fixtureRoot('garbage') }), {
      probe: true,
    });
    assertWellFormed(report);
    assert.equal(checkOf(report, 'host.linux').status, 'unknown');
  });
});
