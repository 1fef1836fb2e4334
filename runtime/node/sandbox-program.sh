#!/bin/sh
# One sandbox of the `process` sandbox driver (runtime/node/process-sandboxes.ts):
# a real process that stands for a pod's container. It is started in its own process
# group, says it is ready by creating READY_FILE (atomically, holding its pid), then
# idles until it is signalled. SIGTERM or SIGINT ends it at once (exit 0); the driver
# sends SIGKILL to the whole group after the grace period. Its command line carries the
# pod name and the ready file, which is how a restarted Kubelet recognizes it as its own.
#
# Usage: sandbox-program.sh POD READY_FILE
pod="$1"
ready="$2"
if [ -z "$pod" ] || [ -z "$ready" ]; then
  echo "usage: sandbox-program.sh POD READY_FILE" >&2
  exit 2
fi
trap 'exit 0' TERM INT
echo "$$" > "$ready.tmp" && mv "$ready.tmp" "$ready" || exit 1
while :; do
  sleep 3600 &
  wait $!
done
