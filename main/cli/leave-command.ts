// `quorum-chat leave`: removes one peer from its LAN group (a membership change through the
// leader), after which that peer stops. Its data directory stays; it no longer counts as a member.
// With --member, the peer at --peer has another member removed instead: one that is down for
// good, or that stopped because its data is older than what it had confirmed (LostLogError).
import { Command } from 'commander';
import { withChatClient } from './chat-client.js';
import { printResult } from './output.js';

interface LeaveFlags {
  readonly peer: string;
  readonly member?: string;
  readonly json?: boolean;
}

export function leaveCommand(): Command {
  return new Command('leave')
    .description('remove a peer from its group cleanly; the peer then stops')
    .requiredOption('--peer <host:port>', 'the peer that leaves (its client address)')
    .option('--member <id>', 'remove this member instead, through the peer at --peer (for one that is down or cannot rejoin)')
    .option('--json', 'print one JSON document')
    .action(async (flags: LeaveFlags) => {
      const { member } = flags;
      if (member !== undefined) {
        await withChatClient(flags.peer, (client) => client.removeMember(member));
        printResult(flags.json === true, { removed: member }, () => `${member} has been removed from the group`);
        return;
      }
      const s = await withChatClient(flags.peer, (client) => client.leaveGroup());
      printResult(flags.json === true, { left: s.id }, () => `${s.id} has left the group and is stopping`);
    });
}
