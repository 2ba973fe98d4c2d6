import { socketKey } from './identity.js';
import type { Netns, Snapshot } from './snapshot.js';
import { buildSnapshot } from './snapshot.js';
import type { Socket } from './socket.js';

/**
 * Several live snapshots (one per pid, read one after another) as one: processes and fds side by
 * side; a socket row seen by two processes of one namespace once, with both owners; a namespace
 * once, with the tables read in every snapshot; coverage only where every part has it.
 */
export function combineSnapshots(parts: readonly Snapshot[]): Snapshot {
  if (parts.length === 1) return parts[0]!;
  const sockets = new Map<string, Socket>();
  const namespaces = new Map<string | null, Netns>();
  for (const part of parts) {
    for (const s of part.sockets) {
      const key = socketKey({ ...s, owners: [] });
      const seen = sockets.get(key);
      if (seen === undefined) sockets.set(key, { ...s, owners: [...s.owners] });
      else for (const o of s.owners) if (!seen.owners.some((x) => x.pid === o.pid && x.fd === o.fd)) seen.owners.push(o);
    }
    for (const n of part.namespaces) {
      const seen = namespaces.get(n.id);
      if (seen === undefined) namespaces.set(n.id, { ...n, tables: [...n.tables] });
      else {
        seen.tables = seen.tables.filter((t) => n.tables.includes(t));
        seen.backlogKnown &&= n.backlogKnown;
      }
    }
  }
  const first = parts[0]!;
  const every = (k: keyof Snapshot['coverage']): boolean => parts.every((p) => p.coverage[k]);
  return buildSnapshot({
    takenAt: first.takenAt,
    kind: first.kind,
    processes: parts.flatMap((p) => p.processes),
    fds: parts.flatMap((p) => p.fds),
    sockets: [...sockets.values()],
    namespaces: [...namespaces.values()],
    host: first.host,
    coverage: {
      fdTables: every('fdTables'), socketTables: every('socketTables'), netnsAware: every('netnsAware'),
      limits: every('limits'), sysctls: every('sysctls'), ownerlessRows: every('ownerlessRows'),
    },
    warnings: parts.flatMap((p) => p.warnings),
  });
}
