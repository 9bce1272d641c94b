/**
 * CSI migration of the in-tree volume plugins, as Kubernetes v1.30 has it: the names of
 * csi-translation-lib (staging/src/k8s.io/csi-translation-lib/plugins: aws_ebs.go, gce_pd.go,
 * azure_disk.go, azure_file.go, openstack_cinder.go, vsphere_volume.go) and which of them v1.30
 * migrates (pkg/volume/csimigration/plugin_manager.go IsMigrationEnabledForPlugin: these six
 * always, their CSIMigration gates being GA and locked; Portworx and RBD only behind gates that
 * are off by default, so `kubernetes.io/rbd` stays in-tree).
 *
 * A StorageClass naming a migrated plugin is provisioned by its CSI driver: the PV controller
 * hands the claim to that driver's external provisioner (pv_controller.go
 * provisionClaimOperationExternal, GetCSINameFromInTreeName).
 */

const MIGRATED_TO: Readonly<Record<string, string>> = {
  'kubernetes.io/aws-ebs': 'ebs.csi.aws.com',
  'kubernetes.io/gce-pd': 'pd.csi.storage.gke.io',
  'kubernetes.io/azure-disk': 'disk.csi.azure.com',
  'kubernetes.io/azure-file': 'file.csi.azure.com',
  'kubernetes.io/cinder': 'cinder.csi.openstack.org',
  'kubernetes.io/vsphere-volume': 'csi.vsphere.vmware.com',
};

/** The CSI driver a migrated in-tree provisioner is served by, or undefined when not migrated. */
export function migratedCsiDriver(provisioner: string): string | undefined {
  return Object.hasOwn(MIGRATED_TO, provisioner) ? MIGRATED_TO[provisioner] : undefined;
}

/** The provisioner that really serves a class: its CSI driver when migrated, else itself. */
export function effectiveProvisioner(provisioner: string): string {
  return migratedCsiDriver(provisioner) ?? provisioner;
}
