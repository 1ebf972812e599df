// The `quorum-chat` command line. Subcommands arrive with the peer (issue "A real 5-peer cluster").
import { Command } from 'commander';

export function buildProgram(): Command {
  return new Command('quorum-chat')
    .description('LAN group chat in which every installed copy is a full Raft replica.\n' +
      'So far the consensus core and its simulator exist: run `npm run sim -- --help`.')
    .version('0.1.0')
    .showHelpAfterError();
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
