#!/bin/busybox sh
# One client connection on stdin/stdout (busybox nc -e). Answers like derper where the panel can
# see: GET /generate_204 → 204; GET /derp?nodekey=nodekey:<hex> → the admission call, then
# 101 + "ALLOW" or 403 + "DENY".
set -f
CR=$(printf '\r')

respond() {  # status, body
    printf 'HTTP/1.1 %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "${#2}" "$2"
}

client_ip() {
    # The peer of the socket on stdin: find its inode in /proc/net/tcp{,6}, decode rem_address.
    inode=$(readlink /proc/self/fd/0 2>/dev/null | tr -cd '0-9')
    [ -n "$inode" ] || return 0
    remote=$(awk -v inode="$inode" '$10 == inode { split($3, a, ":"); print a[1]; exit }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    case "${#remote}" in
        8) ;;
        32)
            case "$remote" in
                0000000000000000FFFF0000*) remote=${remote#0000000000000000FFFF0000} ;;
                *)  # IPv6: four 32-bit words, each in host (little-endian) order
                    out=""
                    for word in 1 9 17 25; do
                        w=$(echo "$remote" | cut -c"$word-$((word + 7))" \
                            | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/')
                        out="$out${out:+:}$(echo "$w" | cut -c1-4):$(echo "$w" | cut -c5-8)"
                    done
                    echo "$out" | tr 'A-F' 'a-f'
                    return 0 ;;
            esac ;;
        *) return 0 ;;
    esac
    # IPv4 in host (little-endian) order: bytes reversed.
    printf '%d.%d.%d.%d' "0x$(echo "$remote" | cut -c7-8)" "0x$(echo "$remote" | cut -c5-6)" \
        "0x$(echo "$remote" | cut -c3-4)" "0x$(echo "$remote" | cut -c1-2)"
}

admit() {  # raw node key from the query string → 0 when the panel allows
    [ -n "$RELAY_VERIFY_URL" ] || return 1
    # Only [0-9a-f:] survive, so nothing can be injected into the JSON body.
    key=$(printf '%s' "${1#nodekey:}" | tr 'A-F' 'a-f' | tr -cd '0-9a-f:')
    source=$(client_ip | tr -cd '0-9a-f.:')
    body="{\"NodePublic\": \"nodekey:$key\", \"Source\": \"$source\"}"
    headers=/tmp/admit.$$
    answer=$(timeout 10 wget -q -S -O - --header 'Content-Type: application/json' \
        --post-data "$body" "$RELAY_VERIFY_URL" 2>"$headers")
    status=$?
    code=$(grep -m1 'HTTP/' "$headers" | awk '{print $2}')
    rm -f "$headers"
    [ "$status" = 0 ] && [ "$code" = 200 ] || return 1
    # Go's encoding/json matches the field name without regard to case, as derper does.
    printf '%s' "$answer" | grep -Eiq '"allow"[[:space:]]*:[[:space:]]*true'
}

IFS= read -r request || exit 0
request=${request%"$CR"}
while IFS= read -r header; do  # the headers are read and ignored
    header=${header%"$CR"}
    [ -z "$header" ] && break
done
# shellcheck disable=SC2086
set -- $request
method=${1:-}
target=${2:-}

case "$method $target" in
    "GET /generate_204")
        printf 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n' ;;
    "GET /derp?"*|"GET /derp")
        query=${target#/derp}
        query=${query#\?}
        nodekey=""
        for pair in $(echo "$query" | tr '&' ' '); do
            case "$pair" in
                nodekey=*) nodekey=$(echo "${pair#nodekey=}" | sed 's/%3[Aa]/:/g') ;;
            esac
        done
        if admit "$nodekey"; then
            printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\nALLOW\n'
        else
            respond "403 Forbidden" "DENY
"
        fi ;;
    "GET /"|"HEAD /")
        respond "200 OK" "DERP test relay
" ;;
    *)
        respond "404 Not Found" "not found
" ;;
esac
