import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { humanMessage, listSummary } from '../../web/src/messages.ts';

describe('page messages', () => {
  it('the list summary counts in words and never shows a one-item range', () => {
    const view = { search: '', skip: 0, limit: 10 };
    assert.equal(listSummary(view, 1, 1), 'Showing 1 user.');
    assert.equal(listSummary(view, 10, 31), 'Showing 1–10 of 31 users (page 1 of 4).');
    assert.equal(
      listSummary({ ...view, skip: 30 }, 1, 31),
      'Showing 31 of 31 users (page 4 of 4).',
    );
    assert.equal(listSummary(view, 5, 5), 'Showing 1–5 of 5 users.');
    assert.equal(listSummary({ ...view, skip: 10 }, 0, 1), 'No users on this page; 1 user in all.');
    assert.equal(listSummary({ ...view, search: 'zed' }, 0, 0), 'No users match “zed”.');
  });

  it('validation messages are said as a person would, unknown ones as the API wrote them', () => {
    assert.equal(
      humanMessage('Name', 'must NOT have fewer than 1 characters'),
      'Name cannot be empty.',
    );
    assert.equal(
      humanMessage('Name', 'must NOT have more than 100 characters'),
      'Name can have at most 100 characters.',
    );
    assert.equal(
      humanMessage('E-mail', 'must match format "email"'),
      'E-mail must be an address like ada@example.com.',
    );
    assert.equal(humanMessage('E-mail', 'is already taken'), 'E-mail is already taken.');
  });
});
