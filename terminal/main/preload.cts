// The renderer's narrow door to the counter (context isolation on, no Node in pages):
// two calls, nothing else.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

contextBridge.exposeInMainWorld('kauri', {
  action: (name: string, body: unknown) => ipcRenderer.invoke('kauri:action', name, body),
  subscribe: (cb: (state: unknown) => void) => {
    const listener = (_e: IpcRendererEvent, state: unknown) => cb(state);
    ipcRenderer.on('kauri:state', listener);
    ipcRenderer.send('kauri:subscribe');
    return () => ipcRenderer.off('kauri:state', listener);
  },
});
