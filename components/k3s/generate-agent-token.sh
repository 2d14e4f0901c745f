#!/bin/sh
# Generates the agent token on the first server when the stack configures none: a random password
# kept in /etc/rancher/k3s/agent-token (0600), written once and kept on later runs, then printed
# (the step's output is a secret). With it, servers run with agent-token-file and no agent host
# ever holds the server token. A new file leaves the restart marker, as a changed token file does.

file=/etc/rancher/k3s/agent-token
mark_restart() { if have k3s; then state_touch "$(restart_marker k3s)"; fi; }
if ! [ -s "$file" ]; then
  # od and tr see only the random bytes; printf is a shell builtin (no command line holds the token).
  new=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  if [ ${#new} -ne 64 ]; then log "could not read 32 random bytes from /dev/urandom"; exit 1; fi
  printf '%s\n' "$new" | write_file "$file" 0600 "" mark_restart >/dev/null
  log "generated an agent token in $file (0600); servers accept agents with it only"
fi
cat "$file"
