// `quorum-chat status`: one peer's view of the group (role, term, leader, indexes, members).
import { Command } from 'commander';
import { withChatClient, type StatusReply } from './chat-client.js';
import { printResult, table } from './output.js';

interface StatusFlags {
  readonly peer: string;
  readonly json?: boolean;
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show one peer\'s view of the group: role, term, leader, indexes and members')
    .requiredOption('--peer <host:port>', 'the peer to ask')
    .option('--json', 'print one JSON document')
    .action(async (flags: StatusFlags) => {
      const status = await withChatClient(flags.peer, (client) => client.status());
      printResult(flags.json === true, statusJson(status), () => describeStatus(status));
    });
}

/** The fields in a reading order, null where the wire has an empty string. */
function statusJson(s: StatusReply): object {
  return {
    id: s.id, pid: s.pid, role: s.role, term: s.term, leader: s.leader === '' ? null : s.leader,
    commitIndex: s.commitIndex, appliedIndex: s.appliedIndex,
    firstIndex: s.firstIndex, lastIndex: s.lastIndex, snapshotIndex: s.snapshotIndex,
    members: s.members.map((m) => ({ id: m.id, address: m.address, role: m.role, matchIndex: m.matchIndex, reachable: m.reachable })),
    voters: s.members.filter((m) => m.role === 'voter').map((m) => m.id),
    learners: s.members.filter((m) => m.role === 'learner').map((m) => m.id),
    autopilot: s.autopilot,
  };
}

function describeStatus(s: StatusReply): string {
  const head = `${s.id} (pid ${s.pid}) is ${s.role} in term ${s.term}; leader ${s.leader || 'unknown'}\n` +
    `commit ${s.commitIndex}, applied ${s.appliedIndex}, log ${s.firstIndex}..${s.lastIndex}, snapshot at ${s.snapshotIndex}\n`;
  const rows = s.members.map((m) => [
    m.id + (m.id === s.leader ? ' *' : ''), m.address, m.role, String(m.matchIndex), m.reachable ? 'yes' : 'no',
  ]);
  return head + table([['ID', 'ADDRESS', 'ROLE', 'MATCH', 'REACHABLE'], ...rows]);
}
