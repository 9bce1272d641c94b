// TEMPORARY stub (deleted before hand-off)
import type { KObject } from '../protocol.ts';
export function applyDefaults(obj: KObject): void { if (obj.kind === 'StatefulSet') obj.spec.podManagementPolicy ??= 'OrderedReady'; }
export function validateObject(obj: KObject): { path: string; message: string }[] {
  const out = [];
  if (!obj.metadata.name) out.push({ path: 'metadata.name', message: 'Required value: name or generateName is required' });
  if (obj.kind === 'StatefulSet' && obj.spec?.replicas < 0) out.push({ path: 'spec.replicas', message: `Invalid value: ${obj.spec.replicas}: must be greater than or equal to 0` });
  return out;
}
