import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // The package's pages read VITE_API for the API's origin: empty means the origin the UI is served from.
  define: { 'import.meta.env.VITE_API': JSON.stringify('') },
  build: { chunkSizeWarningLimit: 8192, reportCompressedSize: false },
  logLevel: 'warn',
});
