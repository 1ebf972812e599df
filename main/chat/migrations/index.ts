// chat.db's schema: every migration in version order. Add a file, append it here.
import type { Schema } from '../../storage/sqlite.js';
import { migration as v1 } from './001-initial.js';
import { migration as v2 } from './002-sessions.js';
import { migration as v3 } from './003-members.js';
import { migration as v4 } from './004-conversation-index.js';
import { migration as v5 } from './005-sessions-from-results.js';
import { migration as v6 } from './006-result-positions.js';
import { migration as v7 } from './007-recent-results.js';

export const chatSchema: Schema = {
  name: 'chat state',
  applicationId: 0x51434854, // "QCHT"
  migrations: [v1, v2, v3, v4, v5, v6, v7],
};
