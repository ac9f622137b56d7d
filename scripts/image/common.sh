# Shared by scripts/image/*.sh (sourced, not run): buildah with the settings every step uses.
#
# No Docker engine here: buildah builds OCI images without a daemon. Storage driver vfs (plain
# directories: works in any container or VM, needs no overlay or fuse support) and isolation chroot
# (RUN steps in a chroot with the host's network, no runc and no user namespaces needed). Its storage
# is a directory of its own (GSI_IMAGE_STORAGE), so another buildah or podman on the machine, with
# another driver, is never disturbed and never disturbs it.
GSI_IMAGE_STORAGE=${GSI_IMAGE_STORAGE:-/var/lib/gsi-router-image/storage}
GSI_IMAGE_RUNROOT=${GSI_IMAGE_RUNROOT:-/run/gsi-router-image}
BUILDAH_ISOLATION=chroot
export BUILDAH_ISOLATION

bah() {
  buildah --root "$GSI_IMAGE_STORAGE" --runroot "$GSI_IMAGE_RUNROOT" --storage-driver vfs "$@"
}

# True when the image NAME:TAG is in the store.
have_image() {
  bah inspect --type image "$1" >/dev/null 2>&1
}

# The Node 22 version the project runs on: the one scripts/setup.sh installs (one place to change it).
node22_version() {
  sed -n 's/^NODE22_VERSION=//p' scripts/setup.sh
}
