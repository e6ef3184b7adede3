#!/bin/sh
# Removes the conntrack entries NATed to a WAN address that is going away, through the Conntrack Console API
# (POST /api/connections/delete {"filter":{"replyDst":ADDRESS}}), so flows re-establish over the remaining uplink
# instead of hanging on stale NAT entries. POSIX sh + curl (+ ip for the hook modes).
#
#   wan-down-cleanup.sh ADDRESS [ADDRESS...]       clean up these addresses now (both families: give both)
#   as a NetworkManager dispatcher script           /etc/NetworkManager/dispatcher.d/90-conntrack-cleanup
#                                                   (called with IFACE ACTION: "up" remembers the interface's
#                                                   addresses, "pre-down"/"down" cleans them up)
#   from mwan3 (/etc/mwan3.user)                    ACTION=connected|ifup remembers DEVICE's addresses,
#                                                   ACTION=disconnected|ifdown cleans them up
#
# Settings (environment):
#   CONNTRACK_CONSOLE_URL         default http://127.0.0.1:3000
#   CONNTRACK_CONSOLE_TOKEN       an admin API token (ctconsole token create wan-cleanup --role admin), or
#   CONNTRACK_CONSOLE_TOKEN_FILE  a file holding it (default /etc/conntrack-console/wan-cleanup.token, mode 0600)
#   CONNTRACK_CONSOLE_CURL_OPTS   extra curl options, e.g. "--cacert /etc/conntrack-console/ca.pem"
#   CONNTRACK_CONSOLE_STATE_DIR   where remembered addresses live (default /run/conntrack-console-wan)
# Exit status: 0 every address cleaned up (or nothing to do), 1 a request failed, 2 bad usage.
set -u

URL=${CONNTRACK_CONSOLE_URL:-http://127.0.0.1:3000}
TOKEN_FILE=${CONNTRACK_CONSOLE_TOKEN_FILE:-/etc/conntrack-console/wan-cleanup.token}
STATE_DIR=${CONNTRACK_CONSOLE_STATE_DIR:-/run/conntrack-console-wan}
CURL_OPTS=${CONNTRACK_CONSOLE_CURL_OPTS:-}

log() {
  logger -t wan-down-cleanup -- "$*" 2>/dev/null || true
  printf 'wan-down-cleanup: %s\n' "$*" >&2
}

token() {
  if [ -n "${CONNTRACK_CONSOLE_TOKEN:-}" ]; then
    printf '%s' "$CONNTRACK_CONSOLE_TOKEN"
  elif [ -r "$TOKEN_FILE" ]; then
    head -n 1 "$TOKEN_FILE" | tr -d ' \r\n'
  else
    log "no token: set CONNTRACK_CONSOLE_TOKEN or put one in $TOKEN_FILE"
    return 1
  fi
}

# Global addresses on an interface, one per line, without prefix length.
addresses_of() {
  ip -o address show dev "$1" scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }'
}

remember() {
  mkdir -p "$STATE_DIR" && addresses_of "$1" > "$STATE_DIR/$1.addresses"
}

# POST one cleanup; prints the console's answer (matched/deleted counts) to the log.
cleanup_address() {
  address=$1
  case $address in
    '' | *[!0-9A-Fa-f.:]*) log "not an IP address: '$address'"; return 1 ;;
  esac
  secret=$(token) || return 1
  body=$(mktemp) || return 1
  # The token goes to curl on stdin (-H @-), never on a command line other users could read in ps.
  # shellcheck disable=SC2086
  status=$(printf 'Authorization: Bearer %s\n' "$secret" | curl -sS -m 300 $CURL_OPTS -o "$body" -w '%{http_code}' \
    -H @- -H 'Content-Type: application/json' \
    --data "{\"filter\":{\"replyDst\":\"$address\"}}" "$URL/api/connections/delete")
  answer=$(cat "$body")
  rm -f "$body"
  if [ "$status" = 200 ]; then
    log "removed stale entries NATed to $address: $answer"
    return 0
  fi
  log "cleanup of $address failed (HTTP ${status:-none}): $answer"
  return 1
}

cleanup_interface() {
  device=$1
  list=$( (cat "$STATE_DIR/$device.addresses" 2>/dev/null; addresses_of "$device") | sort -u)
  if [ -z "$list" ]; then
    log "no known addresses for $device (nothing remembered at its last up): nothing to clean up"
    return 0
  fi
  failed=0
  for address in $list; do cleanup_address "$address" || failed=1; done
  [ "$failed" = 0 ] && rm -f "$STATE_DIR/$device.addresses"
  return "$failed"
}

case ${1:-} in
  -h | --help)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

if [ $# -eq 2 ] && [ -n "${NM_DISPATCHER_ACTION:-}" ]; then
  case $2 in
    up | dhcp4-change | dhcp6-change) remember "$1"; exit 0 ;;
    pre-down | down) cleanup_interface "$1"; exit $? ;;
    *) exit 0 ;;
  esac
fi

if [ $# -eq 0 ] && [ -n "${ACTION:-}" ] && [ -n "${DEVICE:-}" ]; then
  case $ACTION in
    connected | ifup) remember "$DEVICE"; exit 0 ;;
    disconnected | ifdown) cleanup_interface "$DEVICE"; exit $? ;;
    *) exit 0 ;;
  esac
fi

if [ $# -eq 0 ]; then
  echo "usage: $0 ADDRESS [ADDRESS...]   (or run it as a NetworkManager dispatcher / mwan3 hook; --help)" >&2
  exit 2
fi

failed=0
for address in "$@"; do cleanup_address "$address" || failed=1; done
exit "$failed"
