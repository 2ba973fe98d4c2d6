/**
 * The lines of an input read first, for its format to be told from them (text-input.ts openLines):
 * one number for openLines and for the analyze worker started before the input is opened
 * (tail.ts Tail.early), which must find the lsof header where the capture will. No import: the
 * start-up bundle (cli/prefetch.ts) loads it.
 */
export const HEAD_LINES = 50;
