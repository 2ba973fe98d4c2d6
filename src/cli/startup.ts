/**
 * How this run started, for --debug: from the start-up snapshot (cli/snapshot.ts sets it when a run
 * begins from dist/fdleak.blob) or by loading the ES modules (bin/fdleak.js, `node bin/fdleak.js`).
 */
export const startup = { snapshot: false };
