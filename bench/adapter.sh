#!/bin/sh
# The benchmark's adapter: the cheapest runtime that honours the adapter contract, so the figures
# measure branch-follower, not a control plane. `status` reports the lane's last triggered sha as
# Succeeded; `trigger` records the wall-clock time it started (ns) and the sha, then the sha.
#   adapter.sh status  <state-dir> <lane>
#   adapter.sh trigger <state-dir> <lane> <sha>
op=$1 state=$2 lane=$3 sha=$4
case $op in
  trigger)
    t=$(date +%s%N)
    echo "$lane $sha $t" >> "$state/triggers.log"
    echo "$sha" > "$state/$lane"
    printf '{"jobId":"%s-%s"}\n' "$lane" "$t"
    ;;
  status)
    if [ -f "$state/$lane" ]; then
      read -r current < "$state/$lane"
      printf '{"phase":"Succeeded","sha":"%s"}\n' "$current"
    else
      printf '{"phase":"Idle"}\n'
    fi
    ;;
  *) echo "unknown op $op" >&2; exit 2 ;;
esac
