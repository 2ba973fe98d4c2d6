/**
 * The build: src/ (TypeScript) -> dist/cli/main.js plus chunks, dependencies included.
 *
 * One bundle instead of tsc's file-per-module output because start-up is most of a CLI's run:
 * Node's ESM loader resolves, reads and links every module file separately (zod alone is ~60 files).
 * Each command is a dynamic import in src/cli/main.ts, so it stays its own chunk: `fdleak --version`
 * loads main.js (commander) and nothing else; execa is a chunk of its own, loaded only when ss runs.
 * Every chunk sits in dist/cli/, next to main.js, so `new URL('../../package.json', import.meta.url)`
 * resolves from whichever chunk it lands in. Type checking is `tsc --noEmit` (see package.json).
 */
export default {
  input: { main: 'src/cli/main.ts' },
  platform: 'node',
  tsconfig: 'tsconfig.json',
  output: {
    dir: 'dist',
    format: 'esm',
    cleanDir: true,
    entryFileNames: 'cli/[name].js',
    chunkFileNames: 'cli/[name]-[hash].js',
    // Unminified: stack traces under --debug stay readable; minifying measured no faster.
    sourcemap: true,
  },
};
