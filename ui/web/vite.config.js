import { defineConfig } from 'vite';

// The build goes to ../dist, which package ui embeds in the binary. Asset
// paths are relative (base './') so that ui_config.content_path can move
// the UI anywhere; index.html sets the document's <base> to the content
// path before any asset loads. File names carry a content hash, so an
// upgraded agent never serves a stale script from a browser's cache.
export default defineConfig({
  base: './',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
