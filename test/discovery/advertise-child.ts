// A discovery node for the namespace test: advertises the identity given as a JSON argument,
// browses, and prints each event as a JSON line. Stdin takes {"cmd":"list"}; when stdin ends
// (the test stopped or died) it closes discovery and exits, so it never outlives its test.
import { createInterface } from 'node:readline';
import { LanDiscovery } from '../../main/discovery/index.js';

interface ChildConfig {
  nodeId: string;
  groupId: string;
  groupName: string;
  port: number;
  requeryMs: number;
  ttlMs: number;
  interfacePollMs: number;
  dataDir: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const print = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const discovery = new LanDiscovery({
  dataDir: config.dataDir, requeryMs: config.requeryMs, ttlMs: config.ttlMs, interfacePollMs: config.interfacePollMs,
});
for (const event of ['up', 'update', 'down'] as const) discovery.on(event, (peer) => print({ event, peer }));
discovery.advertise({ nodeId: config.nodeId, groupId: config.groupId, groupName: config.groupName, protocolVersion: 1, port: config.port });
discovery.browse();
print({ event: 'ready' });

createInterface({ input: process.stdin })
  .on('line', (text) => {
    const request = JSON.parse(text) as { cmd?: string };
    if (request.cmd === 'list') print({ event: 'list', peers: discovery.list() });
  })
  .on('close', () => void discovery.close().then(() => process.exit(0)));
