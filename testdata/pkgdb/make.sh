#!/usr/bin/env bash
# How the package databases in this folder were made. Every file is the output of the real
# tool (dpkg, apt, rpm, alien) or copied from a real published image; none is typed by hand.
# This script documents and repeats the steps; it needs root, network access to Debian's
# archive, and the Go module cache holding github.com/google/osv-scalibr@v0.5.3.
# Run: sudo bash testdata/pkgdb/make.sh   (from the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
apt-get install -y debootstrap rpm alien

# debian11-app: a Debian 11 minbase root with python3-yaml and openssl, made by debootstrap.
debootstrap --variant=minbase --include=python3-yaml,openssl bullseye "$work/b" http://deb.debian.org/debian
cp "$work/b/var/lib/dpkg/status" "$here/debian11-app/var/lib/dpkg/status"
cp "$work/b/usr/lib/os-release" "$here/debian11-base/usr/lib/os-release"
# python3-yaml's egg-info and dpkg's list of its files: a Python package owned by dpkg.
mkdir -p "$here/debian11-app/usr/lib/python3/dist-packages" "$here/debian11-app/var/lib/dpkg/info"
cp "$work/b/usr/lib/python3/dist-packages/PyYAML-5.3.1.egg-info" "$here/debian11-app/usr/lib/python3/dist-packages/"
cp "$work/b/var/lib/dpkg/info/python3-yaml.list" "$here/debian11-app/var/lib/dpkg/info/"

# debian11-base: the same root after apt purged python3-yaml, openssl and what only they
# needed: the "base image" below the app layer.
cp -a "$work/b" "$work/a"
chroot "$work/a" sh -c 'apt-mark auto $(dpkg-query -W -f "${Package}\n") >/dev/null
  apt-mark manual $(dpkg-query -W -f "${Package} ${Priority}\n" | awk "\$2==\"required\"||\$2==\"important\"{print \$1}") apt >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get purge -y --auto-remove python3-yaml openssl'
cp "$work/a/var/lib/dpkg/status" "$here/debian11-base/var/lib/dpkg/status"

# distroless11: distroless images keep one control file per package in status.d; these are
# the control files of the real Debian 11 packages, as distroless writes them.
chroot "$work/b" sh -c 'cd /tmp && apt-get download base-files libc6 libssl1.1 netbase tzdata'
for d in "$work"/b/tmp/*.deb; do
  p=$(dpkg-deb -f "$d" Package)
  dpkg-deb --ctrl-tarfile "$d" | tar -xO ./control > "$here/distroless11/var/lib/dpkg/status.d/$p"
done

# alpine320: /etc/os-release and /lib/apk/db/installed of the real alpine:latest (3.20.2)
# image that osv-scalibr publishes as test data
# (github.com/google/osv-scalibr@v0.5.3 artifact/image/layerscanning/image/testdata/alpine.tar).
mod=$(go env GOMODCACHE)/github.com/google/osv-scalibr@v0.5.3
mkdir -p "$work/alpine" && tar -xf "$mod/artifact/image/layerscanning/image/testdata/alpine.tar" -C "$work/alpine"
tar -xf "$work"/alpine/*/layer.tar -C "$work/alpine" etc/os-release lib/apk/db/installed
cp "$work/alpine/etc/os-release" "$here/alpine320/etc/os-release"
cp "$work/alpine/lib/apk/db/installed" "$here/alpine320/lib/apk/db/installed"

# rpm: an rpm sqlite database (rpm 4.18) holding three real Debian packages converted with
# alien and recorded with rpm --justdb.
mkdir -p "$work/rpm/db" && cd "$work/rpm"
apt-get download hello sl cowsay
for d in *.deb; do alien --to-rpm --keep-version "$d"; done
rpm --dbpath "$work/rpm/db" --initdb
rpm --dbpath "$work/rpm/db" -i --justdb --nodeps --ignorearch --ignoreos --nosignature ./*.rpm
cp "$work/rpm/db/rpmdb.sqlite" "$here/rpm/var/lib/rpm/rpmdb.sqlite"
