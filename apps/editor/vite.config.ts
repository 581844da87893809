import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The backend serves `dist/` and the API under `/api` on one origin. In `vite dev` the
// proxy keeps that single origin by forwarding `/api` to a backend on this machine.
const backendUrl = process.env.EDITOR_BACKEND_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    proxy: { '/api': backendUrl },
  },
  preview: {
    host: '127.0.0.1',
  },
  worker: {
    format: 'es',
  },
  build: {
    // Monaco's TypeScript worker alone is several megabytes; the warning would fire on every build.
    chunkSizeWarningLimit: 8_000,
  },
});
