import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientKey } from '../../src/http/plugins/connections.ts';

describe('http connections', () => {
  test('an IPv4 peer, plain or mapped into IPv6, is counted as the same client', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::FFFF:203.0.113.7'), '203.0.113.7');
  });

  test('IPv6 peers in one /64 are counted as one client, in another /64 as another', () => {
    const a = clientKey('2001:db8:1:2:aaaa::1');
    assert.equal(a, clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.equal(a, clientKey('2001:0db8:0001:0002::9%eth0'));
    assert.equal(a, '2001:db8:1:2::/64');
    assert.notEqual(a, clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1'), 'fe80:0:0:0::/64');
  });
});
