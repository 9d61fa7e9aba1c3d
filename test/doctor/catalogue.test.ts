import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HOST_CHECK_IDS } from '../../src/doctor/host/index.ts';

describe('doctor host catalogue', () => {
  it('unit — when docs/doctor.md lists the checks, then its ids are exactly the ones the code reports', () => {
    const docs = readFileSync(new URL('../../docs/doctor.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Checks'), docs.indexOf('## Testing'));
    const documented = [...section.matchAll(/^\| `([\w.-]+)`\s*\|/gm)].map((m) => m[1]);
    assert.deepEqual(documented, [...HOST_CHECK_IDS]);
  });
});
