/**
 * /proc/<pid>/cgroup: one line per hierarchy, "ID:CONTROLLERS:PATH" (cgroups(7)); cgroup v2 is the
 * single line "0::PATH", v1 and hybrid hosts list every controller, each with its own path. Where a
 * process lives is read from the path the way each manager lays it out:
 * - docker: /docker/<64 hex> (cgroupfs driver), /system.slice/docker-<64 hex>.scope (systemd driver);
 * - podman: libpod-<64 hex>.scope; lxc: /lxc/<name>, /lxc.payload.<name>;
 * - Kubernetes: /kubepods[/<qos>]/pod<uid>/<64 hex> (cgroupfs) or
 *   kubepods-<qos>-pod<uid with _>.slice/{cri-containerd,crio,docker}-<64 hex>.scope (systemd);
 * - systemd: the last *.service or *.scope segment (nginx.service, session-3.scope), else a *.slice.
 * Quirks: the v2 line is preferred; on hybrid hosts the container usually shows only on v1 lines,
 * so every path is tried for a container before any is read as a unit; "/" means nothing is known.
 */
import type { Location } from '../model/location.js';

const ID = /^[0-9a-f]{64}$/;
const SCOPED = /^(docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope$/;
const RUNTIME: Record<string, string> = { docker: 'docker', 'cri-containerd': 'containerd', crio: 'cri-o', libpod: 'podman' };
const POD_DIR = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const POD_SLICE = /^kubepods(?:-[a-z]+)*-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice$/;

/** The cgroup paths of the text, the v2 one and name=systemd first; "/" and blank lines left out. */
export function parseCgroupPaths(text: string): string[] {
  const first: string[] = [];
  const rest: string[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1).trim();
    if (path === '' || path === '/') continue;
    const controllers = line.slice(a + 1, b);
    (controllers === '' || controllers === 'name=systemd' ? first : rest).push(path);
  }
  return [...new Set([...first, ...rest])];
}

/**
 * Pure: where the process whose /proc/<pid>/cgroup reads `text` lives; null at the root or when no
 * path says. Example: "0::/system.slice/docker-4f1c...e2.scope" -> { kind: "container",
 * runtime: "docker", id: "4f1c...e2", name: "4f1c0a9b3d2e", unit: "docker-4f1c...e2.scope", ... }.
 */
export function parseCgroupLocation(text: string): Location | null {
  const paths = parseCgroupPaths(text);
  for (const path of paths) {
    const found = containerOf(path);
    if (found !== null) return found;
  }
  for (const path of paths) {
    const found = unitOf(path);
    if (found !== null) return found;
  }
  return null;
}

function containerOf(path: string): Location | null {
  const segs = path.split('/').filter((s) => s !== '');
  const kube = segs.some((s) => s === 'kubepods' || s.startsWith('kubepods.') || s.startsWith('kubepods-'));
  let pod: string | null = null;
  let id: string | null = null;
  let runtime: string | null = null;
  let unit: string | null = null;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const podDir = POD_DIR.exec(s);
    const podSlice = POD_SLICE.exec(s);
    if (podDir !== null) pod = podDir[1]!;
    else if (podSlice !== null) pod = podSlice[1]!.replaceAll('_', '-');
    const scoped = SCOPED.exec(s);
    if (scoped !== null) {
      runtime = RUNTIME[scoped[1]!]!;
      id = scoped[2]!;
      unit = s;
    } else if (ID.test(s) && id === null) {
      id = s;
      runtime = segs[i - 1] === 'docker' ? 'docker' : kube ? 'kubernetes' : segs[i - 1] === 'libpod_parent' ? 'podman' : null;
    } else if ((s === 'lxc' || s === 'lxc.payload') && segs[i + 1] !== undefined && id === null) {
      runtime = 'lxc';
      id = segs[i + 1]!;
    } else if (s.startsWith('lxc.payload.') && id === null) {
      runtime = 'lxc';
      id = s.slice('lxc.payload.'.length);
    }
  }
  if (id !== null && runtime !== null) {
    return { kind: 'container', runtime, id, name: runtime === 'lxc' ? id : id.slice(0, 12), pod, unit, cgroup: path };
  }
  if (kube && pod !== null) return { kind: 'pod', runtime: 'kubernetes', id: pod, name: `pod ${pod}`, pod, unit: null, cgroup: path };
  return null;
}

function unitOf(path: string): Location | null {
  const segs = path.split('/').filter((s) => s !== '');
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!;
    if (s.endsWith('.service') || s.endsWith('.scope')) return { kind: 'unit', runtime: 'systemd', id: s, name: s, pod: null, unit: s, cgroup: path };
  }
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!;
    if (s.endsWith('.slice') && s !== '-.slice') return { kind: 'slice', runtime: 'systemd', id: s, name: s, pod: null, unit: s, cgroup: path };
  }
  return null;
}
