// raft.db's schema: every migration in version order. Add a file, append it here.
import type { Schema } from '../sqlite.js';
import { migration as v1 } from './001-initial.js';
import { migration as v2 } from './002-compaction-without-file.js';

export const raftSchema: Schema = {
  name: 'raft log',
  applicationId: 0x51435246, // "QCRF"
  migrations: [v1, v2],
};
