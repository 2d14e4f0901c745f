#!/bin/sh
# Prints the token a first server generated. Its output is a secret.

wait_for 300 "/var/lib/rancher/k3s/server/token" test -s /var/lib/rancher/k3s/server/token
cat /var/lib/rancher/k3s/server/token
