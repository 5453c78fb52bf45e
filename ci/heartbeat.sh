#!/usr/bin/env bash
# ci/heartbeat.sh LABEL COMMAND...: run COMMAND, and while it runs say every 15 seconds that it
# still does (pip's install step is minutes without a line on a slow machine). COMMAND's own
# output passes through; its exit status is returned.
set -u
label=$1
shift
"$@" &
command=$!
started=$SECONDS
while kill -0 "$command" 2>/dev/null; do
	for _ in $(seq 15); do
		sleep 1
		kill -0 "$command" 2>/dev/null || break 2
	done
	echo "$label: still at it, $((SECONDS - started)) s so far"
done
wait "$command"
