import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, defaultAutopilot, trackHealth, type MemberHealth } from '../../main/autopilot/autopilot.js';

const now = 1_000_000_000;
const minute = 60_000;
const cfg = { ...defaultAutopilot, stabilizationMs: 10_000, deadAfterMs: 10 * minute };

/** A member described as "<id>:<voter|learner>:<seconds since contact>:<lag>". */
function member(spec: string): MemberHealth {
  const [id, kind, ago, lag] = spec.split(':') as [string, string, string, string];
  return { id, voter: kind === 'voter', lastContact: now - Number(ago) * 1000, match: 10_000 - Number(lag) };
}

function run(specs: string[], stableFor: Record<string, number> = {}) {
  const members = specs.map(member);
  const healthySince = new Map(Object.entries(stableFor).map(([id, s]) => [id, now - s * 1000]));
  return decide({ now, leader: 'n1', lastIndex: 10_000, members, healthySince }, cfg);
}

const fiveVoters = ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:0:0', 'n5:voter:0:0'];

const table: { name: string; members: string[]; stable?: Record<string, number>; want: string }[] = [
  { name: 'a healthy group of five stays as it is', members: fiveVoters, want: 'none' },
  { name: 'a stable learner is promoted while below the target', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:learner:0:0'], stable: { n4: 30 }, want: 'promote n4' },
  { name: 'a learner not yet stable long enough waits', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:learner:0:0'], stable: { n4: 5 }, want: 'none' },
  { name: 'a lagging learner is not promoted', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:learner:0:5000'], stable: { n4: 30 }, want: 'none' },
  { name: 'an unreachable learner is not promoted', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:learner:60:0'], stable: { n4: 30 }, want: 'none' },
  { name: 'at the target, extra learners stay learners', members: [...fiveVoters, 'n6:learner:0:0', 'n7:learner:0:0'], stable: { n6: 99, n7: 99 }, want: 'none' },
  { name: 'the longest-stable learner goes first', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n6:learner:0:0', 'n7:learner:0:0'], stable: { n6: 20, n7: 90 }, want: 'promote n7' },
  { name: 'a voter down past the threshold: its replacement is promoted first', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:0:0', 'n5:voter:700:0', 'n6:learner:0:0'], stable: { n6: 99 }, want: 'promote n6' },
  { name: '…then the dead voter is removed', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:0:0', 'n5:voter:700:0', 'n6:voter:0:0'], want: 'remove n5' },
  { name: 'a voter down for less than the threshold is left alone', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:0:0', 'n5:voter:300:0', 'n6:learner:0:0'], stable: { n6: 99 }, want: 'none' },
  { name: 'never below three voters', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:700:0'], want: 'none' },
  { name: 'four voters with a dead one shrink to three live ones', members: ['n1:voter:0:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:700:0'], want: 'remove n4' },
  { name: 'the leader never removes itself', members: ['n1:voter:900:0', 'n2:voter:0:0', 'n3:voter:0:0', 'n4:voter:0:0'], want: 'none' },
];

for (const row of table) {
  test(`autopilot: ${row.name}`, () => {
    const d = run(row.members, row.stable);
    assert.equal(d.action === 'none' ? 'none' : `${d.action} ${d.node}`, row.want, d.reason);
    assert.ok(d.reason.length > 0);
  });
}

test('autopilot: health is tracked across rounds and reset by a lapse', () => {
  const healthy = member('n4:learner:0:0');
  const first = trackHealth(new Map(), [healthy], now, 10_000, cfg);
  assert.equal(first.get('n4'), now);
  const later = trackHealth(first, [healthy], now + 5_000, 10_000, cfg);
  assert.equal(later.get('n4'), now, 'still healthy: keeps its start time');
  const lapsed = trackHealth(later, [{ ...healthy, lastContact: now - 60_000 }], now + 6_000, 10_000, cfg);
  assert.equal(lapsed.has('n4'), false);
});
