#!/bin/sh
# vigil_notify example: post every group transition to a chat webhook (Slack, Mattermost and Rocket.Chat accept
# this {"text": ...} body). Install as root, mode 0755, and point ha.cf at it:
#
#   vigil_notify /etc/ha.d/notify.d/chat-webhook.sh
#   vigil_notify_timeout 10
#
# Arguments: GROUP NEW_STATE OLD_STATE NODE REASON TIME; more in VIGIL_* variables (see README, Monitoring).
# Vigil runs it once per transition, one at a time, and kills it at vigil_notify_timeout: keep it short.
set -eu
WEBHOOK_URL="${WEBHOOK_URL:-https://chat.example.com/hooks/REPLACE-ME}"

group=$1 new=$2 old=$3 node=$4 reason=$5 when=$6

# Only completed moves: skip the intermediate acquiring/releasing states.
case "$new" in
  held | none | stuck) ;;
  *) exit 0 ;;
esac

case "$new" in
  held) text="$node now holds $group ($reason${VIGIL_PEER:+, from $VIGIL_PEER}) at $when" ;;
  none) text="$node released $group ($reason${VIGIL_PEER:+, to $VIGIL_PEER}) at $when" ;;
  *) text="ALERT: $group is stuck on $node: a resource failed to stop ($reason) at $when" ;;
esac

# JSON-escape the text (backslashes and double quotes; the values carry no newlines).
esc=$(printf '%s' "$text" | sed 's/\\/\\\\/g; s/"/\\"/g')
curl --silent --show-error --fail --max-time 5 \
  -H 'Content-Type: application/json' \
  -d "{\"text\": \"$esc\"}" \
  "$WEBHOOK_URL" >/dev/null
