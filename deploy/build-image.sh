#!/usr/bin/env bash
# What `make image` runs: builds deploy/Dockerfile with podman, or buildah, into $IMAGE.
#
# The Dockerfile's Debian base images come from a registry when one is reachable. Where none
# is (a build machine that reaches only Debian's package mirrors), a bookworm base is made once
# from Debian packages with mmdebstrap and imported as localhost/keygate-debian:bookworm; set
# BASE (and RUNTIME_BASE) to use images of your own.
#
# Exit status 3: no container builder on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-keygate:0.1.0}"
CONTEXT="${CONTEXT:-.}"
LOCAL_BASE=localhost/keygate-debian:bookworm

if command -v podman >/dev/null; then
  tool=podman
elif command -v buildah >/dev/null; then
  tool=buildah
else
  echo "build-image.sh: neither podman nor buildah is installed (apt-get install podman)" >&2
  exit 3
fi

image_exists() {
  if [ "$tool" = podman ]; then podman image exists "$1"; else buildah inspect --type image "$1" >/dev/null 2>&1; fi
}

make_local_base() {
  command -v mmdebstrap >/dev/null || { echo "build-image.sh: mmdebstrap is needed to make $LOCAL_BASE" >&2; exit 1; }
  local tarball
  tarball="$(mktemp -d)/bookworm.tar"
  echo "build-image.sh: no registry reachable; making $LOCAL_BASE from Debian packages (mmdebstrap)" >&2
  mmdebstrap --quiet --variant=apt --include=ca-certificates bookworm "$tarball"
  if [ "$tool" = podman ]; then
    podman import --quiet "$tarball" "$LOCAL_BASE" >/dev/null
  else
    local ctr
    ctr="$(buildah from scratch)"
    buildah add --quiet "$ctr" "$tarball" / >/dev/null
    buildah commit --quiet "$ctr" "$LOCAL_BASE" >/dev/null
    buildah rm "$ctr" >/dev/null
  fi
  rm -rf "$(dirname "$tarball")"
}

if [ -z "${BASE:-}" ]; then
  if image_exists docker.io/library/debian:bookworm && image_exists docker.io/library/debian:bookworm-slim; then
    BASE=docker.io/library/debian:bookworm RUNTIME_BASE=docker.io/library/debian:bookworm-slim
  elif image_exists "$LOCAL_BASE"; then
    BASE="$LOCAL_BASE"
  elif timeout 60 "$tool" pull --quiet docker.io/library/debian:bookworm >/dev/null 2>&1 &&
       timeout 60 "$tool" pull --quiet docker.io/library/debian:bookworm-slim >/dev/null 2>&1; then
    BASE=docker.io/library/debian:bookworm RUNTIME_BASE=docker.io/library/debian:bookworm-slim
  else
    make_local_base
    BASE="$LOCAL_BASE"
  fi
fi
RUNTIME_BASE="${RUNTIME_BASE:-$BASE}"

if [ "$tool" = podman ]; then
  # --runtime is podman's own option, the rlimits are the build's.
  opts="$(./deploy/podman-options.sh "$BASE")"
  global=()
  [[ "$opts" == *"--runtime runc"* ]] && global=(--runtime runc)
  read -ra build_opts <<< "${opts//--runtime runc/}"
  build=(podman "${global[@]}" build "${build_opts[@]}")
else
  build=(buildah bud)
fi
echo "build-image.sh: ${build[*]} $IMAGE from $CONTEXT (base $BASE, runtime base $RUNTIME_BASE)" >&2
"${build[@]}" --layers --build-arg BASE="$BASE" --build-arg RUNTIME_BASE="$RUNTIME_BASE" \
  -f "$CONTEXT/deploy/Dockerfile" -t "$IMAGE" "$CONTEXT"
