// `quorum-chat leave`: removes one peer from its LAN group (a membership change through the
// leader), after which that peer stops. Its data directory stays; it no longer counts as a member.
import { Command } from 'commander';
import { withChatClient } from './chat-client.js';
import { printResult } from './output.js';

interface LeaveFlags {
  readonly peer: string;
  readonly json?: boolean;
}

export function leaveCommand(): Command {
  return new Command('leave')
    .description('remove a peer from its group cleanly; the peer then stops')
    .requiredOption('--peer <host:port>', 'the peer that leaves (its client address)')
    .option('--json', 'print one JSON document')
    .action(async (flags: LeaveFlags) => {
      const s = await withChatClient(flags.peer, (client) => client.leaveGroup());
      printResult(flags.json === true, { left: s.id }, () => `${s.id} has left the group and is stopping`);
    });
}
