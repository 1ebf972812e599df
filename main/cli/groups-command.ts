// `quorum-chat groups`: the groups announcing themselves on the LAN (mDNS), browsed for a few
// seconds. What it shows is only what peers claim (see main/discovery/README.md).
import { Command } from 'commander';
import { groupsOf, LanDiscovery } from '../discovery/index.js';
import { positiveInt, printResult, table } from './output.js';

interface GroupsFlags {
  readonly seconds: number;
  readonly json?: boolean;
}

export function groupsCommand(): Command {
  return new Command('groups')
    .description('list the groups visible on the LAN (by mDNS): id, name and members')
    .option('--seconds <n>', 'how long to listen', positiveInt, 3)
    .option('--json', 'print one JSON document')
    .action(async (flags: GroupsFlags) => {
      const discovery = new LanDiscovery({ requeryMs: 1_000 });
      discovery.browse();
      await new Promise((resolve) => setTimeout(resolve, flags.seconds * 1000));
      const groups = groupsOf(discovery.list());
      await discovery.close();
      printResult(flags.json === true, { groups }, () => (groups.length === 0 ? 'no groups found\n'
        : table([['GROUP ID', 'NAME', 'MEMBERS'], ...groups.map((g) => [g.groupId, g.groupName, g.nodeIds.join(',')])])));
    });
}
