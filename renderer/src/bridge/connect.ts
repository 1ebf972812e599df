// Picks the link: the Electron preload's (window[preloadGlobal]) when present, else the peer's
// WebSocket bridge with the token from the page's address.
import type { BridgeLink } from '../../../common/bridge.js';
import { preloadGlobal } from '../../../common/bridge.js';
import { BridgeClient, RemoteChatApi, RemoteHostApi } from './remote-chat-api.js';
import { takeBridgeParams, WebSocketLink, webSocketUrl } from './websocket-link.js';

export interface Connection {
  readonly link: BridgeLink;
  readonly client: BridgeClient;
  readonly api: RemoteChatApi;
  readonly host: RemoteHostApi;
  readonly kind: 'preload' | 'websocket';
  /** Identifies the peer for per-peer local storage keys. */
  readonly peerKey: string;
}

export type ConnectResult = { readonly ok: true; readonly connection: Connection } | { readonly ok: false; readonly error: string };

export function connect(): ConnectResult {
  const preload = (window as unknown as Record<string, unknown>)[preloadGlobal] as BridgeLink | undefined;
  let link: BridgeLink;
  let kind: Connection['kind'];
  let peerKey: string;
  if (preload && typeof preload.call === 'function') {
    link = preload;
    kind = 'preload';
    peerKey = 'app';
  } else {
    const { token, peer } = takeBridgeParams();
    if (!token) {
      return { ok: false, error: 'This page needs the address your peer printed (http://127.0.0.1:PORT/#token=…). Open that address to use Quorum Chat.' };
    }
    link = new WebSocketLink(webSocketUrl(token, peer));
    kind = 'websocket';
    peerKey = peer;
  }
  const client = new BridgeClient(link);
  return { ok: true, connection: { link, client, api: new RemoteChatApi(client), host: new RemoteHostApi(client), kind, peerKey } };
}
