/**
 * The PersistentVolume controller's provisioning (pv-controller.ts), as pv_controller.go does
 * it: provisionClaim, provisionClaimOperation for an in-tree plugin,
 * provisionClaimOperationExternal for a provisioner outside (or migrated to CSI), the save of the
 * provisioned PV and rescheduleProvisioning; setClaimProvisioner (pv_controller_base.go); and
 * the two in-tree provisioners ksim has, kubernetes.io/rbd (pkg/volume/rbd, removed in v1.31:
 * CreateVolume on Ceph) and kubernetes.io/host-path (pkg/volume/hostpath: a directory under
 * /tmp, enabled as by --enable-hostpath-provisioner, with node affinity to the selected node).
 *
 * Owns: PVs provisioned in-tree, named `pvc-<claim uid>`, and the storage-provisioner
 * annotations of the claims it provisions for. The operations run through scheduleOperation
 * (pv-controller-base.ts), one per claim at a time, with backoff.
 *
 * Defaults: a provisioned PV object is saved up to 5 times 10 s apart
 * (createProvisionedPVRetryCount/Interval, pv_controller.go), then the storage is given back,
 * also up to 5 times 10 s apart.
 */
import type { KObject } from '../../src/protocol.ts';
import { GRPC, toCsiAccessMode, type VolumeCapability } from '../../backends/protocol.ts';
import { backendForProvisioner, DEFAULT_CEPH_MONITORS } from '../../backends/registry.ts';
import { effectiveProvisioner, migratedCsiDriver } from '../../src/model/csi-translation.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { errText, type Fail, type PvBase } from './pv-controller-base.ts';
import type { PvReclaim } from './pv-controller-reclaim.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BOUND_BY_CONTROLLER,
  ANN_CREATED_BY,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimKey,
  claimReference,
  getClaimClass,
  goStringSlice,
  hasAnnotation,
  provisionablePluginError,
  requestedBytes,
  volumeModeOf,
  type ClaimObj,
  type PvObj,
} from './pv-utils.ts';

// createProvisionedPVRetryCount / createProvisionedPVInterval, pv_controller.go.
const CREATE_PV_RETRY_COUNT = 5;
const CREATE_PV_INTERVAL_MS = 10_000;

type Provisioner = (claim: ClaimObj, cls: KObject, pvName: string, fail: Fail, k: (pv: KObject) => void) => void;

const requestString = (claim: ClaimObj): string => String(claim.spec?.resources?.requests?.['storage'] ?? '0');

export function pvProvision(base: PvBase, reclaim: PvReclaim) {
  const { port, event, store, write, get, call, after, csiCall, scheduleOperation, getClass } = base;
  const { doDeleteVolume } = reclaim;

  // -------------------------------------------------------------------------------------------
  // Provisioning (provisionClaim, provisionClaimOperation, provisionClaimOperationExternal)

  function provisionClaim(claim: ClaimObj): void {
    const className = getClaimClass(claim);
    const cls = getClass(className);
    if (!cls) {
      event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const provisioner = String(cls['provisioner'] ?? '');
    let plugin: string | undefined;
    // findProvisionablePlugin: a migrated in-tree plugin is never looked up (CSI migration).
    const err = migratedCsiDriver(provisioner) ? 'migrated' : provisionablePluginError(provisioner);
    if (err === undefined) plugin = provisioner;
    else if (provisioner.startsWith('kubernetes.io/') && err !== 'migrated') {
      // No in-tree plugin: retried on every sync, like upstream.
      event(claim, 'Warning', 'ProvisioningFailed', err);
      return;
    }
    const opName = `provision-${claimKey(claim)}[${claim.metadata.uid ?? ''}]`;
    scheduleOperation(opName, (done) => (plugin ? provisionClaimOperation(claim, plugin, cls, done) : provisionClaimOperationExternal(claim, cls, done)));
  }

  /** setClaimProvisioner: the storage-provisioner annotations (beta and GA keys). */
  function setClaimProvisioner(claim: ClaimObj, provisioner: string, fail: Fail, k: (c: ClaimObj) => void): void {
    if (claim.metadata.annotations?.[ANN_STORAGE_PROVISIONER] === provisioner) return k(claim);
    const clone = deepCopy(claim) as ClaimObj;
    clone.metadata.annotations = { ...(clone.metadata.annotations ?? {}), [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner };
    write('update', clone, fail, (o) => k(o as ClaimObj));
  }

  /**
   * provisionClaimOperationExternal: the claim is annotated with the provisioner that will
   * serve it — for a migrated in-tree plugin, its CSI driver (GetCSINameFromInTreeName) — and
   * waits for it, with v1.30's ExternalProvisioning text.
   */
  function provisionClaimOperationExternal(claim: ClaimObj, cls: KObject, done: (err?: string) => void): void {
    const provisioner = effectiveProvisioner(String(cls['provisioner'] ?? ''));
    setClaimProvisioner(claim, provisioner, (err) => {
      event(claim, 'Warning', 'ProvisioningFailed', `Error saving claim: ${err}`);
      done(err);
    }, (c) => {
      event(
        c,
        'Normal',
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      done();
    });
  }

  function provisionClaimOperation(claim: ClaimObj, plugin: string, cls: KObject, done: (err?: string) => void): void {
    const className = cls.metadata.name ?? '';
    if (claim.spec?.dataSource) {
      const strerr = `plugin "${plugin}" is not a CSI plugin. Only CSI plugin can provision a claim with a datasource`;
      event(claim, 'Warning', 'ProvisioningFailed', strerr);
      return done(strerr);
    }
    setClaimProvisioner(claim, String(cls['provisioner'] ?? ''), (err) => done(err), (c) => {
      const pvName = `pvc-${c.metadata.uid ?? ''}`;
      // A previous operation may have provisioned it already (the name is deterministic).
      get('PersistentVolume', undefined, pvName, (res) => {
        if (res.ok) return done();
        if (res.status?.code !== 404) return done(errText(res));
        const mountOptions: string[] = (cls['mountOptions'] as string[] | undefined) ?? [];
        if (plugin === 'kubernetes.io/host-path' && mountOptions.length > 0) {
          event(c, 'Warning', 'ProvisioningFailed', `Mount options are not supported by the provisioner but StorageClass "${className}" has mount options ${goStringSlice(mountOptions)}`);
          return done(`provisioner "${plugin}" doesn't support mount options`);
        }
        const provision = plugin === 'kubernetes.io/rbd' ? provisionRbd : provisionHostPath;
        provision(c, cls, pvName, (err) => {
          rescheduleProvisioning(c);
          event(c, 'Warning', 'ProvisioningFailed', `Failed to provision volume with StorageClass "${className}": ${err}`);
          done(err);
        }, (pv) => {
          // Bind it to the claim; the API server resets the phase to Pending on create and
          // the next syncs bind it for real.
          pv.metadata.name ||= pvName;
          pv.spec.claimRef = claimReference(c);
          pv.spec.storageClassName = getClaimClass(c);
          pv.status = { phase: 'Bound' };
          pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes', [ANN_DYNAMICALLY_PROVISIONED]: plugin };
          saveProvisionedVolume(c, pv, plugin, 0, done);
        });
      });
    });
  }

  /** Saves the provisioned PV, 5 attempts 10 s apart; then gives the storage back. */
  function saveProvisionedVolume(claim: ClaimObj, pv: KObject, plugin: string, attempt: number, done: (err?: string) => void): void {
    call({ verb: 'create', kind: 'PersistentVolume', name: pv.metadata.name ?? '', obj: pv }, (res) => {
      if (res.ok || res.status?.reason === 'AlreadyExists') {
        if (res.ok && res.obj) store(res.obj);
        event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata.name ?? ''} using ${plugin}`);
        return done();
      }
      if (attempt + 1 < CREATE_PV_RETRY_COUNT) {
        after(CREATE_PV_INTERVAL_MS, () => saveProvisionedVolume(claim, pv, plugin, attempt + 1, done));
        return;
      }
      // A storage asset without a PV object: delete it, 5 attempts 10 s apart.
      event(claim, 'Warning', 'ProvisioningFailed', `Error creating provisioned PV object for claim ${claimKey(claim)}: ${errText(res)}. Deleting the volume.`);
      const cleanup = (n: number) => {
        doDeleteVolume(pv as PvObj, (err) => {
          if (n + 1 < CREATE_PV_RETRY_COUNT) return after(CREATE_PV_INTERVAL_MS, () => cleanup(n + 1));
          event(claim, 'Warning', 'ProvisioningCleanupFailed', `Error cleaning provisioned volume for claim ${claimKey(claim)}: ${err}. Please delete manually.`);
          done();
        }, () => done());
      };
      cleanup(0);
    });
  }

  /** rescheduleProvisioning: drop selected-node so that the scheduler picks a node again. */
  function rescheduleProvisioning(claim: ClaimObj): void {
    if (!hasAnnotation(claim, ANN_SELECTED_NODE)) return;
    const clone = deepCopy(claim) as ClaimObj;
    const ann = { ...(clone.metadata.annotations ?? {}) };
    delete ann[ANN_SELECTED_NODE];
    clone.metadata.annotations = ann;
    write('update', clone, () => undefined, () => undefined);
  }


  /** The in-tree RBD provisioner (pkg/volume/rbd, removed in v1.31): CreateVolume on Ceph. */
  const provisionRbd: Provisioner = (claim, cls, pvName, fail, k) => {
    const params: Record<string, string> = { ...((cls['parameters'] as Record<string, string> | undefined) ?? {}) };
    const supported = ['ReadWriteOnce', 'ReadOnlyMany'];
    const modes: string[] = claim.spec?.accessModes ?? [];
    if (!modes.every((m) => supported.includes(m))) return fail(`invalid AccessModes ${goStringSlice(modes)}: only AccessModes ${goStringSlice(supported)} are supported`);
    const pool = params['pool'] || 'rbd';
    const monitors = params['monitors'] ? params['monitors'].split(',').map((m) => m.trim()).filter((m) => m !== '') : [...DEFAULT_CEPH_MONITORS];
    const backend = backendForProvisioner('kubernetes.io/rbd', params)?.name ?? 'ceph';
    const accessType = volumeModeOf(claim) === 'Block' ? 'block' : 'mount';
    const capabilities: VolumeCapability[] = (modes.length ? modes : ['ReadWriteOnce']).map((m) => {
      const cap: VolumeCapability = { accessMode: toCsiAccessMode([m]) as VolumeCapability['accessMode'], accessType };
      if (accessType === 'mount' && params['fsType']) cap.fsType = params['fsType'];
      return cap;
    });
    const capacityBytesRequested = Math.max(0, Math.ceil(requestedBytes(claim)));
    csiCall(backend, { method: 'CreateVolume', name: pvName, capacityBytes: capacityBytesRequested, capabilities, parameters: { ...params, pool } }, (r) => {
      if (r.code !== GRPC.OK) return fail(r.message);
      const volumeId = r.result?.volumeId ?? `${pool}/${pvName}`;
      const slash = volumeId.indexOf('/');
      const rbd: Record<string, unknown> = {
        monitors,
        image: slash >= 0 ? volumeId.slice(slash + 1) : volumeId,
        pool: slash >= 0 ? volumeId.slice(0, slash) : pool,
        user: params['userId'] || params['adminId'] || 'admin',
      };
      if (params['fsType']) rbd['fsType'] = params['fsType'];
      if (params['userSecretName']) rbd['secretRef'] = { name: params['userSecretName'], ...(params['userSecretNamespace'] ? { namespace: params['userSecretNamespace'] } : {}) };
      const spec: Record<string, unknown> = {
        persistentVolumeReclaimPolicy: String(cls['reclaimPolicy'] ?? 'Delete'),
        accessModes: modes.length ? [...modes] : [...supported],
        capacity: { storage: requestString(claim) },
        rbd,
        volumeMode: volumeModeOf(claim),
      };
      const mountOptions = cls['mountOptions'] as string[] | undefined;
      if (mountOptions?.length) spec['mountOptions'] = [...mountOptions];
      k({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName, annotations: { [ANN_CREATED_BY]: 'rbd-dynamic-provisioner' } }, spec });
    });
  };

  /** The in-tree hostPath provisioner (pkg/volume/hostpath): a directory under /tmp. */
  const provisionHostPath: Provisioner = (claim, cls, pvName, fail, k) => {
    if (volumeModeOf(claim) === 'Block') return fail('kubernetes.io/host-path does not support block volume provisioning');
    const node = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    const spec: Record<string, unknown> = {
      persistentVolumeReclaimPolicy: String(cls['reclaimPolicy'] ?? 'Delete'),
      accessModes: claim.spec?.accessModes?.length ? [...claim.spec.accessModes] : ['ReadWriteOnce'],
      capacity: { storage: requestString(claim) },
      hostPath: { path: `/tmp/hostpath_pv/${port.ids.uid()}` },
    };
    if (node) {
      spec['nodeAffinity'] = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } };
    }
    k({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName, annotations: { [ANN_CREATED_BY]: 'hostpath-dynamic-provisioner' } }, spec });
  };

  return { provisionClaim };
}
