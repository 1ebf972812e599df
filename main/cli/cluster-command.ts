// `quorum-chat cluster`: a whole group on one machine, one `quorum-chat peer` child process per
// member, each with its own data directory so that any one of them can be stopped and
// restarted alone (`quorum-chat peer --data DIR/peer<i>`).
import { Command, Option } from 'commander';
import { LocalGroup, localMembers } from './local-group.js';
import { positiveInt } from './output.js';

export const defaultBasePort = 7401;

interface ClusterFlags {
  readonly size: number;
  readonly dir: string;
  readonly basePort: number;
  readonly snapshotEvery?: number;
  readonly uiBasePort?: number;
}

export function clusterCommand(): Command {
  return new Command('cluster')
    .description('run a local group of N peers on 127.0.0.1 (peer<i> on port P+i-1, data in DIR/peer<i>)')
    .requiredOption('--size <n>', 'number of peers', positiveInt)
    .requiredOption('--dir <dir>', 'parent directory of the peers\' data directories')
    .option('--base-port <port>', 'port of peer1; peer<i> listens on base+i-1', positiveInt, defaultBasePort)
    .option('--ui-base-port <port>', 'also serve each peer\'s UI for a browser: peer<i> on 127.0.0.1:P+i-1 (prints the URLs)', positiveInt)
    .addOption(new Option('--snapshot-every <entries>', 'snapshot interval passed to every peer').argParser(positiveInt).hideHelp())
    .action(async (flags: ClusterFlags) => runCluster(flags));
}

async function runCluster(flags: ClusterFlags): Promise<void> {
  const uiUrls = new Map<string, string>();
  const group = new LocalGroup(localMembers(flags.size, flags.dir, flags.basePort), {
    snapshotEvery: flags.snapshotEvery, uiBasePort: flags.uiBasePort,
    onLine: (id, line) => {
      if (line.startsWith('UI: ')) uiUrls.set(id, line.slice('UI: '.length));
      process.stdout.write(`${id}: ${line}\n`);
    },
    onExit: (id, code, signal) => process.stderr.write(`${id} exited (${signal ?? `code ${code}`})\n`),
  });
  const stop = () => void group.stopAll('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(`starting ${group.members.length} peers (Ctrl-C stops them all):\n` +
    group.members.map((m) => `  ${m.id}  ${m.address}  data ${m.dataDir}\n`).join(''));
  try {
    await group.startAll();
    const first = (group.members[0] as { address: string }).address;
    process.stdout.write('all peers listening\n' +
      `try:  QUORUM_CHAT_PASSWORD=secret-pw npx quorum-chat client --peer ${first} register --user alice\n` +
      `      npx quorum-chat status --peer ${first}\n` +
      group.members.map((m) => (uiUrls.has(m.id) ? `UI of ${m.id}: ${uiUrls.get(m.id)}\n` : '')).join(''));
  } catch (err) {
    await group.stopAll('SIGTERM');
    throw err;
  }
  await group.whenAllExited();
}
