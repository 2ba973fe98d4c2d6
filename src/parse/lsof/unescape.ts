/** "udp\x20lab" -> "udp lab": lsof's escapes of spaces and control bytes in COMMAND/TASKCMD. */
export function unescapeLsof(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
