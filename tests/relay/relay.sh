#!/bin/busybox sh
# A stand-in for derper in tests: takes derper's arguments, listens on the relay port and hands
# each TCP connection to handle.sh. Only what the panel can observe is imitated (see README.md).
set -eu

port=""
verify_url=""
while [ $# -gt 0 ]; do
    case "$1" in
        -a|--a) port=${2#*:}; shift ;;
        -a=*|--a=*) port=${1#*=}; port=${port#*:} ;;
        -verify-client-url|--verify-client-url) verify_url=$2; shift ;;
        -verify-client-url=*|--verify-client-url=*) verify_url=${1#*=} ;;
        *) ;;  # every other derper flag is accepted and ignored
    esac
    shift
done

case "$port" in
    ''|*[!0-9]*) echo "relay: -a :PORT is required" >&2; exit 2 ;;
esac

export RELAY_VERIFY_URL="$verify_url"
echo "relay: listening on :$port, admission via ${verify_url:-<none>}" >&2
# As PID 1 the shell must end on SIGTERM itself (no default action there), so `stop` is quick.
nc -ll -p "$port" -e /bin/sh /relay/handle.sh &
listener=$!
trap 'kill "$listener" 2>/dev/null; exit 0' TERM INT
wait "$listener"
