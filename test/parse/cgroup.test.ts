import { describe, expect, it } from 'vitest';
import { parseCgroupLocation, parseCgroupPaths } from '../../src/parse/cgroup.js';
import { fixture } from './fuzz.js';

const ID = '4f1c0a9b3d2e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a';
const POD = '8d4e5f6a-1b2c-4d3e-9f8a-7b6c5d4e3f2a';
const at = (name: string) => parseCgroupLocation(fixture(`cgroup/${name}.txt`));

describe('parseCgroupLocation on captured /proc/<pid>/cgroup', () => {
  it('names docker containers under both drivers', () => {
    expect(at('docker-cgroupfs')).toEqual({ kind: 'container', runtime: 'docker', id: ID, name: ID.slice(0, 12), pod: null, unit: null, cgroup: `/docker/${ID}` });
    expect(at('docker-systemd')).toMatchObject({ kind: 'container', runtime: 'docker', id: ID, unit: `docker-${ID}.scope` });
  });

  it('names podman and lxc containers', () => {
    expect(at('podman')).toMatchObject({ kind: 'container', runtime: 'podman', id: ID, name: ID.slice(0, 12) });
    expect(at('lxc')).toMatchObject({ kind: 'container', runtime: 'lxc', id: 'web1', name: 'web1' });
  });

  it('names Kubernetes containers with their pod, and a pod without a container', () => {
    expect(at('kubepods-cgroupfs')).toMatchObject({ kind: 'container', runtime: 'kubernetes', id: ID, pod: POD });
    expect(at('kubepods-containerd')).toMatchObject({ kind: 'container', runtime: 'containerd', id: ID, pod: POD, unit: `cri-containerd-${ID}.scope` });
    expect(at('kubepods-crio')).toMatchObject({ kind: 'container', runtime: 'cri-o', id: ID, pod: POD });
    expect(at('kubepods-pod-only')).toEqual({ kind: 'pod', runtime: 'kubernetes', id: POD, name: `pod ${POD}`, pod: POD, unit: null, cgroup: `/kubepods/besteffort/pod${POD}` });
  });

  it('names systemd units, and a slice when there is no unit', () => {
    expect(at('systemd-service')).toMatchObject({ kind: 'unit', runtime: 'systemd', name: 'nginx.service', unit: 'nginx.service' });
    expect(at('systemd-user-service')).toMatchObject({ kind: 'unit', name: 'app-web.service' });
    expect(at('systemd-session')).toMatchObject({ kind: 'unit', name: 'session-3.scope' });
    expect(at('systemd-slice')).toMatchObject({ kind: 'slice', name: 'machine.slice' });
  });

  it('knows nothing at the root or in a cgroup no manager it knows made', () => {
    expect(at('root')).toBeNull();
    expect(at('sandbox-memory-only')).toBeNull();
    expect(parseCgroupLocation('')).toBeNull();
    expect(parseCgroupLocation('garbage\n::\n0::')).toBeNull();
  });

  it('tries the cgroup2 and name=systemd paths first, then the controllers', () => {
    expect(parseCgroupPaths('4:memory:/a\n1:name=systemd:/b\n0::/c\n')).toEqual(['/b', '/c', '/a']);
  });
});
