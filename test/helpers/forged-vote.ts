// A forged peer: sends a target a vote request for a far-future term, as node `claimed`, with
// the given TLS identity. Had the target stepped it, its term would have jumped; instead the
// sender's stream must be refused.
import assert from 'node:assert/strict';
import type { Peer } from '../../main/peer/peer.js';
import { MessageType, type Message } from '../../main/raft/types.js';
import type { PeerTls } from '../../main/security/tls.js';
import { Transport } from '../../main/transport/transport.js';
import { waitFor } from './wait.js';

export async function assertForgedVoteRefused(target: Peer, address: string, tls: PeerTls, claimed: string): Promise<void> {
  const termBefore = target.status().term;
  let refused = 0;
  const sender = new Transport({
    id: claimed, listen: '127.0.0.1:0', tls,
    snapshots: { read: () => { throw new Error('unused'); }, receive: () => { throw new Error('unused'); } },
  }, { onMessage: () => undefined, onUnreachable: () => refused++ });
  try {
    sender.setPeer(target.id, address);
    const vote: Message = {
      type: MessageType.Vote, from: claimed, to: target.id, term: termBefore + 1000, logTerm: 1000, index: 1000,
      commit: 0, entries: [], reject: false, rejectHint: 0, context: '', snapshot: null,
    };
    await waitFor(() => {
      sender.send([vote]);
      return refused > 0;
    }, 'the forged stream to be refused', { intervalMs: 100 });
    assert.ok(target.status().term < termBefore + 1000, `${target.id} never stepped the forged vote`);
  } finally {
    await sender.close(100);
  }
}
