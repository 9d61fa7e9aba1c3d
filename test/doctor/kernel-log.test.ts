import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kvmLogReasonOf } from '../../src/doctor/host/kernel-log.ts';

describe('doctor host kernel log', () => {
  it('unit — when the firmware line and a generic failure are both logged, then the firmware line is the reason', () => {
    const lines = ['kvm: disabled by bios', 'kvm_intel: something failed'];
    assert.deepEqual(kvmLogReasonOf(lines, 'intel'), {
      line: 'kvm: disabled by bios',
      cause: 'firmware',
    });
  });

  it("unit — when the log only speaks of the other vendor's module, then there is no reason", () => {
    const lines = ["kvm: no hardware support for 'kvm_amd'", 'has_svm: not amd or hygon'];
    assert.equal(kvmLogReasonOf(lines, 'intel'), undefined);
    assert.deepEqual(kvmLogReasonOf(lines, 'amd'), {
      line: "kvm: no hardware support for 'kvm_amd'",
      cause: 'no-hwvirt',
    });
  });

  it('unit — when KVM lines report no failure, then there is no reason', () => {
    // Lines a working PVM host prints (this project's own machine).
    const lines = [
      'kvm-pvm: mmio caching disabled (nested host: reported MAXPHYADDR 48 may be narrower than the page walk)',
      'kvm: host DEBUGCTL refresh per vcpu_load (vendor request)',
      'kvm-pvm: loaded (native=1 pcid=1 pge_off=1 emul_batch=1024 emul_ibpb=0)',
    ];
    assert.equal(kvmLogReasonOf(lines, 'amd'), undefined);
  });

  it('unit — when arm64 KVM or a PVM guest says why it stopped, then the cause is named', () => {
    assert.equal(kvmLogReasonOf(['kvm [1]: HYP mode not available'], 'other')?.cause, 'no-el2');
    assert.equal(
      kvmLogReasonOf(['kvm-pvm: this kernel is itself a kvm-pvm guest; not binding'], 'amd')?.cause,
      'pvm-guest',
    );
    assert.equal(
      kvmLogReasonOf(['kvm_intel: VMX not supported by CPU 3'], 'intel')?.cause,
      'no-hwvirt',
    );
  });

  it('unit — when a non-KVM line mentions a failure, then it is not taken for a KVM reason', () => {
    assert.equal(kvmLogReasonOf(['ACPI Error: AE_NOT_FOUND, unable to load'], 'intel'), undefined);
  });
});
