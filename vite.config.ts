// Builds the React UI (renderer/) into renderer/dist with relative asset paths, so that the same
// files work served over http by the peer and from the Electron app's custom protocol.
// `npm run dev:ui` serves it with hot reload; QC_PEER_UI=127.0.0.1:7600 forwards /bridge to that
// peer's UI server (with the peer's own Origin, which its bridge insists on); open
// http://127.0.0.1:5173/#token=TOKEN with the token the peer printed.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const projectRoot = fileURLToPath(new URL('.', import.meta.url));
const peerUi = process.env['QC_PEER_UI'] ?? '127.0.0.1:7600';

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    host: '127.0.0.1',
    port: 5173,
    fs: { allow: [projectRoot] },
    proxy: {
      '/bridge': {
        target: `http://${peerUi}`,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on('proxyReqWs', (proxyReq) => proxyReq.setHeader('origin', `http://${peerUi}`));
        },
      },
    },
  },
});
