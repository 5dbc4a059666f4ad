#!/usr/bin/env bash
# Prints the extra podman options this machine needs to run a container of image $1, or
# nothing when the defaults work. Inside some sandboxes (a CI runner that is itself a
# container) crun refuses a cgroup v1/v2 hybrid host and the default rlimits are above the
# hard limits: runc with modest rlimits works there.
set -euo pipefail
image="$1"
if podman run --rm --entrypoint /bin/true "$image" >/dev/null 2>&1; then exit 0; fi
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
for runtime in "" "--runtime runc"; do
  # shellcheck disable=SC2086
  if podman $runtime run --rm $limits --entrypoint /bin/true "$image" >/dev/null 2>&1; then
    echo "$runtime $limits"
    exit 0
  fi
done
echo "podman-options.sh: podman cannot run a container of $image on this machine" >&2
exit 1
