import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

/**
 * The built page is one classic, deferred script and one stylesheet, with
 * relative URLs and no `crossorigin`: it then opens from `file://` too
 * (Chromium refuses module scripts there), and under Tauri's
 * `default-src 'self'` there is nothing inline to allow.
 */
function classicScript(): Plugin {
  return {
    name: 'familiar:classic-script',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml(html) {
      return html.replace(/<script type="module" crossorigin /g, '<script defer ').replace(/ crossorigin(?=[ >])/g, '');
    },
  };
}

export default defineConfig({
  plugins: [svelte(), svelteTesting(), classicScript()],
  base: './',
  // Tauri's dev server conventions: a fixed port, and Rust's output left on screen.
  clearScreen: false,
  server: { port: 1420, strictPort: true, host: '127.0.0.1' },
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  build: {
    // WebKitGTK/WKWebView (Safari 16.4+) and WebView2/Chromium 111+.
    target: ['es2022', 'chrome111', 'safari16.4'],
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: false,
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    sourcemap: Boolean(process.env.TAURI_ENV_DEBUG),
    rolldownOptions: {
      output: { format: 'iife', codeSplitting: false },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
