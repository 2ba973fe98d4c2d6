import { z } from './zod.js';

/**
 * Where a process lives, from its cgroup path (parse/cgroup.ts): a container (docker, containerd,
 * cri-o, podman, lxc), a Kubernetes pod, a systemd unit (service or scope), or a slice.
 */
export const LocationSchema = z.object({
  kind: z.enum(['container', 'pod', 'unit', 'slice']),
  /** docker, containerd, cri-o, podman, lxc, kubernetes (a kubepods path whose runtime is not named), systemd. */
  runtime: z.string(),
  /** Container id (64 hex), pod uid, or unit name. */
  id: z.string(),
  /** What to show: 12-char container id, "pod <uid>", unit name. */
  name: z.string(),
  /** The pod uid of a Kubernetes container; null elsewhere. */
  pod: z.nullable(z.string()),
  /** The systemd unit that holds it (docker-<id>.scope, nginx.service); null if none. */
  unit: z.nullable(z.string()),
  /** The cgroup path it was read from. */
  cgroup: z.string(),
});
export type Location = z.infer<typeof LocationSchema>;
