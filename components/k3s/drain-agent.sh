#!/bin/sh
# On a server, before an agent is upgraded: cordons and drains the agent's node (bounded) and marks
# it, so the agent's membership step uncordons it once it is back. Nothing to do for a node that is
# not registered yet or already runs $version.
: "${version:?}" "${node:?}" "${timeout_seconds:?}"

installed=$(node_version "$node") || installed=""
if [ -z "$installed" ]; then log "node $node is not registered yet: nothing to drain"; exit 0; fi
if [ "$installed" = "$version" ]; then log "node $node already runs $version: nothing to drain"; exit 0; fi
refuse_downgrade "$node" "$installed" "$version"
drain_for_upgrade "$node" "$version" "$timeout_seconds"
