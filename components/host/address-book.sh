#!/bin/sh
# The address book of the hosts whose address was another resource's output (known at deploy time
# only, so no record can be named after it). It runs on the machine running Pulumi, as a local
# command: stdin is this run's book, one "<address> <name> <field>" line per such host (field: where
# the host is in the configuration, e.g. agents[2]); PULUMI_COMMAND_STDOUT is the book the last successful run accepted
# (pulumi-command puts a local command's previous stdout there, local/commandOutputs.go run).
# It refuses a host given an address another name held: Pulumi would install the new name there
# and then run the old name's delete (its uninstall) on that same host. Else it prints the new
# book, which becomes the accepted one; a refusal changes nothing (a failed update keeps the old
# state).

new=$(cat)
old=${PULUMI_COMMAND_STDOUT:-}
problems=$(printf '%s\n' "$new" | while read -r address name field; do
  [ -n "$address" ] || continue
  held=$(printf '%s\n' "$old" | awk -v a="$address" '$1 == a {print $2; exit}')
  if [ -n "$held" ] && [ "$held" != "$name" ]; then
    printf '%s (%s): %s is %s'"'"'s host in this stack'"'"'s state. A new name on the same host would install %s there and then run %s'"'"'s delete (its uninstall) on it. Remove %s and run pulumi up first, then add %s.\n' \
      "$field" "$name" "$address" "$held" "$name" "$held" "$held" "$name"
  fi
done)
if [ -n "$problems" ]; then
  printf 'invalid stack configuration:\n%s\n' "$problems" | sed '2,$s/^/  - /' >&2
  exit 1
fi
printf '%s\n' "$new"
