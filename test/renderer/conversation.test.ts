import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../common/chat-api.js';
import { belongsTo, conversationReducer, emptyConversation, keyOf, messageState, viewMessages } from '../../renderer/src/logic/conversation.js';
import { Outbox } from '../../renderer/src/logic/outbox.js';
import { MemoryStorage } from '../../renderer/src/logic/storage.js';
import { friendlyError } from '../../renderer/src/logic/errors.js';
import { ChatApiError } from '../../common/chat-api.js';

const msg = (id: number, from: string | null, to: string | null, text = `m${id}`, unread = true, sentAt = 1000 + id): Message =>
  ({ id, from, to, channel: null, text, sentAt, unread });

test('belongsTo and keyOf', () => {
  assert.equal(belongsTo(msg(1, 'alice', 'bob'), '@bob', 'alice'), true);
  assert.equal(belongsTo(msg(1, 'bob', 'alice'), '@bob', 'alice'), true);
  assert.equal(belongsTo(msg(1, 'carol', 'alice'), '@bob', 'alice'), false);
  const post: Message = { ...msg(2, 'bob', null), channel: 'general' };
  assert.equal(belongsTo(post, '#general', 'alice'), true);
  assert.equal(belongsTo(post, '@bob', 'alice'), false);
  assert.equal(keyOf(msg(1, 'alice', 'bob'), 'alice'), '@bob');
  assert.equal(keyOf(post, 'alice'), '#general');
});

test('pages: newest first, older pages prepend; events merge without duplicates', () => {
  let s = conversationReducer(emptyConversation, { type: 'page', older: false, page: { items: [msg(5, 'a', 'b'), msg(6, 'b', 'a')], next: 'c1', appliedIndex: 9 } });
  assert.equal(s.older, 'c1');
  s = conversationReducer(s, { type: 'page', older: true, page: { items: [msg(3, 'a', 'b'), msg(4, 'a', 'b')], next: null, appliedIndex: 9 } });
  assert.equal(s.older, null);
  s = conversationReducer(s, { type: 'message', message: msg(7, 'a', 'b') });
  s = conversationReducer(s, { type: 'message', message: msg(7, 'a', 'b') });
  assert.deepEqual(s.messages.map((m) => m.id), [3, 4, 5, 6, 7]);
  s = conversationReducer(s, { type: 'deleted', ids: [4, 6, 99] });
  assert.deepEqual(s.messages.map((m) => m.id), [3, 5, 7]);
});

test('own message states: sent, then read by unread=false or a read event', () => {
  assert.equal(messageState(msg(1, 'alice', 'bob'), 'alice', 0), 'sent');
  assert.equal(messageState(msg(1, 'alice', 'bob', 'x', false), 'alice', 0), 'read');
  assert.equal(messageState(msg(5, 'alice', 'bob'), 'alice', 5), 'read');
  assert.equal(messageState(msg(6, 'alice', 'bob'), 'alice', 5), 'sent');
  assert.equal(messageState(msg(6, 'bob', 'alice'), 'alice', 0), 'received');
  let s = conversationReducer(emptyConversation, { type: 'read', upTo: 4 });
  s = conversationReducer(s, { type: 'read', upTo: 2 });
  assert.equal(s.readUpTo, 4);
});

test('view: outbox items show as pending or failed, and hide once their message arrived', () => {
  const outbox = new Outbox(new MemoryStorage(), 'alice', () => 'cid');
  const pending = outbox.add({ kind: 'direct', to: 'bob' }, 'hello', 50_000);
  outbox.add({ kind: 'direct', to: 'carol' }, 'elsewhere', 50_001);
  const failing = outbox.add({ kind: 'direct', to: 'bob' }, 'oops', 50_002);
  outbox.markFailed(failing.key, { code: 'invalid-message', message: 'too long' });
  let s = conversationReducer(emptyConversation, { type: 'page', older: false, page: { items: [msg(1, 'bob', 'alice', 'hi', false, 40_000)], next: null, appliedIndex: 1 } });
  let view = viewMessages(s, outbox.items(), '@bob', 'alice');
  assert.deepEqual(view.map((v) => [v.text, v.state]), [['hi', 'received'], ['hello', 'pending'], ['oops', 'failed']]);
  // The message event comes before the send reply: the pending item is hidden.
  s = conversationReducer(s, { type: 'message', message: msg(2, 'alice', 'bob', 'hello', true, 50_010) });
  view = viewMessages(s, outbox.items(), '@bob', 'alice');
  assert.deepEqual(view.map((v) => [v.text, v.state, v.id]), [['hi', 'received', 1], ['hello', 'sent', 2], ['oops', 'failed', null]]);
  outbox.remove(pending.key);
  assert.equal(viewMessages(s, outbox.items(), '@bob', 'alice').length, 3);
});

test('friendly errors', () => {
  assert.equal(friendlyError(new ChatApiError('wrong-password', 'wrong password'), { username: 'alice' }), 'Wrong password for alice');
  assert.match(friendlyError({ code: 'username-taken', message: 'x' }, { username: 'bob' }), /bob is taken/);
  assert.match(friendlyError(new ChatApiError('invalid-username', 'x')), /Names are/);
});

test('timeline: merged, newest first, leader changes without repeats', async () => {
  const { mergeTimeline } = await import('../../renderer/src/logic/timeline.js');
  const merged = mergeTimeline(
    [{ at: 1, term: 1, kind: 'election', node: 'n1' }, { at: 2, term: 1, kind: 'leader', node: 'n2' }],
    [{ at: 5, term: 1, kind: 'leader', node: 'n2', source: 'event' }, { at: 9, term: 2, kind: 'leader', node: 'n3', source: 'event' }],
  );
  assert.deepEqual(merged.map((e) => [e.at, e.kind, e.node]), [[9, 'leader', 'n3'], [2, 'leader', 'n2'], [1, 'election', 'n1']]);
});
