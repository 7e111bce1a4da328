#!/usr/bin/env bash
# `make images`: local stand-ins for the images docker-compose.yml names, built from Debian's packages,
# for machines that reach no container registry. Run as root on Debian (debootstrap, dockerd).
#
#   pe-insight/debian:bookworm   debootstrap --variant=minbase from the mirror apt uses on this machine,
#                                trusting this machine's CA bundle ($SSL_CERT_FILE), so that apt and pip
#                                in the builds work through a TLS-inspecting proxy; the base of the rest
#   the images of local.env      pe-insight/<folder>:<tag>, each from deploy/images/<folder>/Dockerfile:
#                                python (the base of deploy/Dockerfile), postgres, rabbitmq, prometheus,
#                                mailsink (for Mailpit), nginx
#
# The base is made again only when its inputs change (mirror, suite, packages, apt settings, CA bundle,
# this script); the rest is `docker build`, cached layer by layer. Build logs go to var/images/.
#
#   deploy/images/build.sh [folder...]     only these stand-ins (and the base)
set -euo pipefail
cd "$(dirname "$0")/../.."

SUITE=bookworm
BASE_IMAGE=pe-insight/debian:$SUITE
BASE_PACKAGES=ca-certificates,passwd
LOCAL_ENV=deploy/images/local.env
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
LABEL=org.pe-insight.base-inputs

say() { echo "images: $*"; }
fail() { echo "images: $*" >&2; exit 1; }

# The images of local.env, in its order: "<folder> <image>" per line.
stand_ins() {
  sed -n 's|^[A-Z_]*_IMAGE=\(pe-insight/\([a-z0-9-]*\):[A-Za-z0-9._-]*\)$|\2 \1|p' "$LOCAL_ENV"
}

apt_install() {
  [ "$(id -u)" = 0 ] || fail "$* missing, and installing it needs root"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Debian archive and security mirrors this machine's apt uses, by their Release files' labels:
# the same place packages come from here, named by the machine's configuration, not by this project.
mirror_labelled() {
  apt-get indextargets --format '$(LABEL) $(REPO_URI)' 2>/dev/null | awk -v l="$1" '$1 == l {print $2; exit}'
}

find_mirrors() {
  MIRROR=$(mirror_labelled Debian)
  if [ -z "$MIRROR" ]; then
    [ "$(id -u)" = 0 ] && apt-get update -qq
    MIRROR=$(mirror_labelled Debian)
  fi
  [ -n "$MIRROR" ] || fail "apt on this machine names no Debian mirror (no Release file labelled Debian)"
  SECURITY_MIRROR=$(mirror_labelled Debian-Security)
}

# Settings of this machine's apt that builds inside the images need as well (a proxy, a mirror whose
# Release files are past their Valid-Until date).
apt_settings() {
  apt-config dump | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' || true
}

base_inputs() {
  {
    echo "$SUITE $MIRROR $SECURITY_MIRROR $BASE_PACKAGES"
    apt_settings
    sha256sum "$CA_BUNDLE" deploy/images/build.sh | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

build_base() {
  local inputs=$1
  command -v debootstrap >/dev/null || apt_install debootstrap
  rootfs=$(mktemp -d /var/tmp/pe-insight-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  say "debootstrap $SUITE (minbase) from $MIRROR"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; fail "debootstrap failed; log in $rootfs.log"; }
  rm -f "$rootfs.log"

  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    [ -z "$SECURITY_MIRROR" ] || echo "deb $SECURITY_MIRROR $SUITE-security main"
  } >"$rootfs/etc/apt/sources.list"
  apt_settings >"$rootfs/etc/apt/apt.conf.d/90build-host"
  # As Debian's own container images: no service starts while a package installs, no .deb kept.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  echo 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
    >"$rootfs/etc/apt/apt.conf.d/docker-clean"
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  # This machine's CA bundle, kept by update-ca-certificates when a build reinstalls ca-certificates.
  install -m 0644 "$CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/build-host.crt"
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log

  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "LABEL $LABEL=$inputs" --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
}

ensure_base() {
  find_mirrors
  local inputs current
  inputs=$(base_inputs)
  current=$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$BASE_IMAGE" 2>/dev/null || true)
  if [ "$current" = "$inputs" ]; then
    say "$BASE_IMAGE is up to date"
  else
    build_base "$inputs"
    say "built $BASE_IMAGE"
  fi
}

build_stand_in() {
  local name=$1 tag=$2 log=var/images/$1.log started=$SECONDS
  [ -f "deploy/images/$name/Dockerfile" ] || fail "$LOCAL_ENV names $tag, but deploy/images/$name/Dockerfile is missing"
  mkdir -p var/images
  docker build --tag "$tag" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "PYTHON_IMAGE=$(stand_ins | awk '$1 == "python" {print $2}')" \
    "deploy/images/$name" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "building $tag from deploy/images/$name failed; log in $log"; }
  say "built $tag in $((SECONDS - started)) s"
}

main() {
  local started=$SECONDS name tag
  VENV=${VENV:-.venv} bash deploy/docker/engine.sh
  [ -r "$CA_BUNDLE" ] || fail "no CA bundle at $CA_BUNDLE (SSL_CERT_FILE)"
  ensure_base
  while read -r name tag; do
    if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then
      build_stand_in "$name" "$tag"
    fi
  done < <(stand_ins)
  say "done in $((SECONDS - started)) s; run the stack on them with:"
  say "  docker compose --env-file $LOCAL_ENV up --build"
}

main "$@"
