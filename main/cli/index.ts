// The `quorum-chat` command line: peer, cluster, status, client. Each subcommand lives in its
// own module; this one assembles them and turns any failure into one line on standard error.
import { Command, CommanderError } from 'commander';
import { clientCommand } from './client-command.js';
import { clusterCommand } from './cluster-command.js';
import { groupsCommand } from './groups-command.js';
import { leaveCommand } from './leave-command.js';
import { CliError } from './output.js';
import { peerCommand } from './peer-command.js';
import { statusCommand } from './status-command.js';

export function buildProgram(): Command {
  const program = new Command('quorum-chat')
    .description('LAN group chat in which every installed copy is a full Raft replica')
    .version('0.1.0')
    .addCommand(peerCommand())
    .addCommand(clusterCommand())
    .addCommand(statusCommand())
    .addCommand(groupsCommand())
    .addCommand(leaveCommand())
    .addCommand(clientCommand());
  configure(program);
  return program;
}

/** addCommand() copies no settings, so every command of the tree gets them here. */
function configure(cmd: Command): void {
  cmd.showHelpAfterError('(add --help for usage)').exitOverride();
  for (const sub of cmd.commands) configure(sub);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCode(err);
  }
}

/** Prints the one line a failure deserves (commander has printed its own already). */
function exitCode(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode;
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  return err instanceof CliError ? err.exitCode : 1;
}
