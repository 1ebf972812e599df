// Preloaded into each Quorum Chat peer by `npm run bench -- --cpu-prof DIR` (through
// NODE_OPTIONS=--import, because node refuses --cpu-prof itself in NODE_OPTIONS). Samples the
// CPU from start to a graceful exit and writes DIR/<pid>.cpuprofile (open it in Chrome
// DevTools or speedscope). A SIGKILLed peer writes nothing.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.QC_BENCH_PROFILE_DIR;
if (dir !== undefined) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // An in-process session answers synchronously, so this completes inside the 'exit' handler.
  process.on('exit', () => session.post('Profiler.stop', (err, reply) => {
    if (err === null) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(reply.profile));
  }));
}
