/**
 * What the kubelet serves besides pods: `kubectl exec` into a running container (the API server
 * proxies exec.request here), reading and writing files through the container's mounts or its
 * own writable layer, and a shell on the node itself (node.request: read, mkdir, write on the
 * node's disk). Part of the one kubelet actor (kubelet.ts makes it and hands it these messages).
 *
 * Receives: exec.request, node.request.
 * Sends:    exec.started, then shell.response, to whoever asked.
 *
 * Follows pkg/kubelet/server/server.go (getExec, one stream per exec) and kubelet_pods.go
 * (RunInContainer); the node shell is ksim's. With the `kubelet-skip-mount` bug a claim's volume
 * is not bind-mounted into the container: writes land in the container's own layer.
 */
import type { Port } from '../src/component.ts';
import type { ExecRequest, NodeShellRequest, ShellResponse } from '../src/protocol.ts';
import { ENOENT, joinPath } from '../src/fs.ts';
import { mountFor, type NodeState } from './kubelet-volumes.ts';
import type { VolumeManager } from './kubelet-volume-manager.ts';
import { containersOf, type PodRec } from './kubelet-pods.ts';

export interface KubeletServer {
  exec(req: ExecRequest, from: string): void;
  shell(req: NodeShellRequest, from: string): void;
}

/** `pods`: the kubelet's pod records by uid; `bug`: KubeletOptions.bug. */
export function kubeletServer(port: Port, pods: ReadonlyMap<string, PodRec>, vm: Pick<VolumeManager, 'io'>, node: NodeState, bug: string | undefined): KubeletServer {
  /** Exec streams served, by `from|reqId`. */
  const execStreams = new Set<string>();

  function respond(req: { reqId: string }, to: string, ok: boolean, extra: { data?: string; error?: string }): void {
    port.send(to, { type: 'shell.response', reqId: req.reqId, ok, ...extra } satisfies ShellResponse);
  }

  function exec(req: ExecRequest, from: string): void {
    // One exec is one stream (the API server's upgraded connection): a duplicated request runs nothing twice.
    const stream = `${from}|${req.reqId}`;
    if (execStreams.has(stream)) return;
    execStreams.add(stream);
    const rec = [...pods.values()].find((r) => r.pod.metadata!.name === req.pod && r.pod.metadata!.namespace === req.namespace);
    if (!rec || rec.stage !== 'running') return respond(req, from, false, { error: `pod "${req.pod}" is not running` });
    const c = req.container ? containersOf(rec.pod).find((x) => x.name === req.container) : containersOf(rec.pod)[0];
    if (!c) return respond(req, from, false, { error: `container ${req.container} is not valid for pod ${req.pod}` });
    port.send(from, { type: 'exec.started', reqId: req.reqId });
    let hit = mountFor(c.volumeMounts, req.path);
    if (hit && bug === 'kubelet-skip-mount' && (rec.pod.spec?.volumes ?? []).some((v) => v.name === hit!.mount.name && v.persistentVolumeClaim)) hit = undefined;
    const reply = (r: { ok: boolean; data?: string; error?: string }) =>
      respond(req, from, r.ok, r.ok ? (req.op === 'read' ? { data: r.data ?? '' } : {}) : { error: r.error ?? 'error' });
    if (!hit) {
      // Outside every mount: the container's own writable layer, which has whatever
      // directories its image has (parents are created).
      const layer = rec.layers.get(c.name)!;
      const path = joinPath(req.path);
      if (req.op === 'read') {
        const r = layer.readFile(path);
        return reply('data' in r ? { ok: true, data: r.data } : { ok: false, error: r.error });
      }
      layer.mkdirAll(path.slice(0, path.lastIndexOf('/')) || '/');
      const err = layer.writeFile(path, req.data ?? '', !!req.append);
      return reply(err ? { ok: false, error: err } : { ok: true });
    }
    const vol = rec.vols.vols.find((v) => v.name === hit.mount.name);
    if (!vol?.backing) return reply({ ok: false, error: `volume "${hit.mount.name}" is not mounted` });
    if (req.op === 'write' && hit.mount.readOnly) return reply({ ok: false, error: 'Read-only file system' });
    vm.io(vol.backing, req.op, joinPath(hit.mount.subPath ?? '', hit.rel), req.data, !!req.append, reply);
  }

  function shell(req: NodeShellRequest, from: string): void {
    const path = joinPath(req.path);
    switch (req.op) {
      case 'readNode': {
        const r = node.disk.readFile(path);
        return 'data' in r ? respond(req, from, true, { data: r.data }) : respond(req, from, false, { error: r.error });
      }
      case 'mkdirNode': {
        const err = node.disk.mkdirAll(path);
        return respond(req, from, !err, err ? { error: err } : {});
      }
      case 'writeNode': {
        const err = node.disk.writeFile(path, req.data ?? '');
        return respond(req, from, !err, err ? { error: err === ENOENT ? ENOENT : err } : {});
      }
    }
  }

  return { exec, shell };
}
