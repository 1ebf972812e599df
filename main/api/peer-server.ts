// One peer serving both the peer RPCs and the ChatService on one address: what
// `quorum-chat peer` runs, and what the API tests start in-process.
import type { ChatApi, Credentials } from '../../common/chat-api.js';
import type { ScryptParams } from '../chat/password.js';
import { Peer, type PeerOptions } from '../peer/peer.js';
import { ChatBackend } from './backend.js';
import { chatGrpcService, type ChatGrpcService } from './grpc-server.js';

export interface PeerServerOptions extends Omit<PeerOptions, 'services'> {
  /** Password hashing cost for new accounts (tests use a cheap one; default: defaultScrypt). */
  readonly scrypt?: ScryptParams;
}

export interface PeerServer {
  readonly peer: Peer;
  readonly backend: ChatBackend;
  /** The bound port (useful with `listen: 'host:0'`). */
  readonly port: number;
  /** An in-process ChatApi session (what the Electron preload and the WebSocket bridge use). */
  session(credentials?: Credentials | null): ChatApi;
  /** Ends live streams, hands leadership over if leading (waiting up to `handoverMs`), stops the peer. */
  stop(handoverMs?: number): Promise<void>;
}

export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const made: { backend?: ChatBackend; service?: ChatGrpcService } = {};
  const peer = await Peer.start({
    ...options,
    // Runs once the Peer exists and before its port is bound: no call can find the service missing.
    services: (p) => {
      made.backend = new ChatBackend(p, { scrypt: options.scrypt, logger: options.logger });
      made.service = chatGrpcService(made.backend);
      return [made.service];
    },
  });
  const { backend, service } = made;
  if (backend === undefined || service === undefined) throw new Error('peer started without its ChatService');
  return {
    peer, backend, port: peer.port,
    session: (credentials = null) => backend.session(credentials),
    stop: async (handoverMs) => {
      service.close();
      backend.close();
      await peer.stop(handoverMs);
    },
  };
}
