#!/usr/bin/env bash
# The container image builds from a clean tree (a `git archive` of HEAD) and from the working
# tree as it is (with build directories in it, which .dockerignore keeps out), runs as a
# non-root user, and inside it `keygate --version` and `keygate check-config` on the example
# work, with the restrictions of the Kubernetes manifests (read-only root, no capabilities,
# no privilege escalation).
#
# Skipped (exit 77, with the reason) only when there is no container builder.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${BUILD:-build}"
IMAGE=localhost/keygate-test:latest

if ! command -v podman >/dev/null && ! command -v buildah >/dev/null; then
  echo "SKIPPED: no container builder (podman or buildah) on this machine; 'make deploy-deps' installs podman"
  exit 77
fi
if ! command -v podman >/dev/null; then
  echo "SKIPPED: buildah builds the image but cannot run it; install podman to run it"
  exit 77
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if git rev-parse --git-dir >/dev/null 2>&1; then
  git archive --format=tar HEAD | tar -x -C "$work"
  echo "== clean tree (git archive HEAD)"
  IMAGE="$IMAGE" CONTEXT="$work" ./deploy/build-image.sh
else
  echo "== no git checkout: the clean-tree build is the working tree's"
fi
# The dirty tree: the working tree as it is, with this test's own build directory in it.
echo "== working tree"
IMAGE="$IMAGE" CONTEXT=. ./deploy/build-image.sh

fail=0
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
if [ "$user" != "10001:10001" ]; then echo "FAIL: image user is '$user', want 10001:10001"; fail=1; fi

opts="$(./deploy/podman-options.sh "$IMAGE")"
global=()
[[ "$opts" == *"--runtime runc"* ]] && global=(--runtime runc)
read -ra run_opts <<< "${opts//--runtime runc/}"
run=(podman "${global[@]}" run --rm "${run_opts[@]}" --read-only --cap-drop ALL
     --security-opt no-new-privileges --user 10001:10001)
version="$("${run[@]}" "$IMAGE" --version)"
echo "keygate --version in the image: $version"
want="keygate $(sed -n 's/^project(keygate VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
if [ "$version" != "$want" ]; then echo "FAIL: --version says '$version', want '$want'"; fail=1; fi

if ! out="$("${run[@]}" "$IMAGE" check-config --config /usr/share/keygate/examples/keygate.yaml 2>&1)"; then
  echo "FAIL: check-config on the example in the image: $out"; fail=1
else
  echo "check-config in the image: $out"
fi
# The negative control: a broken file is refused inside the image too.
mkdir -p "$work/controls" && printf 'routes: [\n' > "$work/controls/broken.yaml"
if "${run[@]}" -v "$work/controls:/controls:ro" "$IMAGE" check-config --config /controls/broken.yaml >/dev/null 2>&1; then
  echo "FAIL: check-config in the image accepted a broken file"; fail=1
fi
exit $fail
