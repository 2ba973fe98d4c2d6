/**
 * Endpoints as ss, netstat and lsof print them ("127.0.0.1:80", "[::1]:443", "*:22",
 * "localhost:mysql"), read into the model's { address, port }.
 */
import type { Endpoint } from '../model/socket.js';
import { formatIpv6, parseIpv6 } from '../util/ip.js';
import { servicePort } from '../util/services.js';

/** A port as the tools print it: a number, "*" (0), a service name (null when not listed); undefined: not a port. */
function portOf(text: string): number | null | undefined {
  if (text === '*') return 0;
  if (/^\d{1,5}$/.test(text)) {
    const port = Number(text);
    return port <= 65535 ? port : undefined;
  }
  if (/^[A-Za-z][A-Za-z0-9._+-]*$/.test(text)) return servicePort(text) ?? null;
  return undefined;
}

/**
 * An endpoint as the tools print it: "127.0.0.1:80", "[::1]:443", "::1:443" (netstat), "*:22",
 * "127.0.0.53%lo:53", "localhost:mysql" (names kept; known service names become ports).
 * `family` says how to read a wildcard "*" and a plain IPv4 address: "inet6" (an lsof IPv6 row, a
 * netstat tcp6 row) turns "127.0.0.1" into the v4-mapped "::ffff:127.0.0.1", as /proc/net/tcp6
 * decodes it; "ss" reads "*" as the dual-stack IPv6 wildcard (ss >= 4.17 prints IPv4's as 0.0.0.0).
 * Returns null for text that is no endpoint.
 */
export function parseToolEndpoint(token: string | undefined, family: 'inet' | 'inet6' | 'ss'): Endpoint | null {
  if (token === undefined) return null;
  const colon = token.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = token.slice(0, colon);
  const port = portOf(token.slice(colon + 1));
  if (port === undefined) return null;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const pct = host.indexOf('%');
  if (pct >= 0) host = host.slice(0, pct);
  if (host === '*') return { address: family === 'inet' ? '0.0.0.0' : '::', port };
  if (host.includes(':')) {
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) return null;
    const bytes = parseIpv6(host);
    // netstat cuts long IPv6 addresses to fit its column: keep such text as it is.
    return { address: bytes === null ? host : formatIpv6(bytes), port };
  }
  if (isIpv4(host)) return { address: family === 'inet6' ? `::ffff:${host}` : host, port };
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(host)) return null;
  return { address: host, port };
}

/** parseIpv4(text) !== null, by character codes: every socket row of a big capture asks. */
function isIpv4(text: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) { // "."
      if (digits === 0 || value > 255 || ++parts > 4) return false;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      digits++;
      value = value * 10 + c - 48;
    } else {
      return false;
    }
  }
  return parts === 4;
}
