// The preload of the UI window: exposes the BridgeLink (common/bridge.ts) to the page as
// window.quorumChatBridge, over the two fixed IPC channels and nothing else. The window is
// sandboxed, so this file is bundled to CommonJS (dist/app/preload.cjs) and may require only
// 'electron'; the page never sees ipcRenderer itself.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { ipcChannels, preloadGlobal, type BridgeLink, type BridgePush, type BridgeReply, type BridgeRequest } from '../../common/bridge.js';

const link: BridgeLink = {
  call(request: BridgeRequest): Promise<BridgeReply> {
    return ipcRenderer.invoke(ipcChannels.call, request) as Promise<BridgeReply>;
  },
  onPush(listener: (push: BridgePush) => void): () => void {
    const forward = (_event: IpcRendererEvent, push: BridgePush): void => listener(push);
    ipcRenderer.on(ipcChannels.push, forward);
    return () => {
      ipcRenderer.removeListener(ipcChannels.push, forward);
    };
  },
};

contextBridge.exposeInMainWorld(preloadGlobal, link);
